"""Versions of the software that produced a result, stored beside it."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version


def software_versions() -> dict[str, str]:
    """Versions of Python and of the packages the results depend on."""
    versions = {"python": platform.python_version()}
    for package in ("extreme-sparsity", "torch", "numpy", "h5py", "pandas"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions
