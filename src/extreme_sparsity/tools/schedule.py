"""Simulate a run of the workflow on c cores: its jobs and their order come from a snakemake dry
run (`snakemake -n --forceall ...`), with the priorities the rules give them; each job's seconds
come from a finished run's benchmark files or from the benchmark command's per-job figures.

    snakemake -n --forceall --configfile config/config.yaml > dry-run.txt
    python -m extreme_sparsity.tools.schedule dry-run.txt --benchmarks . --cores 2 8 16 64

Snakemake starts the ready jobs of highest priority whenever cores are free; the simulation does
the same (ties in the dry run's order) and reports the wall time, how busy the cores were and the
critical path: the chain of jobs that no number of cores can shorten.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

RULE_LINE = re.compile(r"^\s*(?:local)?rule (\S+):$")  # group members are indented
FIELD_LINE = re.compile(r"^\s+(\w+): (.*)$")


@dataclass
class Job:
    """One job of the dry run: its rule, wildcards, priority, threads and files."""

    jobid: int
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    priority: float = 0.0
    threads: int = 1
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    benchmark: str | None = None
    parents: tuple[int, ...] = ()


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of a dry run's output in the order printed, each with the jobs it waits for."""
    jobs: list[Job] = []
    for line in text.splitlines():
        if match := RULE_LINE.match(line):
            jobs.append(Job(jobid=-1, rule=match.group(1)))
            continue
        match = FIELD_LINE.match(line)
        if not jobs or not match:
            continue
        key, value = match.groups()
        job = jobs[-1]
        if key == "jobid":
            job.jobid = int(value)
        elif key == "wildcards":
            job.wildcards = dict(item.split("=", 1) for item in value.split(", "))
        elif key == "priority":
            job.priority = float(value)
        elif key == "threads":
            job.threads = int(value)
        elif key == "input":
            job.inputs = tuple(value.split(", "))
        elif key == "output":
            job.outputs = tuple(value.split(", "))
        elif key == "benchmark":
            job.benchmark = value
    producer = {path: job.jobid for job in jobs for path in job.outputs}
    for job in jobs:
        job.parents = tuple(sorted({producer[path] for path in job.inputs if path in producer}))
    if not jobs or any(job.jobid < 0 for job in jobs):
        raise ValueError("not the output of `snakemake -n --forceall ...`: no jobs with a jobid found")
    return jobs


def base_rule(rule: str, rules: set[str]) -> str:
    """The study's rule behind a variant's ``<variant>_<rule>`` (the rule itself otherwise)."""
    matches = [name for name in rules if rule == name or rule.endswith("_" + name)]
    return max(matches, key=len) if matches else rule


@dataclass(frozen=True)
class Schedule:
    """A simulated run: wall time, when each job started and ended, and the cores' busy share."""

    wall: float
    start: dict[int, float]
    end: dict[int, float]
    utilisation: float


def simulate(jobs: list[Job], seconds: Mapping[int, float], cores: int) -> Schedule:
    """List scheduling as snakemake does it: whenever cores are free, start the ready jobs of
    highest priority (ties in the dry run's order)."""
    order = {job.jobid: index for index, job in enumerate(jobs)}
    by_id = {job.jobid: job for job in jobs}
    waiting = {job.jobid: len(job.parents) for job in jobs}
    children: dict[int, list[int]] = {job.jobid: [] for job in jobs}
    for job in jobs:
        for parent in job.parents:
            children[parent].append(job.jobid)
    ready = [(-job.priority, order[job.jobid], job.jobid) for job in jobs if not job.parents]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    start: dict[int, float] = {}
    end: dict[int, float] = {}
    now, free, busy = 0.0, cores, 0.0
    while ready or running:
        postponed = []
        while ready and free > 0:
            entry = heapq.heappop(ready)
            threads = min(by_id[entry[2]].threads, cores)
            if threads > free:
                postponed.append(entry)
                continue
            jobid = entry[2]
            start[jobid] = now
            free -= threads
            busy += threads * seconds[jobid]
            heapq.heappush(running, (now + seconds[jobid], jobid))
        for entry in postponed:
            heapq.heappush(ready, entry)
        now, jobid = heapq.heappop(running)
        end[jobid] = now
        free += min(by_id[jobid].threads, cores)
        for child in children[jobid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (-by_id[child].priority, order[child], child))
    wall = max(end.values(), default=0.0)
    return Schedule(wall, start, end, busy / (cores * wall) if wall else 1.0)


