"""Write results atomically: a temporary name in the same folder, then one rename.

A killed job therefore never leaves a file that looks complete. What it does leave, a hidden
``.<name>.<random>.partial``, is removed by the next write of the same file (one writer per
result at a time: snakemake runs one job per output).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in leftover_partials(target):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are shared
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def leftover_partials(path: str | os.PathLike) -> list[Path]:
    """Temporary files that writers of ``path`` left behind (killed before their rename)."""
    target = Path(path)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[A-Za-z0-9_]+\.partial")
    if not target.parent.is_dir():
        return []
    return sorted(entry for entry in target.parent.iterdir() if pattern.fullmatch(entry.name))


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` to ``path``."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv_rows(path: str | Path, rows: list[dict]) -> None:
    """Atomically write dict rows as CSV, columns in order of first appearance, None as an empty
    field: what pandas' ``DataFrame(rows).to_csv(index=False)`` writes, without importing pandas
    in every job (a third of a second)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
