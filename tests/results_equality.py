"""Do two runs of the same config hold the same results? Every result file is compared by
content: tables exactly (but for wall-clock columns), checkpoints tensor by tensor, HDF5 files
dataset by dataset; figures only exist (they embed dates). Logs and benchmarks hold times and
are left out. Used by the SLURM and container tests against a local run."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

TIME_COLUMNS = {"seconds"}  # wall-clock columns: the only values allowed to differ between runs
SOFTWARE_COLUMN = "software"  # "python=3.11.7 extreme-sparsity=0.1.0 torch=2.14.1 ...", see versions.py


def assert_same_results(expected: Path, actual: Path, *, python_patch_may_differ: bool = False, only_study: bool = False) -> None:
    """The same result files with the same contents under two results/ folders; no resume file left.
    ``python_patch_may_differ``: the software column may name another Python 3.X.* (a container's
    base image), every package version must still be the same. ``only_study``: the base study's
    files only (not the variants' and comparisons' that ``actual`` may hold beside them)."""
    study = lambda paths: [path for path in paths if not only_study or path.parts[0] not in ("variants", "comparisons")]  # noqa: E731
    files = study(result_files(expected))
    assert files == study(result_files(actual)), sorted(set(files) ^ set(study(result_files(actual))))
    assert any(path.suffix == ".pt" for path in files) and any(path.suffix == ".csv" for path in files)
    for path in files:
        _assert_same_file(expected / path, actual / path, python_patch_may_differ)
    assert not list(actual.rglob("resume.pt"))


def _software(column: pd.Series, python_patch_may_differ: bool) -> list[dict[str, str]]:
    versions = [dict(item.split("=", 1) for item in str(value).split()) for value in column]
    if python_patch_may_differ:
        for entry in versions:
            entry["python"] = ".".join(entry["python"].split(".")[:2])
    return versions


def result_files(results: Path) -> list[Path]:
    """Every result file, relative to results/, without logs and benchmarks (they hold times)."""
    return sorted(
        path.relative_to(results)
        for path in results.rglob("*")
        if path.is_file() and path.relative_to(results).parts[0] not in ("logs", "benchmarks")
    )


def _assert_same_file(expected: Path, actual: Path, python_patch_may_differ: bool = False) -> None:
    if expected.suffix == ".csv":
        left, right = pd.read_csv(expected), pd.read_csv(actual)
        drop = sorted(TIME_COLUMNS & set(left.columns))
        if SOFTWARE_COLUMN in left.columns:
            assert SOFTWARE_COLUMN in right.columns, actual
            software = _software(left[SOFTWARE_COLUMN], python_patch_may_differ)
            assert software == _software(right[SOFTWARE_COLUMN], python_patch_may_differ), f"{actual}: software differs"
            drop.append(SOFTWARE_COLUMN)
        pd.testing.assert_frame_equal(left.drop(columns=drop), right.drop(columns=drop), check_exact=True, obj=str(actual))
    elif expected.suffix == ".pt":
        left, right = torch.load(expected, weights_only=True), torch.load(actual, weights_only=True)
        if python_patch_may_differ and isinstance(left, dict) and isinstance(left.get("versions"), dict):
            left, right = _minor_python(left), _minor_python(right)
        _assert_same_object(left, right, str(actual))
    elif expected.suffix == ".h5":
        with h5py.File(expected) as left, h5py.File(actual) as right:
            assert dict(left.attrs) == dict(right.attrs)
            names = []
            left.visit(names.append)
            for name in names:
                if isinstance(left[name], h5py.Dataset):
                    np.testing.assert_array_equal(left[name][()], right[name][()], err_msg=f"{actual}:{name}")
    elif expected.suffix in (".png", ".pdf", ".svg"):
        assert actual.stat().st_size > 0  # drawn from the tables compared above; files embed dates
    else:
        assert expected.read_bytes() == actual.read_bytes(), actual


def _minor_python(checkpoint: dict) -> dict:
    versions = dict(checkpoint["versions"])
    versions["python"] = ".".join(str(versions["python"]).split(".")[:2])
    return {**checkpoint, "versions": versions}


def _assert_same_object(left, right, where: str) -> None:
    if isinstance(left, torch.Tensor):
        assert torch.equal(left, right), where
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), where
        for key in left:
            _assert_same_object(left[key], right[key], f"{where}:{key}")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right)):
            _assert_same_object(a, b, f"{where}[{index}]")
    else:
        assert left == right, f"{where}: {left!r} != {right!r}"
