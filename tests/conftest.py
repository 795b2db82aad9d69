"""Shared fixtures: the MNIST folders the tests use, a copy of the project to run workflows in, the
workflow runs that tests share, and the order of the tests with those runs made in the background
(tests/background.py)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import background
from background import Workspace, prepared

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data"
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _real_mnist_available() -> bool:
    raw = SHARED_MNIST / "MNIST" / "raw"
    return all((raw / f"{name}.gz").is_file() for name in MNIST_NAMES)


def write_tiny_mnist(root: Path, n_train: int = 6600, n_test: int = 200, seed: int = 0) -> Path:
    """Write a small uncompressed IDX data set in torchvision's layout: each digit a distinct blob.
    6,600 training images: the default config holds 6,000 out for validation, 600 remain to train on."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, count in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
        for index, label in enumerate(labels):  # digit d lights up rows 2d..2d+5
            images[index, 2 * label : 2 * label + 6, 4:24] = 255
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, count, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, count) + labels.tobytes())
    return root


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """The real MNIST from ../shared when present, else a tiny IDX set written for the tests."""
    if _real_mnist_available():
        return SHARED_MNIST
    return write_tiny_mnist(tmp_path_factory.mktemp("tiny_mnist"))


def write_workflow_mnist(root: Path) -> Path:
    """The synthetic digits that the end-to-end workflow runs train on (the small study locally,
    through SLURM and in the image, the faults): what they prove is about jobs, files and where
    jobs run, not about the science, and on real MNIST each of their jobs trains and measures for
    seconds. 10,000 images are left to train on, so that an epoch still lasts long enough (about
    half a second on 2 cores) for a test to stop a job between two epochs."""
    return write_tiny_mnist(root, n_train=16000, n_test=1000)


@pytest.fixture(scope="session")
def workflow_mnist_root(preparations) -> Path:
    """The digits of :func:`write_workflow_mnist`, written once per session."""
    return preparations.workflow_mnist


@pytest.fixture(scope="session")
def real_mnist_root() -> Path:
    """The real MNIST; tests that need it are skipped (with the reason shown) where it is absent."""
    if not _real_mnist_available():
        pytest.skip(f"real MNIST not found in {SHARED_MNIST}/MNIST/raw")
    return SHARED_MNIST


def copy_project(destination: Path) -> Path:
    """Copy what a workflow run needs (no venv, no results) so that tests can edit and run it freely."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "envs", "src", "profiles", "slurm", "containers"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, destination / name)
    return destination


# Options with which snakemake runs no job: what a test outside the slow tier may do.
NO_JOB_OPTIONS = {"-n", "--dry-run", "--dryrun", "--lint", "--list-rules", "--list", "-l", "--summary", "--detailed-summary", "--dag", "--rulegraph"}
RUNNING_TEST: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    RUNNING_TEST[:] = [item]  # before its fixtures, which may run snakemake


def _slow(item: pytest.Item | None) -> bool:
    return item is None or item.get_closest_marker("slow") is not None


@pytest.fixture(autouse=True)
def no_process_kills_outside_the_slow_tier(request, monkeypatch):
    """`pytest -m "not slow"` kills no process: a test that does must be marked slow."""
    if _slow(request.node):
        return

    def refusing(kill):
        def refuse(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():  # a slow test's preparation
                return kill(*args, **kwargs)
            raise AssertionError(f"{request.node.nodeid} kills a process: mark it @pytest.mark.slow")

        return refuse

    monkeypatch.setattr(os, "kill", refusing(os.kill))
    monkeypatch.setattr(os, "killpg", refusing(os.killpg))


def workflow_environment(project: Path) -> dict[str, str]:
    """The environment of a snakemake run in ``project``: the project's src/ imported, and HDF5's
    file locking as a user's jobs have it (only this process turns it off, below)."""
    env = {name: value for name, value in os.environ.items() if name != "HDF5_USE_FILE_LOCKING"}
    env.update(PYTHONPATH=str(project / "src"), PYTHONDONTWRITEBYTECODE="1")
    return env


