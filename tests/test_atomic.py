"""Atomic writes under SIGKILL (docs/guarantees.md "Faults": "a result read while its job runs ... never
partial"; "a metric or aggregation job killed: no output is left").

A writer process rewrites one result file over and over, each version complete and recognisable
(every row names its version, and the row count is fixed); it is killed with SIGKILL at a random
moment, many times. After every kill the file must be absent (killed before its first rename) or
one complete version, never a mix or a truncation; the hidden ``.partial`` file a kill leaves
must be gone after the next write of the same result.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

from extreme_sparsity.plumbing import atomic

ROWS = 20_000  # about 0.5 MB per version: a write takes long enough for kills to land inside it
KILLS = 40
WRITER = f"""
import sys
sys.path.insert(0, {str(REPO / "src")!r})
from extreme_sparsity.plumbing.atomic import write_csv_rows
path = sys.argv[1]
version = int(sys.argv[2])
print("ready", flush=True)
while True:
    version += 1
    write_csv_rows(path, [{{"version": version, "row": row, "padding": "x" * 8}} for row in range({ROWS})])
"""


def read_version(path: Path) -> int:
    """The single version a complete file holds; fails on a mixed or truncated file."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == ROWS, f"{path}: {len(rows)} rows, a complete version has {ROWS}"
    versions = {row["version"] for row in rows}
    assert len(versions) == 1 and [int(row["row"]) for row in rows] == list(range(ROWS)), f"{path}: mixed versions {versions}"
    return int(versions.pop())


@pytest.mark.slow
def test_killed_writers_leave_the_old_or_a_complete_new_file_and_the_next_write_cleans_up(tmp_path):
    target = tmp_path / "results" / "metric.csv"
    target.parent.mkdir()
    rng = random.Random(0)
    version, killed_mid_write = 0, 0
    for kill in range(KILLS):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(version * 1000)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        assert writer.returncode == -signal.SIGKILL
        if target.exists():
            version = read_version(target)  # one whole version, whatever the moment of the kill
        leftovers = atomic.leftover_partials(target)
        killed_mid_write += bool(leftovers)
        assert len(leftovers) <= 1 + kill  # at most one per killed writer
        if kill % 4 == 3:  # now and then the next write happens at once: it removes what kills left
            atomic.write_csv_rows(target, [{"version": -1, "row": row, "padding": ""} for row in range(ROWS)])
            assert read_version(target) == -1
            assert atomic.leftover_partials(target) == []
            assert sorted(path.name for path in target.parent.iterdir()) == [target.name]
    # most kills must have landed inside a write, or the test proved nothing
    assert killed_mid_write >= KILLS // 2, f"only {killed_mid_write} of {KILLS} kills interrupted a write"


def test_leftover_partials_are_only_those_of_the_same_result(tmp_path):
    for name in (".a.csv.k3j_x9q2.partial", ".a.csv.bak.k3j_x9q2.partial", ".b.csv.k3j_x9q2.partial", "a.csv.k3j_x9q2.partial"):
        (tmp_path / name).write_text("left by a killed writer")
    assert [path.name for path in atomic.leftover_partials(tmp_path / "a.csv")] == [".a.csv.k3j_x9q2.partial"]
    atomic.write_text(tmp_path / "a.csv", "complete")
    assert sorted(path.name for path in tmp_path.iterdir()) == [".a.csv.bak.k3j_x9q2.partial", ".b.csv.k3j_x9q2.partial", "a.csv", "a.csv.k3j_x9q2.partial"]
    assert (tmp_path / "a.csv").read_text() == "complete"


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "table.csv"
    atomic.write_text(target, "old")
    with pytest.raises(ZeroDivisionError):
        with atomic.atomic_path(target) as temporary:
            temporary.write_text("half")
            1 / 0
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    mode = target.stat().st_mode & 0o777
    assert mode == 0o666 & ~atomic._umask(), oct(mode)  # readable by the group, as a plain open() makes it
