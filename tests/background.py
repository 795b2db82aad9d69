"""The slow tier's long preparations, run in background threads from the start of the session.

A preparation is a session fixture whose value takes minutes to make: a workflow run, the local
SLURM cluster and the run through it, the image and the run inside it, a package install. Those
the session's tests need start as soon as the session begins, and the fast tests, which
`tests/conftest.py` orders first, run while they do: a lone workflow run on 2 cores leaves a core
idle part of the time, the SLURM run mostly waits on its status checks, the installs on the
network. A test that needs a preparation waits for it; one that failed (or skipped) fails (or
skips) every test that needs it, with its message.

Preparations run in lanes, one after another within a lane, by rank: the workflow runs share
one lane so that they do not fight over the cores. The slow tests run in the same order (the
rank of the last preparation they need), so that the tests of one workflow run go on while the
next run is made.

    @prepared("workflows", rank=2)
    def small_run(workspace: Workspace):
        '''The fixture's docstring.'''
        ...
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest


@dataclasses.dataclass(frozen=True)
class Preparation:
    name: str
    lane: str
    rank: int  # lower ranks start first, and the tests that need them run first
    make: Callable[[Workspace], object]
    needs: tuple[str, ...]


PREPARATIONS: dict[str, Preparation] = {}


def prepared(lane: str, rank: int, needs: tuple[str, ...] = ()):
    """Register ``make(workspace)`` as a preparation and return a session fixture of the same
    name whose value is what ``make`` returned. ``rank``: the order in which the preparations
    start and the slow tests run (the quickest first, so that their tests go on while the next
    is made); ``needs``: preparations started before this one."""

    def decorate(make: Callable[[Workspace], object]):
        name = make.__name__
        PREPARATIONS[name] = Preparation(name, lane, rank, make, needs)

        def fixture(preparations: Preparations):
            return preparations.result(name)

        fixture.__doc__ = make.__doc__
        return pytest.fixture(scope="session", name=name)(fixture)

    return decorate


@dataclasses.dataclass
class Workspace:
    """What a preparation is given: its own empty folder, the session's preparations (for the
    values of those it ``needs``) and a way to run subprocesses that the session can stop."""

    folder: Path
    preparations: Preparations

    @property
    def workflow_mnist(self) -> Path:
        """The synthetic digits the workflow runs of the tests train on (conftest.write_workflow_mnist)."""
        return self.preparations.workflow_mnist

    def result(self, name: str):
        return self.preparations.result(name)

    def run(self, command: list[str], timeout: float, **options) -> subprocess.CompletedProcess:
        return self.preparations.run(command, timeout, **options)

    def popen(self, command: list[str], **options):
        return self.preparations.popen(command, **options)

    def at_end(self, action: Callable[[], None]) -> None:
        """Call ``action`` when the session ends, whatever happened."""
        self.preparations.finalizers.append(action)


class Preparations:
    """The preparations started in this session, by name."""

    def __init__(self, folders: Callable[[str], Path], workflow_mnist: Path):
        self.folders = folders  # name -> a new empty folder (called in the main thread only)
        self.workflow_mnist = workflow_mnist  # the synthetic digits the workflow runs train on
        self.lanes: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
        self.futures: dict[str, concurrent.futures.Future] = {}
        self.processes: set[subprocess.Popen] = set()
        self.finalizers: list[Callable[[], None]] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.began = time.monotonic()
        self.times: dict[str, tuple[float, float]] = {}  # name -> (start, end) in seconds from began

    def start(self, name: str) -> None:
        """Queue ``name`` (after what it needs) in its lane, unless it is already queued."""
        if name in self.futures:
            return
        preparation = PREPARATIONS[name]
        for needed in preparation.needs:
            self.start(needed)
        lane = self.lanes.get(preparation.lane)
        if lane is None:
            lane = self.lanes[preparation.lane] = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=preparation.lane)
        workspace = Workspace(self.folders(name), self)
        self.futures[name] = lane.submit(self._timed, name, preparation.make, workspace)

    def _timed(self, name: str, make: Callable[[Workspace], object], workspace: Workspace):
        started = time.monotonic()
        try:
            return make(workspace)
        finally:
            self.times[name] = (started - self.began, time.monotonic() - self.began)

    def summary(self) -> list[str]:
        """When each finished preparation ran, in seconds from the start of the session."""
        ordered = sorted(self.times.items(), key=lambda item: item[1])
        return [f"{name:22s} {PREPARATIONS[name].lane:10s} {start:6.0f} s to {end:6.0f} s" for name, (start, end) in ordered]

    def result(self, name: str):
        """The value of ``name`` once made (started now if no test asked for it at the start)."""
        self.start(name)
        return self.futures[name].result()

    @contextlib.contextmanager
    def popen(self, command: list[str], **options):
        """subprocess.Popen in its own process group, which the session stops if it still runs at the end."""
        with self.lock:
            if self.stopping:
                raise RuntimeError("the test session is ending")
            process = subprocess.Popen(command, start_new_session=True, **options)
            self.processes.add(process)
        try:
            yield process
        finally:
            if process.poll() is None:
                _stop_group(process)
            with self.lock:
                self.processes.discard(process)

    def run(self, command: list[str], timeout: float, **options) -> subprocess.CompletedProcess:
        """subprocess.run with its output captured as text, stopped at ``timeout`` or with the session."""
        with self.popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _stop_group(process)
                stdout, stderr = process.communicate()
                raise AssertionError(f"{' '.join(command)} ran over {timeout} s:\n{stdout[-3000:]}\n{stderr[-3000:]}") from None
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    def stop(self) -> None:
        """At the end of the session: drop what has not started, stop what still runs (SIGTERM
        first: apt and podman clean up), wait for the lanes, then run the finalizers."""
        with self.lock:
            self.stopping = True
            running = list(self.processes)
        for lane in self.lanes.values():
            lane.shutdown(wait=False, cancel_futures=True)
        for process in running:
            _stop_group(process)
        for lane in self.lanes.values():
            lane.shutdown(wait=True)
        for action in reversed(self.finalizers):
            action()


def _stop_group(process: subprocess.Popen, grace: float = 60) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def rank_of(item: pytest.Item) -> int:
    """The rank of the last preparation a test needs (-1 for none)."""
    return max((PREPARATIONS[name].rank for name in item.fixturenames if name in PREPARATIONS), default=-1)


def start_for(preparations: Preparations, items: list[pytest.Item]) -> None:
    """Start every preparation the ``items`` need, by rank."""
    needed = {name for item in items for name in item.fixturenames if name in PREPARATIONS}
    for name in sorted(needed, key=lambda name: PREPARATIONS[name].rank):
        preparations.start(name)
