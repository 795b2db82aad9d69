"""Versions of the software that produced a result, stored beside it."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from .. import __version__


def software_versions() -> dict[str, str]:
    """Versions of Python, of this package (also when it is imported from src/, not installed) and
    of the packages the results depend on."""
    versions = {"python": platform.python_version(), "extreme-sparsity": __version__}
    for package in ("torch", "numpy", "h5py", "pandas"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions
