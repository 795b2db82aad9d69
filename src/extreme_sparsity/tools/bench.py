"""Benchmark: prints one line per figure of merit, measured in this process on real MNIST, and the
cost model of the study (its compute floor and its schedule simulated on 2 to 64 cores).

    python -m extreme_sparsity.tools.bench --mnist-root data [--threads 1] [--results results]

Useful FLOPs are counted as :mod:`.cost_model` says; rates are compared with a 2048 x 2048 fp32
matrix product measured in the same process right before (the peak).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch
import yaml
from torch.utils._python_dispatch import TorchDispatchMode

from .. import dataset, mnist, training
from ..metrics import bottleneck, correlation, weight_mask
from ..model import ModelConfig, build_model
from ..plumbing import settings
from ..plumbing.checkpoint import save_model
from ..seeding import trial_seed
from ..sparsity import format_sparsity
from ..training import TrainingConfig, evaluate
from ..variants import merged
from . import cost_model, schedule
from .cost_model import training_flops_per_sample


def peak_matmul_rate(size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a size x size fp32 matrix product at the current thread count (best of repeats)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def training_steps(config: ModelConfig, training_config: TrainingConfig, train: dataset.PairedDigits, batch_size: int):
    """Training's own step (training.training_step: the sub-networks' optimiser and Deep-R as the
    study configures them) on numbered batches of ``train``: (step(number), optimizer, deep_r)."""
    model, optimizer, deep_r, _ = training.training_parts(config, training_config)
    by_subnetwork = train.inputs.transpose(0, 1)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))

    def step(number: int) -> None:
        chosen = order[(number * batch_size) % (len(train) - batch_size) :][:batch_size]
        inputs = torch.index_select(by_subnetwork, 1, chosen).transpose(0, 1)
        training.training_step(model, optimizer, deep_r, inputs, train.target[chosen])

    return step, optimizer, deep_r


def training_throughput(
    config: ModelConfig, training_config: TrainingConfig, train: dataset.PairedDigits, batch_size: int,
    batches: int = 40, repeats: int = 5,
) -> tuple[float, float]:
    """Samples per second of training's own step and its useful FLOP rate as a fraction of the
    peak matmul rate, both the median over ``repeats`` windows of ``batches``.

    The peak is measured again right before each window: on a shared machine the clock and the
    neighbours change from one second to the next, and only a ratio of adjacent measurements is fair.
    """
    step, _, _ = training_steps(config, training_config, train, batch_size)
    flops = training_flops_per_sample(config, batch_size=batch_size)
    warmup = 10
    for number in range(warmup):
        step(number)
    rates, fractions = [], []
    for repeat in range(repeats):
        peak = peak_matmul_rate(repeats=3)
        start = time.perf_counter()
        for number in range(warmup + repeat * batches, warmup + (repeat + 1) * batches):
            step(number)
        rates.append(batches * batch_size / (time.perf_counter() - start))
        fractions.append(rates[-1] * flops / peak)
    return statistics.median(rates), statistics.median(fractions)


MATRIX_PRODUCTS = frozenset(
    {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default, torch.ops.aten.baddbmm.default}
)


class MatrixProductTimer(TorchDispatchMode):
    """Inside ``with``, times every matrix product torch runs, forward and backward, as it runs:
    ``seconds`` in all and ``calls``. Everything else runs untimed (but slower, through Python)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.calls = 0.0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func not in MATRIX_PRODUCTS:
            return func(*args, **(kwargs or {}))
        start = time.perf_counter()
        result = func(*args, **(kwargs or {}))
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return result


