"""The schedule simulator (schedule.py) and the rules' priorities (priorities.py): known answers on
constructed DAGs, the DAG and priorities of the real study from snakemake's dry run, and the
16-core run of the default study (2 seeds) predicted from its own job times."""

from __future__ import annotations

import pytest
from conftest import copy_project, snakemake

from extreme_sparsity.plumbing import priorities
from extreme_sparsity.tools import schedule
from extreme_sparsity.tools.schedule import Job

# The default study with n_seeds=2 on a 16-core Intel Xeon, snakemake --cores 16, before the rules
# had priorities: 241 s wall. Mean seconds per job by rule, and epochs trained per model
# (architecture, p index on the default grid, seed) -> epochs; training jobs took 1,513 s in all.
MEASURED_16_CORES = 241.0
RULE_SECONDS = {
    "weight_mask_metric": 40.2, "bottleneck_metric": 14.8, "correlation_metric": 6.3, "mask_sweep": 29.8,
    "prepare_dataset": 15.3, "structural_modularity": 5.5, "plot_specialization": 3.9, "plot_raw_metrics": 3.5,
    "plot_calibration": 3.5, "plot_accuracy": 3.4, "plot_modularity": 2.8, "check_claims": 2.1,
    "summarize_training": 1.2, "aggregate_metrics": 1.1, "calibrate_mask_q": 0.9, "other": 2.0,
}
EPOCHS = {
    "bottleneck": [(25, 25), (22, 25), (12, 10), (19, 12), (16, 9), (10, 10), (10, 13), (14, 13), (15, 12), (10, 11)],
    "plain": [(12, 18), (7, 19), (9, 7), (9, 6), (10, 7), (7, 6), (7, 7), (7, 6), (7, 6), (10, 8)],
}
TRAINING_SECONDS, START_UP = 1513.0, 3.0


def job(jobid, rule="r", parents=(), priority=0, threads=1, **wildcards):
    return Job(jobid=jobid, rule=rule, parents=tuple(parents), priority=priority, threads=threads, wildcards=wildcards)


def test_list_schedule_by_hand():
    """2 cores: a (4 s) and b (1 s) start; b ends at 1, c (2 s, after b) runs 1-3; d (3 s, after a
    and c) runs 4-7. Critical path a -> d = 7 s; busy 10 of 14 core-seconds."""
    jobs = [job(0), job(1), job(2, parents=[1]), job(3, parents=[0, 2])]
    seconds = {0: 4.0, 1: 1.0, 2: 2.0, 3: 3.0}
    run = schedule.simulate(jobs, seconds, cores=2)
    assert run.start == {0: 0.0, 1: 0.0, 2: 1.0, 3: 4.0} and run.wall == 7.0
    assert run.utilisation == pytest.approx(10 / 14)
    length, chain = schedule.critical_path(jobs, seconds)
    assert length == 7.0 and [j.jobid for j in chain] == [0, 3]


def test_snakemakes_own_share_of_the_cores_slows_every_job():
    """Snakemake's process taking 0.5 of a core beside 2 busy cores leaves each job 2 / 2.5 of a
    core: the by-hand schedule above (7 s) takes 7 x 1.25 = 8.75 s; on 64 cores the same share costs
    each job 1/128 more; with no share the job times are the measured ones."""
    jobs = [job(0), job(1), job(2, parents=[1]), job(3, parents=[0, 2])]
    seconds = {0: 4.0, 1: 1.0, 2: 2.0, 3: 3.0}
    assert schedule.slowed(seconds, 2, 0.5) == {0: 5.0, 1: 1.25, 2: 2.5, 3: 3.75}
    assert schedule.slowed(seconds, 64, 0.5)[0] == pytest.approx(4.0 * (1 + 0.5 / 64))
    assert schedule.slowed(seconds, 2, 0.0) == seconds
    assert schedule.simulate(jobs, schedule.slowed(seconds, 2, 0.5), cores=2).wall == 8.75
    in_minutes = {jobid: 60 * value for jobid, value in seconds.items()}  # the table prints minutes
    assert schedule.table(jobs, in_minutes, [2], scheduler_share=0.5)[2].split()[:2] == ["2", "8.8"]
    assert schedule.table(jobs, in_minutes, [2])[2].split()[:2] == ["2", "7.0"]


def test_priority_puts_the_long_chain_first():
    """2 cores, a chain x (5 s) -> y (5 s) and four 1-s jobs: the chain first ends at 10 s (the
    short jobs run beside x); the short jobs first delay x to 2 s and the end to 12 s."""
    short = [job(i, priority=0) for i in range(4)]
    chain = [job(4, priority=1), job(5, parents=[4], priority=1)]
    seconds = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 5.0, 5: 5.0}
    first = schedule.simulate(short + chain, seconds, cores=2)
    assert first.start[4] == 0.0 and first.start[5] == 5.0 and first.wall == 10.0
    flat = [job(j.jobid, parents=j.parents) for j in short + chain]
    late = schedule.simulate(flat, seconds, cores=2)
    assert late.start[4] == 2.0 and late.wall == 12.0


def test_a_job_wider_than_the_free_cores_waits_and_others_pass_it():
    """2 cores: job 0 takes one; job 1 needs both and waits; job 2 (lower priority) fits and runs."""
    jobs = [job(0, priority=9), job(1, priority=5, threads=2), job(2)]
    run = schedule.simulate(jobs, {0: 2.0, 1: 1.0, 2: 1.0}, cores=2)
    assert run.start == {0: 0.0, 2: 0.0, 1: 2.0} and run.wall == 3.0


