"""Fault injection: bad config, bad data, killed jobs, divergence, unsafe files, determinism,
concurrent runs. Each test injects one fault into a private copy of the project and checks that
nothing is lost, nothing half-written is kept, and the message says what to do."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from background import Workspace, prepared
from conftest import copy_project, snakemake, snakemake_in_background, workflow_environment

pytestmark = pytest.mark.slow

MODEL = "results/models/plain/p=0.01/seed=0/model.pt"
HISTORY = "results/models/plain/p=0.01/seed=0/history.csv"
RESUME = "results/models/plain/p=0.01/seed=0/resume.pt"
CORRELATION = "results/metrics/correlation/p=0.01/seed=0.csv"
DATASET = Path("results/data/paired_mnist.h5")
SMALL_STUDY = {
    "sparsity": {"grid_size": 3, "values": [0.01]},
    "n_seeds": 2,
    "architectures": ["plain"],
    "training": {"epochs": {"plain": 4, "bottleneck": 4}, "stopping": {"rule": "fixed"}},
    "metrics": ["correlation"],
}


def make_project(path: Path, mnist_root: Path, data_from: Path | None = None, **changes) -> tuple[Path, tuple]:
    """A copy of the project with a small study (one p, plain only, 4 epochs) and its arguments.
    ``data_from``: a project whose finished dataset (file and snakemake's record of it) is reused,
    so that a fault that has nothing to do with the data does not rebuild it."""
    project = copy_project(path)
    config = yaml.safe_load(yaml.safe_dump(SMALL_STUDY))
    for key, value in changes.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    (project / "study.yaml").write_text(yaml.safe_dump(config))
    if data_from is not None:
        shutil.copytree(data_from / DATASET.parent, project / DATASET.parent)
        shutil.copytree(data_from / ".snakemake" / "metadata", project / ".snakemake" / "metadata")
    return project, ("--cores", "2", "--configfile", "study.yaml", "--config", f"mnist_root={mnist_root}")


@prepared("workflows", rank=1)
def reference(workspace: Workspace) -> Path:
    """The small study run once, uninterrupted: the outputs every fault is compared with, and the
    dataset every other project reuses."""
    project, args = make_project(workspace.folder, workspace.workflow_mnist)
    snakemake_in_background(workspace, project, MODEL, CORRELATION, "results/aggregate/training.csv", *args)
    return project


@pytest.fixture
def fresh(tmp_path, workflow_mnist_root, reference):
    """A fresh copy of the small study with the reference's dataset: (project, arguments)."""
    return make_project(tmp_path / "project", workflow_mnist_root, data_from=reference)


def no_partials(project: Path) -> bool:
    return not list((project / "results").rglob("*.partial"))


def state(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model_state"]


def same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def signal_all(pids: list[int], signum: int) -> None:
    """Send ``signum`` to each process that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def job_processes(project: Path, script: str) -> list[int]:
    """PIDs of the processes running ``script`` for this project (snakemake copies the script)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(project) in command and script in command and "-m snakemake" not in command:
            pids.append(int(entry.name))
    return pids


def start(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args], cwd=project, env=workflow_environment(project), start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for(condition, timeout: float = 120.0, every: float = 0.02) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the fault to be injectable")
        time.sleep(every)


# ---------------------------------------------------------------------------------- 1. config

# Every bad value's message is tested in-process (tests/test_config.py, one case per value); here
# one snakemake run proves the whole path: all of them reported at once, before any job.
BAD_CONFIG = {
    "sparsity": {"grid_size": 3, "values": [0, 2, "0.1"]},
    "training": {"epochs": {"plain": -2, "bottleneck": 0}},
    "model": {"n_hidden": 0},
    "trainig": {"lr": 0.1},
    "metrics": ["bottleneck", "corelation"],
    "weight_mask_metric": {"q": 5},
}
BAD_CONFIG_LINES = [
    ("sparsity.values[0]", "> 0 and <= 1"),
    ("sparsity.values[1]", "> 0 and <= 1"),
    ("sparsity.values[2]", "number"),
    ("training.epochs.plain", ">= 1"),
    ("training.epochs.bottleneck", ">= 1"),
    ("model.n_hidden", ">= 1"),
    ("trainig", "allowed keys: architectures"),
    ("metrics[1]", "bottleneck, weight_mask, correlation"),
    ("weight_mask_metric.q", "> 0 and < 1"),
]


def test_bad_config_stops_before_any_job(tmp_path):
    """docs/guarantees.md "Faults": a bad config value ... stops before any job, with one line naming the key
    and the allowed values."""
    project = copy_project(tmp_path)
    (project / "bad.yaml").write_text(yaml.safe_dump(BAD_CONFIG))
    result = snakemake(project, "--cores", "1", "--configfile", "bad.yaml", check=False)
    output = result.stdout + result.stderr
    problems = [line.strip() for line in output.splitlines() if line.strip().startswith("config key ")]
    assert result.returncode != 0 and "Invalid configuration, nothing was run:" in output
    assert len(problems) == len(BAD_CONFIG_LINES), output[-3000:]
    for key, allowed in BAD_CONFIG_LINES:
        named = [problem for problem in problems if problem.startswith(f"config key {key}:")]
        assert len(named) == 1 and allowed in named[0], (key, problems)
    assert not (project / "results").exists() and "Select jobs to execute" not in output


# ---------------------------------------------------------------------------------- 2. data


def damaged_mnist(root: Path, source: Path, how: str) -> Path:
    raw = root / "MNIST" / "raw"
    if how == "missing folder":
        return root / "nowhere"
    shutil.copytree(source / "MNIST" / "raw", raw)
    for file in raw.iterdir():
        file.chmod(0o644)
    victim = raw / "train-labels-idx1-ubyte.gz"
    if how == "missing file":
        victim.unlink()
    elif how == "truncated file":
        victim.write_bytes(victim.read_bytes()[:1000])
    elif how == "wrong checksum":
        data = bytearray(victim.read_bytes())
        data[-20] ^= 0xFF  # same length, one byte changed
        victim.write_bytes(bytes(data))
    return root


@pytest.mark.parametrize("how", ["missing folder", "missing file", "truncated file", "wrong checksum"])
def test_bad_mnist_fails_the_data_rule_naming_the_file(tmp_path, real_mnist_root, how):
    """docs/guarantees.md "Faults": MNIST folder or a file missing, truncated, or with a wrong checksum: the data rule fails naming it; no dataset file."""
    project, _ = make_project(tmp_path / "project", real_mnist_root)
    root = damaged_mnist(tmp_path / "mnist", real_mnist_root, how)
    result = snakemake(
        project, "results/data/paired_mnist.h5", "--cores", "1", "--configfile", "study.yaml",
        "--config", f"mnist_root={root}", "mnist_download=False", check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    if how == "missing folder":
        assert f"MNIST files missing from {root}/MNIST/raw/" in output and "train-images-idx3-ubyte.gz" in output
    elif how == "missing file":
        assert "missing from" in output and "train-labels-idx1-ubyte.gz" in output and "Put the four MNIST files" in output
    else:
        assert "train-labels-idx1-ubyte.gz is damaged or not the canonical MNIST file" in output
        assert "Delete it and rerun" in output
    data = project / "results" / "data"
    assert not data.exists() or list(data.iterdir()) == []  # no dataset, not even a partial one


# ---------------------------------------------------------------------------------- 3. killed jobs


def test_killed_training_job_resumes_to_the_same_weights(fresh, reference):
    """docs/guarantees.md "Faults": a training job SIGKILLed mid-epoch ... resumes it from resume.pt ... weights bitwise equal to an uninterrupted run."""
    project, args = fresh
    run = start(project, MODEL, *args)
    resume, model = project / RESUME, project / MODEL
    wait_for(lambda: resume.exists() and len(torch.load(resume, weights_only=True)["history"]) == 2)
    for pid in job_processes(project, "train_model"):
        os.kill(pid, signal.SIGKILL)  # mid-epoch 3
    output, _ = run.communicate(timeout=120)
    assert run.returncode != 0 and not model.exists() and not (project / HISTORY).exists()
    saved = torch.load(resume, weights_only=True)
    assert [record["epoch"] for record in saved["history"]] == [1, 2]  # a complete state, never a partial one
    snakemake(project, MODEL, *args)
    log = (project / "results/logs/train_model/plain/p=0.01/seed=0.log").read_text()
    assert "resuming after epoch 2" in log
    assert same_tensors(state(model), state(reference / MODEL))
    pd.testing.assert_frame_equal(
        pd.read_csv(project / HISTORY).drop(columns="seconds"), pd.read_csv(reference / HISTORY).drop(columns="seconds")
    )
    assert not resume.exists()
    assert no_partials(project)


def test_resume_file_of_other_code_is_not_continued(fresh, reference):
    """docs/guarantees.md "Faults": a training job killed, then the training code ... changed: the old resume.pt is not continued.

    A killed training leaves resume.pt; the training code is then edited (here only a comment,
    so the final weights can be compared): the rerun must not continue the old state."""
    project, args = fresh
    run = start(project, MODEL, *args)
    wait_for(lambda: (project / RESUME).exists())
    for pid in job_processes(project, "train_model"):
        os.kill(pid, signal.SIGKILL)
    run.communicate(timeout=120)
    assert (project / RESUME).exists() and not (project / MODEL).exists()
    with open(project / "src/extreme_sparsity/training.py", "a") as module:
        module.write("# edited after the kill\n")
    snakemake(project, MODEL, *args)
    log = (project / "results/logs/train_model/plain/p=0.01/seed=0.log").read_text()
    assert f"not resuming from {RESUME}: it was written by another run (other code)" in log, log
    assert "resuming after epoch" not in log
    assert same_tensors(state(project / MODEL), state(reference / MODEL))


def test_killed_snakemake_leaves_incomplete_job_that_the_same_command_resumes(fresh, reference):
    """docs/guarantees.md "Faults": snakemake itself killed during training ... refused with the lock message; after --unlock the same command resumes, to the same weights."""
    project, args = fresh
    run = start(project, MODEL, *args)
    wait_for(lambda: (project / RESUME).exists())
    os.killpg(run.pid, signal.SIGKILL)  # snakemake and its job, as a node failure would
    run.communicate(timeout=60)
    assert not (project / MODEL).exists()
    assert list((project / ".snakemake" / "incomplete").glob("*")), "snakemake should mark the job incomplete"
    # A killed snakemake cannot release its lock: the same command is refused until --unlock.
    refused = snakemake(project, MODEL, *args, check=False)
    assert refused.returncode != 0 and "Directory cannot be locked" in refused.stdout + refused.stderr
    snakemake(project, MODEL, *args, "--unlock")
    snakemake(project, MODEL, *args)  # the same command: the workflow profile sets rerun-incomplete
    assert "resuming after epoch" in (project / "results/logs/train_model/plain/p=0.01/seed=0.log").read_text()
    assert same_tensors(state(project / MODEL), state(reference / MODEL))


@pytest.mark.parametrize("target, script", [(CORRELATION, "correlation_metric"), ("results/aggregate/training.csv", "summarize_training")])
def test_killed_metric_or_aggregation_job_reruns_to_identical_output(fresh, reference, target, script):
    """docs/guarantees.md "Faults": a metric or aggregation job killed: no output is left; the rerun writes output identical to an uninterrupted run."""
    project, args = fresh
    shutil.copytree(reference / "results", project / "results", dirs_exist_ok=True)  # everything upstream
    for _ in range(5):  # a job this small may finish between being seen and being killed: try again
        (project / target).unlink()
        run = start(project, target, *args)
        wait_for(lambda: job_processes(project, script), every=0.005)
        pids = job_processes(project, script)
        signal_all(pids, signal.SIGSTOP)
        if not (project / target).exists():
            break
        signal_all(pids, signal.SIGCONT)
        run.communicate(timeout=60)
    else:
        pytest.fail(f"{script} finished before it could be stopped, five times")
    signal_all(pids, signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode != 0 and not (project / target).exists()
    snakemake(project, target, *args)
    assert no_partials(project)
    columns = lambda frame: frame.drop(columns=[c for c in ("software",) if c in frame])  # noqa: E731
    pd.testing.assert_frame_equal(columns(pd.read_csv(project / target)), columns(pd.read_csv(reference / target)))


# ---------------------------------------------------------------------------------- 4. divergence


def test_diverging_training_fails_with_p_seed_epoch_and_value(tmp_path, workflow_mnist_root, reference):
    """docs/guarantees.md "Faults": training diverges: the job fails naming p, seed, epoch and value; no checkpoint."""
    project, args = make_project(tmp_path, workflow_mnist_root, data_from=reference, training={"optimizer": "sgd", "lr": 1e38})
    result = snakemake(project, MODEL, *args, check=False)
    assert result.returncode != 0
    assert "training diverged at p=0.01, seed=0, epoch=1: training loss = nan" in result.stderr
    assert not (project / MODEL).exists() and not (project / RESUME).exists()


# ---------------------------------------------------------------------------------- 5. unsafe files


class RunsCode:
    """Unpickling this object would create a file: what a malicious checkpoint could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_checkpoint_that_would_run_code_is_refused(fresh, reference, tmp_path):
    """docs/guarantees.md "Faults": a checkpoint ... replaced by a pickle that would run code: refused; the code never runs."""
    project, args = fresh
    shutil.copytree(reference / "results", project / "results", dirs_exist_ok=True)
    marker = tmp_path / "code-was-run"
    with open(project / MODEL, "wb") as handle:
        pickle.dump({"model_state": RunsCode(marker)}, handle)
    (project / CORRELATION).unlink()
    result = snakemake(project, CORRELATION, *args, check=False)
    assert result.returncode != 0
    assert f"refusing to load {MODEL}: it is not a plain tensor checkpoint" in result.stderr
    assert not marker.exists() and not (project / CORRELATION).exists()


def test_unexpected_error_lands_in_the_jobs_log(fresh, reference):
    """docs/guarantees.md "Faults": a job fails with an error nobody wrote a message for: the job's log ends with
    the traceback, which the terminal shows too; no output."""
    project, args = fresh
    shutil.copytree(reference / "results", project / "results", dirs_exist_ok=True)
    torch.save({"model_state": {}}, project / MODEL)  # a safe file that is not a trained model
    (project / CORRELATION).unlink()
    result = snakemake(project, CORRELATION, *args, check=False)
    assert result.returncode != 0
    log = (project / "results/logs/correlation_metric/p=0.01/seed=0.log").read_text()
    assert "ERROR: unexpected failure" in log and "Traceback (most recent call last)" in log, log
    last_line = log.strip().splitlines()[-1]
    assert last_line.split(":")[0].endswith(("Error", "Exception")), log
    assert last_line in result.stderr  # the terminal still shows it too
    assert not (project / CORRELATION).exists()


def test_resume_file_that_would_run_code_is_refused(fresh, tmp_path):
    """docs/guarantees.md "Faults": ... or resume.pt replaced by a pickle that would run code: refused."""
    project, args = fresh
    marker = tmp_path / "code-was-run"
    (project / RESUME).parent.mkdir(parents=True)
    torch.save({"run_id": RunsCode(marker)}, project / RESUME)
    result = snakemake(project, MODEL, *args, check=False)
    assert result.returncode != 0 and "refusing to load" in result.stderr
    assert not marker.exists() and not (project / MODEL).exists()


# ---------------------------------------------------------------------------------- 6. determinism


def test_same_seed_same_numbers_other_seed_other_network(fresh, reference):
    """docs/guarantees.md "Faults": the same (architecture, p, seed) twice: identical tensors and metric values; another seed, other weights and connections."""
    project, args = fresh
    other_seed = "results/models/plain/p=0.01/seed=1/model.pt"
    snakemake(project, MODEL, CORRELATION, other_seed, *args)
    assert same_tensors(state(project / MODEL), state(reference / MODEL))
    assert pd.read_csv(project / CORRELATION)["value"].tolist() == pd.read_csv(reference / CORRELATION)["value"].tolist()
    seed0, seed1 = state(project / MODEL), state(project / other_seed)
    assert not torch.equal(seed0["w_hh"], seed1["w_hh"])
    assert not torch.equal(seed0["sparse.active_index"].sort().values, seed1["sparse.active_index"].sort().values)


# ---------------------------------------------------------------------------------- 7. concurrency


def test_second_run_in_the_same_folder_is_refused_by_the_lock(fresh, reference):
    """docs/guarantees.md "Faults": a second snakemake started in the same folder is refused with the lock message; the first completes untouched."""
    project, args = fresh
    first = start(project, MODEL, *args)
    wait_for(lambda: job_processes(project, "train_model"))
    # The first run's training job is paused while the second starts, so that the first holds its
    # lock for sure however long the second takes to start.
    paused = job_processes(project, "train_model")
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        second = snakemake(project, MODEL, *args, check=False)
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
    assert second.returncode != 0 and "Directory cannot be locked" in second.stdout + second.stderr
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output[-3000:]
    assert same_tensors(state(project / MODEL), state(reference / MODEL))