def training_step_parts(
    config: ModelConfig, training_config: TrainingConfig, train: dataset.PairedDigits, batch_size: int,
    steps: int = 100, repeats: int = 3,
) -> dict[str, float]:
    """Seconds of one training step (``step``, the median of ``repeats`` windows of ``steps``) and
    of its parts: ``products``, its matrix products timed one by one as they run (the median over
    ``steps`` steps); ``optimizer`` and ``deep_r``, the sub-networks' optimiser step and Deep-R's
    step, each timed alone on the gradients of the last step as ``step`` is; ``rest``, what they
    leave of the step (the element-wise work of the forward and backward passes, autograd's
    bookkeeping, Python)."""
    step, optimizer, deep_r = training_steps(config, training_config, train, batch_size)
    for number in range(10):
        step(number)

    def per_step(function) -> float:
        windows = []
        for _ in range(repeats):
            start = time.perf_counter()
            for number in range(steps):
                function(number)
            windows.append((time.perf_counter() - start) / steps)
        return statistics.median(windows)

    def products(number: int) -> float:
        with MatrixProductTimer() as timer:
            step(number)
        return timer.seconds

    whole = per_step(step)
    product_seconds = statistics.median(products(number) for number in range(steps))
    optimizer_step = per_step(lambda _: optimizer.step())
    deep_r_step = per_step(lambda _: deep_r.step())
    parts = {"products": product_seconds, "optimizer": optimizer_step, "deep_r": deep_r_step}
    return {"step": whole, **parts, "rest": whole - sum(parts.values())}


def timed(function, *args) -> tuple[object, float]:
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


# What a training job does before its first step: the imports of snakemake's script preamble and
# of workflow/scripts/train_model.py, the data set, (for a metric job) a checkpoint, and its first
# optimizer (extreme_sparsity.optimizers; a torch.optim one would import torch._dynamo, 0.7 s).
JOB_START = textwrap.dedent(
    """
    import sys, time
    start = time.perf_counter()
    import torch
    from snakemake.logging import logger
    from snakemake.iocontainers import Snakemake
    from extreme_sparsity import dataset, optimizers, training
    from extreme_sparsity.plumbing import checkpoint, jobs, settings
    from extreme_sparsity.plumbing.atomic import write_csv_rows
    from extreme_sparsity.plumbing.versions import software_versions
    imported = time.perf_counter()
    splits = dataset.load_splits(sys.argv[1], 0.1307, 0.3081, *dataset.SPLITS)
    loaded = time.perf_counter()
    checkpoint.load_model(sys.argv[2])
    done = time.perf_counter()
    parameter = torch.zeros(1, requires_grad=True)
    parameter.grad = torch.ones(1)
    optimizers.SGD([parameter], lr=0.1, momentum=0.9).step()
    optimizer = time.perf_counter()
    print(imported - start, loaded - imported, done - loaded, optimizer - done)
    """
)
BARE_TORCH = "import torch"

PEAK_MEMORY_JOB = textwrap.dedent(
    """
    import dataclasses, sys, torch, yaml
    from extreme_sparsity import dataset, training
    from extreme_sparsity.plumbing import settings
    torch.set_num_threads(int(sys.argv[2]))
    config = yaml.safe_load(open(sys.argv[3]))
    train, validation, test = dataset.load_splits(sys.argv[1], 0.1307, 0.3081, *dataset.SPLITS)
    one_epoch = dataclasses.replace(settings.training_config(config, "plain", 0.01, 0), epochs=1, stopping="fixed")
    training.train(settings.model_config(config, "plain", 0.01), one_epoch, train, validation, test, log=lambda message: None)
    """
)


