"""The package modules a script really imports, found by reading import statements (no import).

Snakemake reruns a job when its script changes; declaring these modules as inputs makes it also
rerun when a module the script imports, directly or through other modules, changes — and only then.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Iterator

PACKAGE_NAME = "extreme_sparsity"


def _in_package(name: str | None) -> bool:
    return bool(name) and (name == PACKAGE_NAME or name.startswith(PACKAGE_NAME + "."))


def _relative(name: str) -> list[str]:
    """``extreme_sparsity.a.b`` -> ``["a", "b"]``."""
    return name.split(".")[1:]


def _imported_names(path: Path, package_dir: Path) -> Iterator[list[str]]:
    """Package-relative dotted names (as parts) that ``path`` imports; some name classes, not modules."""
    location = list(path.parent.relative_to(package_dir).parts) if path.is_relative_to(package_dir) else None
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (_relative(alias.name) for alias in node.names if _in_package(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if location is None:
                    continue
                base = location[: len(location) - node.level + 1] + (node.module.split(".") if node.module else [])
            elif _in_package(node.module):
                base = _relative(node.module)
            else:
                continue
            yield base
            yield from ([*base, alias.name] for alias in node.names)


def _module_file(package_dir: Path, parts: list[str]) -> Path | None:
    base = package_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_files_imported_by(script: str | Path, package_dir: str | Path) -> list[str]:
    """Sorted paths of every package module ``script`` imports, directly or transitively,
    including the ``__init__.py`` of each package passed through on the way."""
    package_dir = Path(package_dir).resolve()
    pending, seen = [Path(script).resolve()], set()
    while pending:
        for parts in _imported_names(pending.pop(), package_dir):
            for depth in range(len(parts) + 1):
                module = _module_file(package_dir, parts[:depth])
                if module is not None and module not in seen:
                    seen.add(module)
                    pending.append(module)
    return sorted(str(path) for path in seen)


def digest(files: list[str] | tuple[str, ...]) -> str:
    """Hash of the contents of package modules, each named by its path inside the package: the
    same code gives the same digest wherever the project lies."""
    package_dir = Path(__file__).resolve().parent.parent  # extreme_sparsity/ (this module is in plumbing/)
    hashed = hashlib.sha256()
    for path in sorted(Path(f).resolve() for f in files):
        hashed.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return hashed.hexdigest()[:16]