def critical_path(jobs: list[Job], seconds: Mapping[int, float]) -> tuple[float, list[Job]]:
    """The longest chain of jobs (in seconds): the wall time on unlimited cores."""
    by_id = {job.jobid: job for job in jobs}
    finish: dict[int, float] = {}
    before: dict[int, int | None] = {}

    def visit(jobid: int) -> float:
        if jobid not in finish:
            parents = by_id[jobid].parents
            latest = max(parents, key=visit, default=None)
            before[jobid] = latest
            finish[jobid] = (finish[latest] if latest is not None else 0.0) + seconds[jobid]
        return finish[jobid]

    for job in jobs:
        visit(job.jobid)
    last = max(finish, key=finish.__getitem__)
    chain = [last]
    while before[chain[-1]] is not None:
        chain.append(before[chain[-1]])
    return finish[last], [by_id[jobid] for jobid in reversed(chain)]


def benchmark_seconds(jobs: list[Job], root: Path) -> dict[int, float]:
    """Each job's wall seconds from its benchmark file under ``root`` (0 for a job without one:
    a target rule). A job whose file is missing is an error: the run is not finished."""
    seconds = {}
    for job in jobs:
        if job.benchmark is None:
            seconds[job.jobid] = 0.0
            continue
        path = root / job.benchmark
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing: replay a finished run, or give per-job seconds")
        with open(path, newline="") as handle:
            seconds[job.jobid] = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
    return seconds


def modelled_seconds(
    jobs: list[Job], rules: set[str], per_job: Mapping[str, float], training: Callable[[Job], float]
) -> dict[int, float]:
    """Each job's seconds from the benchmark command's figures: ``training(job)`` for a training
    job, ``per_job[rule]`` for any other, ``per_job["other"]`` for rules not named (0 without a
    benchmark file: a target rule)."""
    seconds = {}
    for job in jobs:
        rule = base_rule(job.rule, rules)
        if rule == "train_model":
            seconds[job.jobid] = training(job)
        elif job.benchmark is None:
            seconds[job.jobid] = 0.0
        else:
            seconds[job.jobid] = per_job.get(rule, per_job["other"])
    return seconds


def slowed(seconds: Mapping[int, float], cores: int, scheduler_share: float) -> dict[int, float]:
    """Job times on ``cores`` busy cores of which snakemake's own process takes ``scheduler_share``
    of one: each job gets cores / (cores + share) of a core."""
    factor = 1.0 + scheduler_share / cores
    return {jobid: value * factor for jobid, value in seconds.items()}


def table(
    jobs: list[Job], seconds: Mapping[int, float], cores: list[int], floor: Callable[[int], float] | None = None,
    scheduler_share: float = 0.0,
) -> list[str]:
    """The lines printed: per number of cores the simulated wall time, perfect packing (the
    job-seconds over the cores, or the critical path if longer), the busy share and, given
    ``floor(cores)``, the compute floor; then the critical path. With ``scheduler_share``, job
    times measured outside a run are slowed by snakemake's own process (:func:`slowed`)."""
    total = sum(seconds.values())
    length, chain = critical_path(jobs, seconds)
    lines = [f"{len(jobs)} jobs, {total:,.0f} job-seconds; critical path {length:,.0f} s"]
    header = f"{'cores':>6} {'wall':>10} {'packing':>10} {'busy':>6}"
    lines.append(header + (f" {'floor':>10} {'wall/floor':>11}" if floor else ""))
    for count in cores:
        in_run = slowed(seconds, count, scheduler_share)
        run = simulate(jobs, in_run, count)
        packing = max(total / count, length) * (1.0 + scheduler_share / count)  # every job slowed alike
        row = f"{count:>6} {run.wall / 60:>8.1f} m {packing / 60:>8.1f} m {run.utilisation:>6.0%}"
        if floor:
            row += f" {floor(count) / 60:>8.1f} m {run.wall / floor(count):>11.1f}"
        lines.append(row)
    lines.append(
        "critical path: "
        + " -> ".join(f"{job.rule}({', '.join(job.wildcards.values())}) {seconds[job.jobid]:.0f} s" for job in chain)
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dry_run", type=Path, help="output of `snakemake -n --forceall ...`")
    parser.add_argument("--benchmarks", type=Path, required=True, help="the run's folder: job seconds from its benchmark files")
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 8, 16, 64])
    args = parser.parse_args(argv)
    jobs = parse_dry_run(args.dry_run.read_text())
    print("\n".join(table(jobs, benchmark_seconds(jobs, args.benchmarks), args.cores)))


if __name__ == "__main__":
    main()
