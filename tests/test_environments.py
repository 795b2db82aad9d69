"""Software environments, profiles and workflow conventions, checked statically (the image is
built and run by tests/test_container.py; Apptainer cannot be installed here).

* requirements.txt (the README's venv), envs/*.yaml (`--sdm conda`) and containers/Dockerfile pin
  the same versions; the Apptainer definition builds from the Dockerfile's image and adds none;
* every rule with an action has a conda environment, a log and a benchmark, and its script's
  imports work with only the packages of that environment; the workflow names the container
  built from containers/;
* every rule that runs a job declares its threads, memory and time (growing with each retry) and
  the profiles size no rule; the slurm profile is found from the repository root, reads partition
  and account from the environment, and the rules group the short jobs (a dry run at paper scale
  with the slurm profile shows how many sbatch submissions that makes);
* `snakefmt --check` and `snakemake --lint` are clean.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_project, snakemake

DOCKERFILE = REPO / "containers" / "Dockerfile"
APPTAINER_DEFINITION = REPO / "containers" / "extreme-sparsity.def"
APPTAINER_SECTIONS = {"setup", "files", "environment", "post", "runscript", "startscript", "test", "labels", "help", "arguments"}
CONTAINER_IMAGE = "containers/extreme-sparsity.sif"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")
# importable name of each pinned distribution whose absence from an environment matters
MODULES = {"torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "pandas": "pandas", "matplotlib": "matplotlib", "h5py": "h5py"}


def requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"requirements.txt: {line!r} is not pinned with =="
            pins[match.group(1).lower()] = match.group(2)
    return pins


def conda_env(path: Path) -> tuple[str, dict[str, str]]:
    """(python version, {package: version}) of a conda environment file; every entry pinned."""
    spec = yaml.safe_load(path.read_text())
    python, pins = None, {}
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                match = PIN.match(line)
                assert match, f"{path.name}: pip entry {line!r} is not pinned with =="
                pins[match.group(1).lower()] = match.group(2)
        elif entry.startswith("python="):
            python = entry.split("=", 1)[1]
        else:
            assert entry == "pip", f"{path.name}: {entry!r}: put packages under pip: with == pins"
    assert python, f"{path.name} does not pin python"
    return python, pins


def container_spec(path: Path) -> tuple[str, dict[str, str]]:
    """(python version of the Dockerfile's default base image, {package: version} installed by pip)."""
    text = path.read_text()
    base = re.findall(r"^ARG BASE_IMAGE=docker\.io/library/python:(\d+\.\d+\.\d+)-slim-bookworm\s*$", text, re.MULTILINE)
    assert len(base) == 1, f"{path.name}: expected one ARG BASE_IMAGE=docker.io/library/python:X.Y.Z-slim-bookworm"
    assert re.search(r"^FROM \$\{BASE_IMAGE\}\s*$", text, re.MULTILINE), f"{path.name}: FROM must use the BASE_IMAGE argument"
    pins = {}
    for token in re.findall(r"(?<![\w.-])[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+", text):
        name, version = token.split("==")
        pins[name.lower()] = version
    return base[0], pins


def apptainer_definition(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """({header key: value}, {section: body}) of an Apptainer definition file, comments dropped."""
    header, sections, current = {}, {}, None
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("%"):
            current = line.split()[0][1:]
            assert current not in sections, f"{path.name}: section %{current} twice"
            sections[current] = ""
        elif current is None:
            key, _, value = line.partition(":")
            assert value.strip(), f"{path.name}: header line {line!r} is not 'Key: value'"
            header[key.strip()] = value.strip()
        else:
            sections[current] += line.strip() + "\n"
    return header, sections


ENVIRONMENTS = sorted((REPO / "envs").glob("*.yaml"))


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=lambda path: path.name)
def test_conda_environment_pins_the_requirements_versions(path):
    python, pins = conda_env(path)
    pinned = requirements()
    assert pins, f"{path.name} pins no package"
    for name, version in pins.items():
        assert name in pinned, f"{path.name}: {name} is not in requirements.txt"
        assert version == pinned[name], f"{path.name}: {name}=={version}, requirements.txt has {pinned[name]}"
    base, _ = container_spec(DOCKERFILE)
    assert python == base, f"{path.name}: python={python}, the container has {base}"


def test_torch_and_plot_environments_are_separate():
    """Figures and tables have their own environment: editing it never reruns training."""
    _, torch_env = conda_env(REPO / "envs" / "torch.yaml")
    _, plot_env = conda_env(REPO / "envs" / "plot.yaml")
    assert {"torch", "torchvision", "h5py"} <= set(torch_env)
    assert "matplotlib" not in torch_env
    assert "matplotlib" in plot_env and not {"torch", "torchvision"} & set(plot_env)


def test_container_builds_the_pinned_environment():
    base, pins = container_spec(DOCKERFILE)
    assert pins == requirements(), "containers/Dockerfile and requirements.txt pin different packages or versions"
    assert base.rsplit(".", 1)[0] == f"{sys.version_info.major}.{sys.version_info.minor}", "venv and image differ in Python"


def test_apptainer_definition_builds_from_the_dockerfiles_image():
    """Statically (Apptainer cannot be installed here): one recipe for both images. The definition
    bootstraps from the archive that its own instructions save from the Dockerfile's image, adds no
    packages of its own, and carries the same version; its sections are Apptainer's."""
    header, sections = apptainer_definition(APPTAINER_DEFINITION)
    assert header == {"Bootstrap": "docker-archive", "From": "containers/extreme-sparsity.tar"}, header
    assert set(sections) <= APPTAINER_SECTIONS, set(sections) - APPTAINER_SECTIONS
    assert "post" not in sections and "pip install" not in APPTAINER_DEFINITION.read_text(), "install packages in the Dockerfile only"
    version = re.search(r'org\.opencontainers\.image\.version="([^"]+)"', DOCKERFILE.read_text()).group(1)
    assert f"org.opencontainers.image.version {version}\n" in sections["labels"]
    text = APPTAINER_DEFINITION.read_text()
    assert f"-o {header['From']} extreme-sparsity:{version}" in text, "the definition must say how its archive is saved"
    assert f"podman build -t extreme-sparsity:{version} -f containers/Dockerfile containers" in text
    assert f"apptainer build {CONTAINER_IMAGE} containers/extreme-sparsity.def" in text
    assert "import sys, torch, snakemake" in sections["test"]


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory, mnist_root) -> dict[str, dict]:
    """Every rule of the workflow with its conda file, container, script and group, from snakemake itself."""
    project = copy_project(tmp_path_factory.mktemp("rules"))
    (project / "inspect_rules.smk").write_text(
        'include: "Snakefile"\n\n\n'
        "import json as _json\n\n"
        'print("RULES=" + _json.dumps({r.name: {"conda": r.conda_env and str(r.conda_env), '
        '"container": r.container_img and str(r.container_img), "script": r.script, '
        '"shell": r.shellcmd, "norun": r.norun, "basedir": str(r.basedir), '
        '"log": [str(f) for f in r.log], "benchmark": r.benchmark and str(r.benchmark), "group": r._group} '
        "for r in workflow.rules}))\n"
    )
    listed = snakemake(project, "-s", "inspect_rules.smk", "--list-rules", "--config", f"mnist_root={mnist_root}")
    line = next(line for line in listed.stdout.splitlines() if line.startswith("RULES="))
    rules = json.loads(line[len("RULES=") :])
    for rule in rules.values():
        for key in ("conda", "script"):
            if rule[key]:  # paths in a rule are relative to the file that defines it
                rule[key] = (Path(rule["basedir"]) / rule[key]).resolve().relative_to(project.resolve())
    return {name: rule for name, rule in rules.items() if not rule["norun"]}


def test_every_rule_has_a_conda_environment(workflow_rules):
    assert workflow_rules
    for name, rule in workflow_rules.items():
        assert rule["conda"], f"rule {name} has no conda: directive"
        assert rule["conda"].parent == Path("envs") and (REPO / rule["conda"]).is_file(), f"rule {name}: {rule['conda']}"


def test_every_rule_has_a_log_and_a_benchmark(workflow_rules):
    """Snakemake best practice (issue 14): every job writes its own log and its time and memory."""
    for name, rule in workflow_rules.items():
        assert rule["log"], f"rule {name} has no log: directive"
        assert rule["benchmark"] and rule["benchmark"].startswith("results/benchmarks/"), f"rule {name}: benchmark {rule['benchmark']!r}"


def test_every_rule_runs_in_the_container(workflow_rules):
    containers = {rule["container"] for rule in workflow_rules.values()}
    assert containers == {CONTAINER_IMAGE}, f'every rule must run in the container (Snakefile: container: "{CONTAINER_IMAGE}")'


def test_rule_scripts_import_with_only_their_environment(workflow_rules, tmp_path):
    """A plotting job must not need torch, a training job not matplotlib: each script's imports
    are run with every pinned package that its environment lacks made unimportable (one process
    per environment, each rule's imports tried in turn and any failure named by its rule)."""
    by_environment: dict[Path, dict[str, list[str]]] = {}
    for name, rule in workflow_rules.items():
        if rule["script"] and rule["script"].suffix == ".py":
            tree = ast.parse((REPO / rule["script"]).read_text())
            imports = [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
            by_environment.setdefault(rule["conda"], {})[name] = imports
    assert by_environment
    for environment, rules in by_environment.items():
        _, available = conda_env(REPO / environment)
        blocked = sorted(module for package, module in MODULES.items() if package not in available)
        program = (
            "import importlib.abc, sys\n"
            f"BLOCKED = {blocked!r}\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in BLOCKED:\n"
            "            raise ImportError(f'{name} is not in this rule\\'s environment')\n"
            "sys.meta_path.insert(0, Block())\n"
            "failed = []\n"
            f"for rule, imports in {rules!r}.items():\n"
            "    try:\n"
            "        exec('\\n'.join(imports), {})\n"
            "    except ImportError as error:\n"
            "        failed.append(f'rule {rule}: {error}')\n"
            "sys.exit('\\n'.join(failed) or None)\n"
        )
        environment_variables = dict(os.environ, PYTHONPATH=str(REPO / "src"), PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=environment_variables)
        assert result.returncode == 0, f"{environment}:\n{result.stderr.strip()}"


def load_profile(path: Path, **environment: str) -> dict:
    """A profile as snakemake reads it (YTE rendered, keys turned into command-line values)."""
    from snakemake.profiles import ProfileConfigFileParser

    saved = dict(os.environ)
    try:
        for key in ("SBATCH_PARTITION", "SBATCH_ACCOUNT"):
            os.environ.pop(key, None)
        os.environ.update(environment)
        with open(path) as stream:
            return dict(ProfileConfigFileParser().parse(stream))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_every_job_rule_declares_threads_memory_and_time_that_grow_with_retries(workflow_rules):
    """The rules, not a profile, size their jobs, so that every study variant inherits the sizes."""
    text = "\n".join(path.read_text() for path in sorted((REPO / "workflow").rglob("*.smk")))
    blocks = dict(re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", text, flags=re.MULTILINE | re.DOTALL))
    for name, rule in workflow_rules.items():
        if rule["norun"] or name not in blocks:
            continue  # target rules run nothing; `all` is the Snakefile's
        for declaration in ("threads: 1", "mem_mb=per_attempt(", "runtime=per_attempt("):
            assert declaration in blocks[name], f"rule {name} lacks {declaration}"


def test_profiles_hold_no_rule_sizes():
    for path in (REPO / "profiles" / "default" / "config.yaml", REPO / "slurm" / "config.yaml"):
        profile = load_profile(path)
        assert not {"set-threads", "set-resources", "groups"} & set(profile), f"{path}: rule settings belong in the rules"


def test_training_asks_for_a_gpu_when_device_is_cuda(tmp_path, mnist_root):
    """One config value, `device`, both moves training to the GPU and makes each training job ask
    SLURM for one (sbatch --gpus=1)."""
    project = copy_project(tmp_path)

    def training_gpus(*config: str) -> str | None:
        dry = snakemake(project, "-n", "--configfile", "config/quick.yaml", "--config", f"mnist_root={mnist_root}", *config)
        block = dry.stdout.split("rule train_model:", 1)[1]
        resources = next(line for line in block.splitlines() if line.strip().startswith("resources:"))
        found = re.search(r"\bgpu=(\d+)", resources)
        return found and found.group(1)

    assert (training_gpus("device=cuda"), training_gpus()) == ("1", "0")


def test_slurm_profile_is_found_from_the_repository_root(tmp_path):
    from snakemake.cli import get_profile_dir

    saved = Path.cwd()
    try:
        os.chdir(REPO)
        directory, config = get_profile_dir("slurm")
    finally:
        os.chdir(saved)
    assert Path(directory).resolve() == REPO / "slurm" and Path(config).name == "config.yaml"


def test_slurm_profile_settings(workflow_rules):
    plain = load_profile(REPO / "slurm" / "config.yaml")
    assert plain["executor"] == "slurm"
    assert int(plain["retries"]) >= 1 and plain["rerun-incomplete"] == "True"
    assert int(plain["slurm-init-seconds-before-status-checks"]) >= 10  # cluster defaults, not test values
    # plugin 2.8.0 reads sacct's "CANCELLED by <uid>" as still running: a scancel would hang the run
    assert plain["slurm-status-command"] == "squeue"
    assert not any(entry.startswith(("slurm_partition", "slurm_account")) for entry in plain["default-resources"])
    chosen = load_profile(REPO / "slurm" / "config.yaml", SBATCH_PARTITION="all", SBATCH_ACCOUNT="lab 1")
    assert {"slurm_partition='all'", "slurm_account='lab 1'"} <= set(chosen["default-resources"])
    assert {name for name, rule in workflow_rules.items() if rule["group"] == "metrics"} == {
        name for name in workflow_rules if name.endswith("_metric")
    }
    assert int(plain["cores"]) == 1  # group jobs run their members one at a time


def test_paper_scale_submissions(tmp_path, mnist_root):
    """A dry run of the default (paper-scale) config with --profile slurm: every metric job is in a
    group of 30, the tables and figures in one; prints the number of sbatch submissions."""
    project = copy_project(tmp_path)
    environment = dict(os.environ, HOME=str(tmp_path / "home"), PYTHONPATH=str(project / "src"))
    dry = subprocess.run(
        ["timeout", "-k", "15", "600", sys.executable, "-m", "snakemake", "--profile", "slurm", "-n"]
        + ["--config", f"mnist_root={mnist_root}"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
    )
    output = dry.stdout + dry.stderr
    assert dry.returncode == 0, output[-4000:]
    assert "Using profiles slurm and workflow specific profile profiles/default" in output
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1].split("\n\n")[0], re.MULTILINE))
    metric_jobs = sum(int(count) for rule, count in counts.items() if rule.endswith("_metric"))
    single = re.findall(r"^rule (\w+):", output, re.MULTILINE)  # `all` runs locally
    groups = re.findall(r"Group job (\w+)", output)
    assert groups.count("metrics") == math.ceil(metric_jobs / 30) and groups.count("summary") == 1
    assert groups.count("sweeps") == math.ceil(int(counts["mask_sweep"]) / 10)
    submissions = len([rule for rule in single if rule != "all"]) + len(groups)
    alone = int(counts["prepare_dataset"]) + int(counts["train_model"]) + int(counts["calibrate_mask_q"])
    assert submissions == alone + len(groups)
    print(f"\npaper scale: {counts['total']} jobs in {submissions} sbatch submissions", file=sys.stderr)


def test_the_workflow_uses_no_private_snakemake_attribute():
    """Only Snakemake's public features: no `workflow._x`, `rules._x`, `settings._x` (the next
    release may change them silently)."""
    private = re.compile(r"\b(?:workflow|rules|rule|snakemake|settings)(?:\.\w+)*\._\w+")
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow").rglob("*.smk")), *sorted((REPO / "workflow" / "scripts").glob("*.py"))]:
        found = private.findall(path.read_text())
        assert not found, f"{path.relative_to(REPO)} uses private Snakemake attributes: {found}"


def test_snakefmt_leaves_every_workflow_file_unchanged():
    files = [REPO / "Snakefile", *sorted((REPO / "workflow").rglob("*.smk"))]
    checked = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *map(str, files)], capture_output=True, text=True)
    assert checked.returncode == 0, f"run `snakefmt Snakefile workflow/`:\n{checked.stderr[-4000:]}"
    assert f"All {len(files)} file(s) would be left unchanged" in checked.stderr, checked.stderr[-2000:]


def test_lint_is_clean(tmp_path, mnist_root):
    project = copy_project(tmp_path)
    linted = snakemake(project, "--lint", "--config", f"mnist_root={mnist_root}", check=False)
    output = linted.stdout + linted.stderr
    assert linted.returncode == 0 and "Congratulations, your workflow is in a good condition!" in output, output[-4000:]