def _snakemake_command(project: Path, args: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of snakemake in ``project``."""
    return [sys.executable, "-m", "snakemake", *args], workflow_environment(project)


def _checked(result: subprocess.CompletedProcess, args: tuple[str, ...]) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def snakemake(
    project: Path, *args: str, timeout: int = 900, check: bool = True, refused: bool = False
) -> subprocess.CompletedProcess:
    """Run snakemake in ``project`` with the package imported from the project's own src/.

    Only a test marked slow may run jobs; the others may only plan (dry runs, lint, summaries) or
    be ``refused`` (snakemake must then stop before any job, with a non-zero exit)."""
    item = RUNNING_TEST[0] if RUNNING_TEST else None
    if not _slow(item) and not refused and not NO_JOB_OPTIONS & set(args):
        raise AssertionError(f"{item.nodeid} runs snakemake jobs (snakemake {' '.join(args)}): mark it @pytest.mark.slow")
    command, env = _snakemake_command(project, args)
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
    if refused:
        assert result.returncode != 0, f"snakemake {' '.join(args)} was expected to refuse, and ran"
    elif check:
        _checked(result, args)
    return result


def snakemake_in_background(workspace: Workspace, project: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """:func:`snakemake` for a preparation (only the slow tier starts them): fails unless it succeeds."""
    command, env = _snakemake_command(project, args)
    return _checked(workspace.run(command, timeout, cwd=project, env=env), args)


@pytest.fixture(scope="session")
def paired_dataset_file(mnist_root, tmp_path_factory) -> Path:
    """The paired-digit HDF5 file built from the test MNIST, as the prepare_dataset rule builds it."""
    from extreme_sparsity import dataset, mnist, task

    files = mnist.ensure_files(mnist_root, download=False)
    path = tmp_path_factory.mktemp("dataset") / "paired.h5"
    n_validation = 6000 if mnist_root == SHARED_MNIST else 100
    dataset.write(path, dataset.pair_mnist(files, seed=0, n_validation=n_validation), {"data_seed": 0}, task=task.PARITY)
    return path


@pytest.fixture(scope="session")
def small_splits(paired_dataset_file):
    """A few thousand training pairs, and validation and test pairs, for fast training tests."""
    from extreme_sparsity import dataset

    train, validation, test = dataset.load_splits(paired_dataset_file, 0.1307, 0.3081, *dataset.SPLITS)
    return train.subset(slice(0, 3000)), validation.subset(slice(0, 1000)), test.subset(slice(0, 1000))


SMALL_STUDY = REPO / "tests" / "small_study.yaml"


@prepared("workflows", rank=2)
def small_run(workspace: Workspace):
    """tests/small_study.yaml (every rule, fewest jobs) run once locally with 2 cores: (project,
    args, result). The end-to-end tests of the workflow, the staleness rows and the report read
    it; the SLURM and container tests compare their runs of it with this one."""
    project = copy_project(workspace.folder)
    shutil.copy2(SMALL_STUDY, project / "small_study.yaml")
    args = ("--cores", "2", "--configfile", "config/quick.yaml", "small_study.yaml", "--config", f"mnist_root={workspace.workflow_mnist}")
    return project, args, snakemake_in_background(workspace, project, *args)


# -- the slow tier's preparations (tests/background.py) -------------------------------------------
def pytest_collection_modifyitems(session, config, items):
    """The fast tests first, so that they run while the slow tier's preparations are made in the
    background, then the slow ones by the rank of what they need (tests/background.py)."""
    items.sort(key=lambda item: (_slow(item), background.rank_of(item)))


@pytest.fixture(scope="session", autouse=True)
def preparations(request, tmp_path_factory):
    """Start, in the background, every preparation a test of this session needs, in the order the
    tests need them; stop what still runs when the session ends."""
    session = background.Preparations(tmp_path_factory.mktemp, write_workflow_mnist(tmp_path_factory.mktemp("workflow_mnist")))
    background.start_for(session, request.session.items)
    if session.futures:
        import torch

        # The cores are shared with the preparations now: torch's own thread pool in this process
        # would spin waiting for a busy core (a 12 s test took 190 s on 2 cores).
        torch.set_num_threads(1)
        # A process the background forks holds, until it execs, a copy of every file descriptor
        # of this one: HDF5's lock on a file a test has just written can then still be held when
        # the test opens it again. No test relies on HDF5's locks (snakemake keeps one writer);
        # the workflows the tests start run without this setting (_snakemake_command).
        os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
    yield session
    session.stop()
    PREPARATION_TIMES[:] = session.summary()


PREPARATION_TIMES: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if PREPARATION_TIMES:
        terminalreporter.write_sep("-", "preparations made in the background (tests/background.py)")
        for line in PREPARATION_TIMES:
            terminalreporter.write_line(line)
