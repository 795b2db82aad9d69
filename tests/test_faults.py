"""Fault injection: bad config, bad data, killed jobs, divergence, unsafe files, determinism,
concurrent runs. Each test injects one fault into a private copy of the project and checks that
nothing is lost, nothing half-written is kept, and the message says what to do."""

from __future__ import annotations

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

from conftest import copy_project, snakemake

pytestmark = pytest.mark.slow

MODEL = "results/models/plain/p=0.01/seed=0/model.pt"
HISTORY = "results/models/plain/p=0.01/seed=0/history.csv"
RESUME = "results/models/plain/p=0.01/seed=0/resume.pt"
CORRELATION = "results/metrics/correlation/p=0.01/seed=0.csv"
SMALL_STUDY = {
    "sparsity": {"grid_size": 3, "values": [0.01]},
    "n_seeds": 2,
    "architectures": ["plain"],
    "training": {"epochs": {"plain": 4, "bottleneck": 4}, "stopping": {"rule": "fixed"}},
    "metrics": ["correlation"],
}


def make_project(path: Path, mnist_root: Path, **changes) -> tuple[Path, tuple]:
    """A copy of the project with a small study (one p, plain only, 4 epochs) and its arguments."""
    project = copy_project(path)
    config = yaml.safe_load(yaml.safe_dump(SMALL_STUDY))
    for key, value in changes.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    (project / "study.yaml").write_text(yaml.safe_dump(config))
    return project, ("--cores", "2", "--configfile", "study.yaml", "--config", f"mnist_root={mnist_root}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mnist_root):
    """The small study run once, uninterrupted: the outputs every fault is compared with."""
    project, args = make_project(tmp_path_factory.mktemp("reference"), mnist_root)
    snakemake(project, MODEL, CORRELATION, "results/aggregate/training.csv", *args)
    return project


def state(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model_state"]


def same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


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
    env = dict(os.environ, PYTHONPATH=str(project / "src"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args], cwd=project, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for(condition, timeout: float = 120.0, every: float = 0.02) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the fault to be injectable")
        time.sleep(every)


# ---------------------------------------------------------------------------------- 1. config

BAD_CONFIGS = [
    ("p = 0", {"sparsity": {"grid_size": 3, "values": [0]}}, "sparsity.values[0]", "> 0 and <= 1"),
    ("p > 1", {"sparsity": {"grid_size": 3, "values": [0.1, 2]}}, "sparsity.values[1]", "> 0 and <= 1"),
    ("p as a string", {"sparsity": {"grid_size": 3, "values": ["0.1"]}}, "sparsity.values[0]", "number"),
    ("empty p list", {"sparsity": {"grid_size": 3, "values": []}}, "sparsity.values", "at least 1 item"),
    ("negative epochs", {"training": {"epochs": {"plain": -2, "bottleneck": 7}}}, "training.epochs.plain", ">= 1"),
    ("zero epochs", {"training": {"epochs": {"plain": 5, "bottleneck": 0}}}, "training.epochs.bottleneck", ">= 1"),
    ("N = 0", {"model": {"n_hidden": 0}}, "model.n_hidden", ">= 1"),
    ("unknown key", {"trainig": {"lr": 0.1}}, "trainig", "allowed keys: architectures"),
    ("misspelled metric", {"metrics": ["bottleneck", "corelation"]}, "metrics[1]", "bottleneck, weight_mask, correlation"),
    ("q = 0", {"weight_mask_metric": {"q": 0}}, "weight_mask_metric.q", "> 0 and < 1"),
    ("q > 1", {"weight_mask_metric": {"q": 5}}, "weight_mask_metric.q", "> 0 and < 1"),
]


@pytest.fixture(scope="module")
def bare_project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("bad_config"))


@pytest.mark.parametrize("name, override, key, allowed", BAD_CONFIGS, ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_stops_before_any_job(bare_project, name, override, key, allowed):
    (bare_project / "bad.yaml").write_text(yaml.safe_dump(override))
    result = snakemake(bare_project, "--cores", "1", "--configfile", "bad.yaml", check=False)
    output = result.stdout + result.stderr
    problems = [line.strip() for line in output.splitlines() if line.strip().startswith("config key ")]
    assert result.returncode != 0
    assert len(problems) == 1 and problems[0].startswith(f"config key {key}:") and allowed in problems[0], output[-2000:]
    assert not (bare_project / "results").exists()


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


def test_killed_training_job_resumes_to_the_same_weights(tmp_path, mnist_root, reference):
    project, args = make_project(tmp_path, mnist_root)
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


def test_killed_snakemake_leaves_incomplete_job_that_the_same_command_resumes(tmp_path, mnist_root, reference):
    project, args = make_project(tmp_path, mnist_root)
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
def test_killed_metric_or_aggregation_job_reruns_to_identical_output(tmp_path, mnist_root, reference, target, script):
    project, args = make_project(tmp_path, mnist_root)
    snakemake(project, MODEL, "results/models/plain/p=0.01/seed=1/model.pt", *args)  # everything upstream
    run = start(project, target, *args)
    wait_for(lambda: job_processes(project, script), every=0.005)
    for pid in job_processes(project, script):
        os.kill(pid, signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode != 0 and not (project / target).exists()
    snakemake(project, target, *args)
    columns = lambda frame: frame.drop(columns=[c for c in ("software",) if c in frame])  # noqa: E731
    pd.testing.assert_frame_equal(columns(pd.read_csv(project / target)), columns(pd.read_csv(reference / target)))


def test_outputs_never_appear_half_written(tmp_path, mnist_root):
    project, args = make_project(tmp_path, mnist_root)
    run = start(project, MODEL, CORRELATION, *args)
    seen = {}
    while run.poll() is None:
        for name in (MODEL, HISTORY, CORRELATION):
            path = project / name
            if name not in seen and path.exists():
                if name == MODEL:
                    seen[name] = len(torch.load(path, weights_only=True)["model_state"])
                else:
                    seen[name] = len(pd.read_csv(path))
        time.sleep(0.01)
    assert run.returncode == 0, run.stdout.read()
    assert seen == {MODEL: len(state(project / MODEL)), HISTORY: 4, CORRELATION: len(pd.read_csv(project / CORRELATION))}


# ---------------------------------------------------------------------------------- 4. divergence


def test_diverging_training_fails_with_p_seed_epoch_and_value(tmp_path, mnist_root):
    project, args = make_project(tmp_path, mnist_root, training={"optimizer": "sgd", "lr": 1e38})
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


def test_checkpoint_that_would_run_code_is_refused(tmp_path, mnist_root, reference):
    project, args = make_project(tmp_path, mnist_root)
    shutil.copytree(reference / "results", project / "results")
    marker = tmp_path / "code-was-run"
    with open(project / MODEL, "wb") as handle:
        pickle.dump({"model_state": RunsCode(marker)}, handle)
    (project / CORRELATION).unlink()
    result = snakemake(project, CORRELATION, *args, check=False)
    assert result.returncode != 0
    assert f"refusing to load {MODEL}: it is not a plain tensor checkpoint" in result.stderr
    assert not marker.exists() and not (project / CORRELATION).exists()


def test_unexpected_error_lands_in_the_jobs_log(tmp_path, mnist_root, reference):
    """Issue 14: a job that fails with an error no message was written for leaves its traceback in
    the job's log file, not only on the terminal."""
    project, args = make_project(tmp_path, mnist_root)
    shutil.copytree(reference / "results", project / "results")
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


def test_resume_file_that_would_run_code_is_refused(tmp_path, mnist_root):
    project, args = make_project(tmp_path, mnist_root)
    marker = tmp_path / "code-was-run"
    (project / RESUME).parent.mkdir(parents=True)
    torch.save({"run_id": RunsCode(marker)}, project / RESUME)
    result = snakemake(project, MODEL, *args, check=False)
    assert result.returncode != 0 and "refusing to load" in result.stderr
    assert not marker.exists() and not (project / MODEL).exists()


# ---------------------------------------------------------------------------------- 6. determinism


def test_same_seed_same_numbers_other_seed_other_network(tmp_path, mnist_root, reference):
    project, args = make_project(tmp_path, mnist_root)
    other_seed = "results/models/plain/p=0.01/seed=1/model.pt"
    snakemake(project, MODEL, CORRELATION, other_seed, *args)
    assert same_tensors(state(project / MODEL), state(reference / MODEL))
    assert pd.read_csv(project / CORRELATION)["value"].tolist() == pd.read_csv(reference / CORRELATION)["value"].tolist()
    seed0, seed1 = state(project / MODEL), state(project / other_seed)
    assert not torch.equal(seed0["w_hh"], seed1["w_hh"])
    assert not torch.equal(seed0["sparse.active_index"].sort().values, seed1["sparse.active_index"].sort().values)


# ---------------------------------------------------------------------------------- 7. concurrency


def test_second_run_in_the_same_folder_is_refused_by_the_lock(tmp_path, mnist_root, reference):
    project, args = make_project(tmp_path, mnist_root)
    first = start(project, MODEL, *args)
    wait_for(lambda: any((project / ".snakemake" / "locks").glob("*")) if (project / ".snakemake" / "locks").exists() else False)
    second = snakemake(project, MODEL, *args, check=False)
    assert second.returncode != 0 and "Directory cannot be locked" in second.stdout + second.stderr
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output[-3000:]
    assert same_tensors(state(project / MODEL), state(reference / MODEL))
