"""`snakemake --profile slurm` against a real SLURM cluster on localhost.

From the start of the session, in the background (tests/background.py), a single-node cluster
is started (tests/slurm/start.sh: slurmctld, slurmd, munge, and slurmdbd on MariaDB so that sacct
answers; every daemon it started is stopped when the session ends, even on failure), then one run
of the small study (tests/small_study.yaml on config/quick.yaml: every rule,
fewest jobs) and of a one-model study variant beside it (tests/slurm/variant.yaml: its jobs must
get the requests and groups of the study's rules) goes through the slurm/ profile as a user types it
(`snakemake --profile slurm`, partition and account from SBATCH_PARTITION / SBATCH_ACCOUNT),
plus tests/slurm/profile for short status polling. While it runs, a training job that has
finished an epoch is cancelled with scancel; the run must resubmit it, the new job must resume
from that epoch, and the run must finish. The results must then equal those of the
local `--cores 2` run of the same config (conftest's small_run), and a second invocation must
have nothing to do. Every snakemake call runs under `timeout -k`: a plugin waiting on a status
command that never answers ignores SIGTERM.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from background import Workspace, prepared
from conftest import REPO, SMALL_STUDY, copy_project, workflow_environment
from results_equality import assert_same_results, result_files

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SLURM_DIR = REPO / "tests" / "slurm"
TEST_PROFILE = SLURM_DIR / "profile"
VARIANT = SLURM_DIR / "variant.yaml"  # one small study variant beside the base study
PARTITION, ACCOUNT = "debug", "ci"
RUN_TIMEOUT = 900  # seconds for one snakemake run; the small study takes a few minutes here


@prepared("slurm", rank=0)
def slurm_cluster(workspace: Workspace) -> str:
    """A running localhost SLURM cluster (what tests/slurm/start.sh said); every daemon the
    session started is stopped when it ends, whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("the local SLURM cluster needs root (apt-get, daemons); CI runs as root")
    if shutil.which("apt-get") is None:
        pytest.skip("the local SLURM cluster needs Debian's apt-get")

    def stop():
        stopped = subprocess.run(["bash", str(SLURM_DIR / "stop.sh")], capture_output=True, text=True, timeout=300)
        sys.stderr.write(stopped.stderr)

    workspace.at_end(stop)
    started = workspace.run(["bash", str(SLURM_DIR / "start.sh")], timeout=900)
    if started.returncode != 0:
        pytest.fail(f"tests/slurm/start.sh failed ({started.returncode}):\n{started.stderr[-6000:]}")
    return started.stderr


@dataclasses.dataclass
class SlurmRun:
    project: Path
    args: tuple[str, ...]  # snakemake's arguments
    log: str  # snakemake's own output
    run_id: str  # the job name of every SLURM job of this run
    submissions: dict[str, Path]  # SLURM job id -> its log file
    cancelled: str  # the SLURM job id cancelled with scancel
    cancelled_log_dir: Path  # where the logs of that snakemake job go (one file per submission)
    seconds: float
    since: str  # sacct --starttime that covers the run


def _snakemake_command(*args: str) -> list[str]:
    return ["timeout", "-k", "15", str(RUN_TIMEOUT), sys.executable, "-m", "snakemake", *args]


def _environment(project: Path) -> dict[str, str]:
    environment = workflow_environment(project)
    environment.update(SBATCH_PARTITION=PARTITION, SBATCH_ACCOUNT=ACCOUNT)
    environment.pop("SNAKEMAKE_PROFILE", None)
    return environment


def _seconds(elapsed: str) -> int:
    """squeue's %M ('12', '1:02', '1:02:03', '1-01:02:03') in seconds."""
    days, _, clock = elapsed.rpartition("-")
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total + 86400 * int(days or 0)


def _running_jobs(run_id: str) -> list[str]:
    listing = subprocess.run(
        ["squeue", "-h", "-t", "RUNNING", "--name", run_id, "-o", "%i"], capture_output=True, text=True, timeout=30
    )
    return listing.stdout.split()


