"""The workflow's image, really built and run (docs/cluster.md, "Containers").

containers/build.sh builds containers/Dockerfile with Podman: on the official base image when a
registry answers, else on one made from Debian's packages with mmdebstrap (this machine). The
small study then runs inside the image (`snakemake --cores 2 --configfile config/quick.yaml
small_study.yaml`: every rule, fewest jobs; the project mounted at /project, MNIST read-only at
/mnist, no network), and its results must equal the local run's (conftest's small_run) file by
file, as the SLURM run's must; only the
Python patch version recorded with them may differ (the base image's Python). The image keeps
the pinned versions of requirements.txt.

The image stays in Podman's store under a tag that hashes its recipe, so later sessions on the
same machine reuse it. The first build on a fresh machine takes about 4 minutes (apt packages,
base image, about 4 GB of wheels); the `image` preparation below makes it in the background from
the start of the session (tests/background.py), so that it overlaps the tests before it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from background import Workspace, prepared
from conftest import REPO, SMALL_STUDY, copy_project
from results_equality import assert_same_results
from test_environments import requirements

pytestmark = [pytest.mark.container, pytest.mark.slow]

PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
SMALL = ("--cores", "2", "--configfile", "config/quick.yaml", SMALL_STUDY.name, "--config", "mnist_root=/mnist")


@prepared("image", rank=6)
def image(workspace: Workspace) -> str:
    """The workflow's image in Podman's store, built (or found) by tests/prepare_image.sh."""
    if os.geteuid() != 0:
        pytest.skip("building the image here needs root (apt-get, podman's store); CI runs as root")
    if shutil.which("apt-get") is None:
        pytest.skip("the container test installs podman with Debian's apt-get")
    built = workspace.run(["bash", str(REPO / "tests" / "prepare_image.sh")], timeout=1800)
    if built.returncode != 0:
        pytest.fail(f"tests/prepare_image.sh failed ({built.returncode}):\n{built.stderr[-6000:]}")
    return built.stdout.strip().splitlines()[-1]


def _captured(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _in_image(image: str, project: Path, mnist_root: Path, *command: str, timeout: int = 900, run=_captured) -> subprocess.CompletedProcess:
    mounts = ["-v", f"{project}:/project", "-w", "/project", "-v", f"{Path(mnist_root).resolve()}:/mnist:ro"]
    return run([*PODMAN, "run", "--rm", *LIMITS, "--network", "none", *mounts, image, *command], timeout=timeout)


@prepared("image", rank=6, needs=("image",))
def container_run(workspace: Workspace) -> tuple[Path, str]:
    """The small study run inside the image in a fresh copy of the project: (project, output)."""
    image = workspace.result("image")
    project = copy_project(workspace.folder)
    shutil.copy2(SMALL_STUDY, project / SMALL_STUDY.name)
    run = _in_image(image, project, workspace.workflow_mnist, "snakemake", *SMALL, run=workspace.run)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"snakemake in the image failed ({run.returncode}):\n{output[-6000:]}"
    return project, output


def test_run_in_the_image_equals_the_local_run(container_run, small_run):
    project, output = container_run
    assert "Complete log(s): /project/.snakemake/log/" in output  # the run happened inside, at /project
    assert_same_results(small_run[0] / "results", project / "results", python_patch_may_differ=True)


def test_second_invocation_in_the_image_does_nothing(container_run, image, workflow_mnist_root):
    project, _ = container_run
    again = _in_image(image, project, workflow_mnist_root, "snakemake", *SMALL, "--dry-run", timeout=300)
    assert again.returncode == 0, again.stderr[-4000:]
    assert "Nothing to be done" in again.stdout + again.stderr


def test_image_holds_the_pinned_versions(image, tmp_path, mnist_root):
    frozen = _in_image(image, tmp_path, mnist_root, "python", "-m", "pip", "freeze", "--all", timeout=300)
    assert frozen.returncode == 0, frozen.stderr[-2000:]
    installed = dict(line.lower().split("==", 1) for line in frozen.stdout.splitlines() if "==" in line)
    for name, version in requirements().items():
        assert installed.get(name) == version, f"the image has {name} {installed.get(name)}, requirements.txt pins {version}"
    python = _in_image(image, tmp_path, mnist_root, "python", "-c", "import sys; print(*sys.version_info[:2])", timeout=300)
    assert python.stdout.split() == ["3", "11"], python.stdout + python.stderr