def _interpreters(code: str, arguments: list[str], together: int) -> tuple[float, list[str]]:
    """Wall time until ``together`` fresh interpreters started at once have all run ``code``."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", code, *arguments], stdout=subprocess.PIPE, text=True)
        for _ in range(together)
    ]
    outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError(f"a start-up probe failed: {code!r}")
    return time.perf_counter() - start, outputs


def job_start_up(dataset_path: Path, checkpoint_path: Path, together: int = 1, repeats: int = 5) -> dict:
    """Median wall time of a job's start (:data:`JOB_START`, less its first optimizer, which only
    the jobs that train something pay: ``optimizer``) and of a bare ``import torch``, measured
    alternately so that both see the same machine; with ``together``, that many start at once."""
    jobs, bare, parts = [], [], []
    for _ in range(repeats):
        seconds, outputs = _interpreters(JOB_START, [str(dataset_path), str(checkpoint_path)], together)
        jobs.append(seconds)
        parts.append([float(value) for value in outputs[0].split()])
        bare.append(_interpreters(BARE_TORCH, [], together)[0])
    job, torch_only = statistics.median(jobs), statistics.median(bare)
    imports, data, checkpoint, optimizer = (statistics.median(part[i] for part in parts) for i in range(4))
    return {
        "job": job - optimizer, "bare": torch_only, "imports": imports, "dataset": data, "checkpoint": checkpoint,
        "optimizer": optimizer,
    }


def peak_memory_of_training(dataset_path: Path, threads: int, config_path: Path) -> float:
    """Maximum resident memory (bytes) of a process that trains one epoch (plain, p = 0.01) of the
    study ``config_path`` defines."""
    subprocess.run([sys.executable, "-c", PEAK_MEMORY_JOB, str(dataset_path), str(threads), str(config_path)], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def cpu_model() -> str:
    """The CPU's model name (what every speed figure must be quoted with)."""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def study_training(config: dict, sparse_input: str | None = None, **changes) -> tuple[ModelConfig, TrainingConfig]:
    """The plain model at p = 0.01 and its training as ``config`` sets them (``sparse_input`` and
    other model ``changes`` replaced)."""
    model_config = settings.model_config(config, "plain", 0.01)
    if sparse_input is not None:
        changes["sparse_input"] = sparse_input
    return dataclasses.replace(model_config, **changes), settings.training_config(config, "plain", 0.01, 0)


def side_by_side_worker(data_path: str, config_path: str, sparse_input: str) -> None:
    """One of two processes measuring training beside the other (``--side-by-side-worker``)."""
    torch.set_num_threads(1)
    config = yaml.safe_load(Path(config_path).read_text())
    (train,) = dataset.load_splits(data_path, config["data"]["mean"], config["data"]["std"], "train")
    rate, fraction = training_throughput(*study_training(config, sparse_input), train, 256)
    print(json.dumps({"rate": rate, "fraction": fraction}))


def side_by_side(data_path: Path, config_path: Path, sparse_input: str) -> list[dict]:
    """Training rate and fraction of the peak of two processes on two cores at once, each peak
    measured beside the other process's work."""
    command = [sys.executable, "-m", "extreme_sparsity.tools.bench", "--side-by-side-worker", str(data_path), str(config_path), sparse_input]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    return [json.loads(process.communicate()[0]) for process in processes]


def finished_training(results: Path) -> list[dict] | None:
    """The rows of a finished run's training table (one per model), or None without one."""
    table = results / "aggregate" / "training.csv"
    if not table.is_file():
        return None
    with open(table, newline="") as handle:
        return list(csv.DictReader(handle))


def mean_epochs(results: Path, config: dict) -> tuple[dict[str, float], str]:
    """Epochs trained per model by architecture: from a finished run's training table when there is
    one, else the config's minimum epochs (a lower bound under validation_target)."""
    rows = finished_training(results)
    if rows is None:
        return {a: float(config["training"]["epochs"][a]) for a in config["architectures"]}, "the config's minimum epochs (no finished run found)"
    epochs = {
        architecture: statistics.mean(float(row["epochs_trained"]) for row in rows if row["architecture"] == architecture)
        for architecture in config["architectures"]
    }
    return epochs, f"mean epochs trained in {results / 'aggregate' / 'training.csv'}"


def epochs_by_model(results: Path, config: dict) -> dict[tuple[str, str], float]:
    """Mean epochs trained per (architecture, p) in a finished run's training table, else the
    config's minimum epochs."""
    minimum = {(a, p): float(config["training"]["epochs"][a]) for a in config["architectures"] for p in settings.sparsities(config)}
    rows = finished_training(results) or []
    found = {}
    for key in minimum:
        epochs = [float(row["epochs_trained"]) for row in rows if (row["architecture"], format_sparsity(float(row["p"]))) == key]
        found[key] = statistics.mean(epochs) if epochs else minimum[key]
    return found