def test_variant_rules_map_to_the_study_rule():
    rules = {"train_model", "mask_sweep", "calibrate_mask_q"}
    assert schedule.base_rule("table1_budget_train_model", rules) == "train_model"
    assert schedule.base_rule("mask_sweep", rules) == "mask_sweep"
    assert schedule.base_rule("plot_accuracy", rules) == "plot_accuracy"


def test_not_a_dry_run_is_refused():
    with pytest.raises(ValueError, match="snakemake -n --forceall"):
        schedule.parse_dry_run("Building DAG of jobs...\nNothing to be done.")


@pytest.fixture(scope="module")
def default_dry_run(tmp_path_factory, mnist_root):
    """The dry run of the whole default study with 2 seeds."""
    project = copy_project(tmp_path_factory.mktemp("schedule"))
    result = snakemake(project, "-n", "--forceall", "--config", "n_seeds=2", f"mnist_root={mnist_root}")
    return schedule.parse_dry_run(result.stdout + "\n" + result.stderr)


def test_dry_run_gives_every_job_its_wildcards_parents_and_priority(default_dry_run):
    jobs = {j.jobid: j for j in default_dry_run}
    rules = [j.rule for j in default_dry_run]
    assert rules.count("train_model") == 40 and rules.count("weight_mask_metric") == 20
    grid = sorted({j.wildcards["p"] for j in default_dry_run if j.rule == "train_model"}, key=float)
    for mask in (j for j in default_dry_run if j.rule == "weight_mask_metric"):
        parents = [jobs[i] for i in mask.parents]
        assert {j.rule for j in parents} == {"train_model", "prepare_dataset", "calibrate_mask_q"}
        (model,) = [j for j in parents if j.rule == "train_model"]
        assert model.wildcards == {"architecture": "plain", "p": mask.wildcards["p"], "seed": mask.wildcards["seed"]}
        assert mask.priority == priorities.WEIGHT_MASK
    for training in (j for j in default_dry_run if j.rule == "train_model"):
        assert training.priority == priorities.training(training.wildcards["architecture"], training.wildcards["p"], grid)
    sweeps = [j for j in default_dry_run if j.rule == "mask_sweep"]
    assert len(sweeps) == 2 and all(j.priority == priorities.CALIBRATION and j.wildcards["p"] == grid[0] for j in sweeps)


def test_priorities_order_the_critical_path_first():
    grid = ["0.0001", "0.01", "1"]
    assert priorities.training("plain", "0.0001", grid) == priorities.SPARSEST_PLAIN
    assert priorities.training("bottleneck", "0.0001", grid) > priorities.training("bottleneck", "0.01", grid) > priorities.training("plain", "1", grid)
    assert priorities.CALIBRATION > priorities.SPARSEST_PLAIN > priorities.WEIGHT_MASK > priorities.training("bottleneck", "0.0001", grid)
    assert priorities.training("plain", "1", grid) > priorities.METRIC > 0 == priorities.of_job("plot_accuracy", {}, grid)


def measured_seconds(jobs: list[Job]) -> dict[int, float]:
    """Each job of the 16-core run's study: its rule's mean, a training job start-up plus its epochs."""
    grid = sorted({j.wildcards["p"] for j in jobs if j.rule == "train_model"}, key=float)
    epochs = lambda j: EPOCHS[j.wildcards["architecture"]][grid.index(j.wildcards["p"])][int(j.wildcards["seed"])]  # noqa: E731
    per_epoch = (TRAINING_SECONDS - 40 * START_UP) / sum(sum(pair) for runs in EPOCHS.values() for pair in runs)
    return schedule.modelled_seconds(jobs, set(RULE_SECONDS) | {"train_model"}, RULE_SECONDS, lambda j: START_UP + per_epoch * epochs(j))


def test_the_16_core_run_is_predicted_within_15_percent_from_its_job_times(default_dry_run):
    seconds = measured_seconds(default_dry_run)
    assert sum(seconds.values()) == pytest.approx(2843, abs=2)
    flat = [Job(**{**j.__dict__, "priority": 0}) for j in default_dry_run]  # that run had no priorities
    predicted = schedule.simulate(flat, seconds, cores=16).wall
    assert abs(predicted - MEASURED_16_CORES) / MEASURED_16_CORES < 0.15


def test_with_priorities_the_masks_start_before_the_last_third_of_the_trainings(default_dry_run):
    """On 2 cores (where, without priorities, every mask job waited for the last training)."""
    seconds = measured_seconds(default_dry_run)
    flat = [Job(**{**j.__dict__, "priority": 0}) for j in default_dry_run]
    for jobs, early in ((default_dry_run, True), (flat, False)):
        run = schedule.simulate(jobs, seconds, cores=2)
        trainings = sorted(run.end[j.jobid] for j in jobs if j.rule == "train_model")
        first_mask = min(run.start[j.jobid] for j in jobs if j.rule == "weight_mask_metric")
        assert (first_mask < trainings[len(trainings) * 2 // 3]) == early


def test_benchmark_seconds_are_read_from_the_run(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100\n")
    jobs = [Job(jobid=0, rule="x", benchmark="b/x.tsv"), Job(jobid=1, rule="all")]
    assert schedule.benchmark_seconds(jobs, tmp_path) == {0: 12.5, 1: 0.0}
    with pytest.raises(FileNotFoundError, match="replay a finished run"):
        schedule.benchmark_seconds([Job(jobid=0, rule="x", benchmark="b/y.tsv")], tmp_path)