def _resume_file(project: Path, slurm_log: Path) -> Path | None:
    """The resume.pt of the training job whose SLURM log is ``slurm_log`` (None for other rules).
    The plugin names the folder rule_train_model/<architecture>_<p>_<seed>/."""
    if slurm_log.parts[-3] != "rule_train_model":
        return None
    architecture, p, seed = slurm_log.parent.name.split("_")
    return project / "results" / "models" / architecture / f"p={p}" / f"seed={seed}" / "resume.pt"


def _submissions(log: str) -> dict[str, Path]:
    found = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    return {job_id: Path(path) for job_id, path in found}


def _sacct(since: str, run_id: str, fields: str) -> list[dict[str, str]]:
    names = fields.split(",")
    listing = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", since, "--name", run_id, "-o", fields],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [dict(zip(names, line.split("|"))) for line in listing.stdout.splitlines()]


@prepared("slurm", rank=3, needs=("slurm_cluster",))
def slurm_run(workspace: Workspace) -> SlurmRun:
    """The small study through `--profile slurm`, one training job cancelled mid-run. It runs
    beside the other tests: most of its time is the plugin waiting between status checks."""
    workspace.result("slurm_cluster")
    project = copy_project(workspace.folder)
    shutil.copy2(SMALL_STUDY, project / SMALL_STUDY.name)
    shutil.copy2(VARIANT, project / VARIANT.name)
    args = ("--profile", "slurm", "--profile", str(TEST_PROFILE), "--configfile", "config/quick.yaml", SMALL_STUDY.name, VARIANT.name)
    args += ("--config", f"mnist_root={workspace.workflow_mnist}", "--", "study", "variants")
    log_path = project / "snakemake.log"
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 60))
    started = time.monotonic()
    cancelled = None
    with open(log_path, "w") as log_file, workspace.popen(
        _snakemake_command(*args), cwd=project, env=_environment(project), stdout=log_file, stderr=subprocess.STDOUT
    ) as process:
        # Cancel the first training job seen with a finished epoch (its resume.pt exists), so
        # that the resubmitted job must resume mid-training and still match the local run.
        while process.poll() is None:
            if cancelled is None and any(project.glob("results/models/*/p=*/seed=*/resume.pt")):
                log = log_path.read_text()
                match = re.search(r"SLURM run ID: (\S+)", log)
                submissions = _submissions(log)
                for job_id in _running_jobs(match.group(1)) if match else []:
                    resume = _resume_file(project, submissions[job_id]) if job_id in submissions else None
                    if resume is not None and resume.exists():
                        subprocess.run(["scancel", job_id], check=True, timeout=30)
                        cancelled = job_id
                        break
            time.sleep(0.25)
    seconds = time.monotonic() - started
    log = log_path.read_text()
    if process.returncode != 0:
        raise AssertionError(f"snakemake --profile slurm failed ({process.returncode}) after {seconds:.0f} s:\n{log[-8000:]}")
    assert cancelled is not None, "no training job was seen between two epochs, to be cancelled"
    submissions = _submissions(log)
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    return SlurmRun(project, args, log, run_id, submissions, cancelled, submissions[cancelled].parent, seconds, since)


def test_every_job_went_through_sbatch(slurm_run):
    log = slurm_run.log
    # Only the target rules (no action) run in the main process; every other job is submitted.
    assert set(re.findall(r"^localrule (\w+):", log, re.MULTILINE)) == {"study", "variants"}
    # SLURM's own accounting knows every submission, under this run's name, partition and account.
    expected = set(slurm_run.submissions)
    for _ in range(30):  # sacct lags slurmctld by a few seconds
        jobs = {row["JobIDRaw"]: row for row in _sacct(slurm_run.since, slurm_run.run_id, "JobIDRaw,State,Partition,Account")}
        if set(jobs) == expected and all(row["State"] != "RUNNING" for row in jobs.values()):
            break
        time.sleep(1)
    assert set(jobs) == expected, f"sacct lists {sorted(jobs)}, the log {sorted(expected)}"
    for job_id, row in jobs.items():
        assert (row["Partition"], row["Account"]) == (PARTITION, ACCOUNT)
        wanted = "CANCELLED" if job_id == slurm_run.cancelled else "COMPLETED"
        assert row["State"].split()[0] == wanted, f"SLURM job {job_id}: {row['State']}"
    # Each submission's log carries its SLURM job id, and every result was written by one of them.
    texts = []
    for job_id, path in slurm_run.submissions.items():
        assert path.name == f"{job_id}.log" and path.is_file()
        texts.append(path.read_text())
    produced = "\n".join(texts)
    results = slurm_run.project / "results"
    for path in result_files(results):
        assert f"results/{path}" in produced, f"results/{path} was not written by a SLURM job"