DEFAULT_CONFIG = Path("config/config.yaml")


def study_dry_run(config_file: Path, mnist_root: Path) -> list[schedule.Job]:
    """The jobs of the study ``config_file`` defines, from snakemake's dry run of all of it."""
    command = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--configfile", str(config_file), "--config", f"mnist_root={mnist_root}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the dry run of {config_file} failed:\n{result.stderr[-2000:]}")
    return schedule.parse_dry_run(result.stdout + "\n" + result.stderr)


def scaled_seconds(function, fraction: int, *splits: dataset.PairedDigits) -> float:
    """Seconds of ``function`` on the first 1/``fraction`` of each split, times ``fraction``."""
    parts = [split.subset(slice(0, len(split) // fraction)) for split in splits]
    return timed(function, *parts)[1] * fraction


def main(argv: list[str] | None = None) -> None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--side-by-side-worker":
        return side_by_side_worker(*sys.argv[2:5])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-root", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the workflow's jobs use 1)")
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"), help="the study whose cost is modelled")
    parser.add_argument("--results", type=Path, default=Path("results"), help="a finished run's results (epochs trained)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores of the machine the study runs on")
    parser.add_argument(
        "--scheduler-share", type=float, default=0.3,
        help="cores that snakemake's own process takes while the study runs (0.29 measured on 2 Intel Xeon cores)",
    )
    args = parser.parse_args(argv)
    if not args.config.is_file():
        parser.error(f"{args.config} not found: run from the repository root, or pass --config")
    # a config file is layered on the defaults, as snakemake does with --configfile
    config = merged(yaml.safe_load(DEFAULT_CONFIG.read_text()), yaml.safe_load(args.config.read_text()) or {})
    torch.set_num_threads(args.threads)
    say = lambda text: print(text, flush=True)  # noqa: E731
    say(f"CPU: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}, {args.threads} thread(s)")

    with tempfile.TemporaryDirectory() as scratch:
        data_path = Path(scratch) / "paired.h5"
        dataset.write_study_data(data_path, mnist.ensure_files(args.mnist_root, download=False), config["data"], config["task"])
        train, validation, test = dataset.load_splits(data_path, config["data"]["mean"], config["data"]["std"], *dataset.SPLITS)
        sizes = cost_model.DataSizes(len(train), len(validation), len(test))
        peak = peak_matmul_rate()
        say(f"peak fp32 matmul (2048 x 2048, {args.threads} thread(s)): {peak / 1e9:.1f} GFLOP/s")

        default_plain, default_training = study_training(config)
        batch = default_training.batch_size
        rates = {}
        for name, model_config in (
            ("plain", default_plain),
            ("bottleneck", settings.model_config(config, "bottleneck", 0.01)),
            ("plain, sparse_input=direct", study_training(config, "direct")[0]),
        ):
            rate, fraction = training_throughput(model_config, default_training, train, batch)
            rates[name] = rate
            flops = training_flops_per_sample(model_config, batch_size=batch)
            sparse_only = fraction * training_flops_per_sample(model_config, dense_sparse=False, batch_size=batch) / flops
            say(
                f"training {name}, p=0.01, batch {batch}, Deep-R on: {rate:,.0f} samples/s "
                f"({len(train) / rate:.2f} s per epoch of {len(train)}); useful {rate * flops / 1e9:.1f} "
                f"GFLOP/s = {fraction:.1%} of the peak measured beside it ({sparse_only:.1%} counting only the active W_sparse)"
            )
        parts = training_step_parts(default_plain, default_training, train, batch)
        step_flops = training_flops_per_sample(default_plain, batch_size=batch) * batch
        peak_now = peak_matmul_rate(repeats=3)
        say(
            f"a training step (plain, p=0.01, batch {batch}): {parts['step'] * 1e3:.2f} ms = matrix products "
            f"{parts['products'] * 1e3:.2f} ms ({parts['products'] / parts['step']:.0%}; the step's useful FLOPs in their time "
            f"= {step_flops / parts['products'] / peak_now:.0%} of the peak) + optimiser step {parts['optimizer'] * 1e3:.2f} "
            f"+ Deep-R step {parts['deep_r'] * 1e3:.2f} + the rest (element-wise work of the forward and backward passes, "
            f"autograd, Python) {parts['rest'] * 1e3:.2f}; the products at the peak would take {step_flops / peak_now * 1e3:.2f} ms"
        )
        if (os.cpu_count() or 1) >= 2:
            for sparse_input in ("through_recurrent", "direct"):
                pair = side_by_side(data_path, args.config, sparse_input)
                say(
                    f"two training processes side by side (plain, {sparse_input}, 1 thread each): "
                    + ", ".join(f"{worker['rate']:,.0f} samples/s = {worker['fraction']:.1%}" for worker in pair)
                    + " of the peak each measured beside the other"
                )

        model = build_model(default_plain, seed=0)
        _, evaluation_seconds = timed(lambda: (evaluate(model, validation), evaluate(model, test)))
        say(f"evaluation after each epoch (validation and test pairs): {evaluation_seconds:.2f} s")

        mask_section = config["weight_mask_metric"]
        mask_settings = weight_mask.WeightMaskSettings.from_config(mask_section, 0.01)
        networks = mask_section["trials"] + (1 if mask_section["supermask_control"] else 0)
        requests = [weight_mask.MaskRequest(model, mask_settings, trial_seed(0, trial)) for trial in range(networks)]
        mask_job = scaled_seconds(lambda *s: weight_mask.train_masks_together(requests, *s), 8, train, test)
        mask_flops = cost_model.mask_flops(cost_model.sample_flops(default_plain), sizes, networks, 2 * networks, mask_settings.epochs)
        say(
            f"weight-mask job ({2 * networks} masks trained together, from 1/8 of the data): {mask_job:.1f} s; "
            f"useful {mask_flops / mask_job / 1e9:.1f} GFLOP/s = {mask_flops / mask_job / peak:.1%} of the peak"
        )
        sweep_requests = [
            weight_mask.MaskRequest(model, weight_mask.WeightMaskSettings.from_config(mask_section, q), trial_seed(0, 0))
            for q in mask_section["q_grid"]
        ]
        sweep_job = scaled_seconds(lambda *s: weight_mask.train_masks_together(sweep_requests, *s), 8, train, test)
        say(f"mask-sweep job ({2 * len(sweep_requests)} masks together, from 1/8 of the data): {sweep_job:.1f} s")

        bottleneck_settings = bottleneck.BottleneckSettings(**settings.bottleneck_settings(config))
        model_b = build_model(settings.model_config(config, "bottleneck", 0.01), seed=0)
        bottleneck_job = scaled_seconds(
            lambda *s: bottleneck.bottleneck_metric(model_b, *s, bottleneck_settings, 0), 8, train, test,
        )
        say(f"bottleneck-metric job ({bottleneck_settings.trials} trial(s) x 4 readouts together, from 1/8 of the data): {bottleneck_job:.1f} s")
        correlation_settings = correlation.CorrelationSettings(**config["correlation_metric"])
        _, correlation_job = timed(correlation.correlation_metric, model, test, correlation_settings, 0)
        say(f"correlation-metric job (all {len(test)} test pairs, all pairs, and CKA): {correlation_job:.2f} s")

        checkpoint_path = Path(scratch) / "model.pt"
        save_model(checkpoint_path, model, {})
        start_up = job_start_up(data_path, checkpoint_path)
        say(
            f"job start-up: {start_up['job']:.2f} s against {start_up['bare']:.2f} s for a bare `python -c \"import torch\"` "
            f"measured alternately = {start_up['job'] / start_up['bare']:.2f}x (imports {start_up['imports']:.2f}, "
            f"dataset {start_up['dataset']:.3f}, checkpoint {start_up['checkpoint']:.3f}); "
            f"a job that trains something pays {start_up['optimizer']:.2f} s more for its first optimizer"
        )
        if (os.cpu_count() or 1) >= 2:
            pair = job_start_up(data_path, checkpoint_path, together=2, repeats=3)
            say(
                f"two jobs starting together: {pair['job']:.2f} s against {pair['bare']:.2f} s for two bare torch "
                f"imports together = {pair['job'] / pair['bare']:.2f}x"
            )
        say(f"peak memory of a training job (1 epoch, plain, p=0.01): {peak_memory_of_training(data_path, args.threads, args.config) / 2**30:.2f} GiB")

        # The cost model of the configured study.
        epochs, source = mean_epochs(args.results, config)
        counts = cost_model.study_jobs(config)
        parts = cost_model.study_flops(config, sizes, epochs)
        total = sum(parts.values())
        floor = cost_model.floor_seconds(total, args.cores, peak)
        start = start_up["job"]
        trains = start + start_up["optimizer"]  # a job that trains weights, masks or readouts
        per_job = {
            "weight_mask_metric": trains + mask_job,
            "bottleneck_metric": trains + bottleneck_job,
            "correlation_metric": start + correlation_job,
            "mask_sweep": trains + sweep_job,
            "time_course_metric": trains + bottleneck_job * config["model"]["n_steps"],
            "other": start,
        }
        say(
            f"floor of the study in {args.config} ({sum(counts.values())} jobs, epochs: {source}): "
            f"{total:.3g} useful FLOPs ("
            + ", ".join(f"{name} {value:.2g}" for name, value in parts.items() if value)
            + f") / ({args.cores} cores x {peak / 1e9:.1f} GFLOP/s) = {floor / 60:.1f} min"
        )
        # The schedule of the configured study on 2 to 64 cores, priorities as the rules set them.
        by_model = epochs_by_model(args.results, config)
        per_epoch = {a: len(train) / rates[a] + evaluation_seconds for a in config["architectures"]}
        jobs = study_dry_run(args.config, args.mnist_root)
        seconds = schedule.modelled_seconds(
            jobs, set(per_job) | {"train_model"}, per_job,
            lambda job: trains + by_model[(job.wildcards["architecture"], job.wildcards["p"])] * per_epoch[job.wildcards["architecture"]],
        )
        say(
            f"simulated schedule of {args.config} (snakemake's priorities; job seconds as above, each job slowed by "
            f"snakemake's own process taking {args.scheduler_share:g} of a core):"
        )
        floor_of = lambda cores: cost_model.floor_seconds(total, cores, peak)  # noqa: E731
        for line in schedule.table(jobs, seconds, [2, 8, 16, 64], floor_of, scheduler_share=args.scheduler_share):
            say("  " + line)

        cells = []
        for n_hidden in (100, 200, 400):
            model_config, _ = study_training(config, n_hidden=n_hidden)
            rate, fraction = training_throughput(model_config, default_training, train, batch, batches=20, repeats=3)
            cells.append(f"N={n_hidden}: {rate:,.0f} samples/s ({fraction:.0%} of peak)")
        say(f"scaling with N (plain, batch {batch}): " + "; ".join(cells))
        cells = []
        for batch_size in (64, 256, 1024):
            rate, fraction = training_throughput(default_plain, default_training, train, batch_size, batches=max(10, 40 * 256 // batch_size), repeats=3)
            cells.append(f"{batch_size}: {rate:,.0f} samples/s ({fraction:.0%} of peak)")
        say(f"scaling with batch size (plain, N={default_plain.n_hidden}): " + "; ".join(cells))


if __name__ == "__main__":
    main()