def test_results_equal_a_local_run(slurm_run, small_run):
    assert_same_results(small_run[0] / "results", slurm_run.project / "results", only_study=True)


def test_cancelled_job_was_resubmitted(slurm_run):
    attempts = sorted(slurm_run.cancelled_log_dir.glob("*.log"), key=lambda path: int(path.stem))
    assert len(attempts) >= 2 and attempts[0].stem == slurm_run.cancelled, attempts
    retried = {row["JobIDRaw"]: row["State"] for row in _sacct(slurm_run.since, slurm_run.run_id, "JobIDRaw,State")}
    assert retried[attempts[-1].stem] == "COMPLETED"
    assert f"SLURM-job '{slurm_run.cancelled}' failed" in slurm_run.log
    # the resubmitted job continued from the epoch the cancelled one had finished
    resume = _resume_file(slurm_run.project, slurm_run.submissions[slurm_run.cancelled])
    architecture, p, seed = resume.parts[-4], resume.parts[-3], resume.parts[-2]
    training_log = slurm_run.project / "results" / "logs" / "train_model" / architecture / p / f"{seed}.log"
    assert "resuming after epoch" in training_log.read_text()


def test_sbatch_requests_follow_the_rules(slurm_run):
    requests = _sacct(slurm_run.since, slurm_run.run_id, "JobIDRaw,Timelimit,ReqMem,ReqCPUS")
    by_id = {row["JobIDRaw"]: row for row in requests}
    training = [job for job, path in slurm_run.submissions.items() if path.parts[-3] == "rule_train_model"]
    first = training[0] if training[0] != slurm_run.cancelled else training[1]
    assert by_id[first]["Timelimit"] == "00:15:00" and by_id[first]["ReqMem"] == "2000M"
    assert by_id[first]["ReqCPUS"] == "1"
    retry = sorted(slurm_run.cancelled_log_dir.glob("*.log"), key=lambda path: int(path.stem))[1].stem
    assert by_id[retry]["Timelimit"] == "00:30:00" and by_id[retry]["ReqMem"] == "4000M"  # attempt 2
    groups = [job for job, path in slurm_run.submissions.items() if path.parent.name.startswith("group_")]
    assert groups and all(by_id[job]["ReqCPUS"] == "1" for job in groups)
    # the variant's jobs: the requests and groups its study rules declare
    (variant,) = [job for job, path in slurm_run.submissions.items() if path.parts[-3] == "rule_lstm_train_model"]
    assert (by_id[variant]["Timelimit"], by_id[variant]["ReqMem"], by_id[variant]["ReqCPUS"]) == ("00:15:00", "2000M", "1")
    grouped = "\n".join(slurm_run.submissions[job].read_text() for job in groups)
    assert "results/variants/lstm/metrics/correlation/p=1/seed=0.csv" in grouped
    assert "results/variants/lstm/aggregate/metrics.csv" in grouped


def test_second_invocation_does_nothing(slurm_run):
    again = subprocess.run(
        _snakemake_command(*slurm_run.args), cwd=slurm_run.project, env=_environment(slurm_run.project), capture_output=True, text=True
    )
    output = again.stdout + again.stderr
    assert again.returncode == 0, output[-4000:]
    assert "Nothing to be done" in output
    assert "submitted with SLURM jobid" not in output
