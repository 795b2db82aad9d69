"""Benchmark: prints one line per figure of merit, measured in this process on real MNIST.

    python -m extreme_sparsity.bench --mnist-root data [--threads 1]

Useful FLOPs of one training sample (multiply-add = 2 FLOPs; N units, I inputs, T steps, C
classes, bottleneck size b; W_sparse counted as the dense N x N matrices of equation 3):

    F_in  = 2 * 2 I N               input projection, computed once per sample (both sub-networks)
    F_rec = 2 * (T - 1) * (2N)^2    recurrence, steps 2..T (h_0 = 0)
    F_out = 2 * 2 N C, or 2 * 2 (N b + b C) with the bottleneck
    total = 2 F_in + 3 F_rec + 3 F_out

The backward pass costs twice the forward for every product except the input projection, whose
input needs no gradient (once). Element-wise work (tanh, loss, optimisers) is not counted.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import dataset, mnist, task
from .checkpoint import save_model
from .deep_r import DeepR
from .metrics import bottleneck, correlation, weight_mask
from .model import ModelConfig, build_model, decide
from .sparsity import n_connections


def training_flops_per_sample(config: ModelConfig, dense_sparse: bool = True) -> float:
    """Useful FLOPs of one sample's forward and backward pass (module docstring)."""
    n, i, c, b, t = config.n_hidden, config.n_inputs, config.n_classes, config.bottleneck, config.n_steps
    recurrent_weights = 4 * n * n if dense_sparse else 2 * n * n + 2 * n_connections(config.sparsity, n)
    f_in = 2 * 2 * i * n
    f_rec = 2 * (t - 1) * recurrent_weights
    f_out = 2 * 2 * (n * b + b * c) if b else 2 * 2 * n * c
    return 2 * f_in + 3 * f_rec + 3 * f_out


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


def training_throughput(
    config: ModelConfig, train: dataset.PairedDigits, batch_size: int, batches: int = 40, repeats: int = 5
) -> tuple[float, float]:
    """Samples per second of the real training step (Adadelta + Deep-R) and its useful FLOP rate as
    a fraction of the peak matmul rate, both the median over ``repeats`` windows of ``batches``.

    The peak is measured again right before each window: on a shared machine the clock and the
    neighbours change from one second to the next, and only a ratio of adjacent measurements is fair.
    """
    model = build_model(config, seed=0)
    params = [p for name, p in model.named_parameters() if not name.startswith("sparse.")]
    optimizer = torch.optim.Adadelta(params, lr=0.5, rho=0.9)
    deep_r = DeepR(model.sparse, 0.03, (0.9, 0.95), 1e-5, 1e-4, 1e-10, torch.Generator().manual_seed(0))
    by_subnetwork = train.inputs.transpose(0, 1)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    flops = training_flops_per_sample(config)
    warmup = 10

    def step(number: int) -> None:
        chosen = order[(number * batch_size) % (len(train) - batch_size) :][:batch_size]
        output, _ = decide(model(torch.index_select(by_subnetwork, 1, chosen).transpose(0, 1)), config.decision)
        loss = F.cross_entropy(output, train.target[chosen])
        optimizer.zero_grad(set_to_none=True)
        model.sparse.phi.grad = None
        loss.backward()
        optimizer.step()
        deep_r.step()

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


def timed(function, *args) -> tuple[object, float]:
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


FIXED_COST_JOB = textwrap.dedent(
    """
    import sys, time
    start = time.perf_counter()
    import torch
    from extreme_sparsity import dataset, jobs
    from extreme_sparsity.checkpoint import load_model
    from extreme_sparsity.metrics import correlation
    imported = time.perf_counter()
    train, test = dataset.load_splits(sys.argv[1], 0.1307, 0.3081)
    loaded = time.perf_counter()
    load_model(sys.argv[2])
    done = time.perf_counter()
    print(imported - start, loaded - imported, done - loaded)
    """
)

PEAK_MEMORY_JOB = textwrap.dedent(
    """
    import sys, torch
    from extreme_sparsity import dataset, training
    from extreme_sparsity.model import ModelConfig
    torch.set_num_threads(int(sys.argv[2]))
    train, validation, test = dataset.load_splits(sys.argv[1], 0.1307, 0.3081, *dataset.SPLITS)
    config = training.TrainingConfig(seed=0, epochs=1, deep_r_lr=0.03)
    training.train(ModelConfig(sparsity=0.01), config, train, validation, test, log=lambda message: None)
    """
)


def fixed_cost(dataset_path: Path, checkpoint_path: Path) -> tuple[float, list[float]]:
    """Wall time of a fresh interpreter that imports a job's modules and loads data and checkpoint."""
    start = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", FIXED_COST_JOB, str(dataset_path), str(checkpoint_path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return time.perf_counter() - start, [float(value) for value in output.split()]


def peak_memory_of_training(dataset_path: Path, threads: int) -> float:
    """Maximum resident memory (bytes) of a process that trains one epoch (plain, p = 0.01)."""
    subprocess.run([sys.executable, "-c", PEAK_MEMORY_JOB, str(dataset_path), str(threads)], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def build_dataset(mnist_root: Path, path: Path) -> None:
    files = mnist.ensure_files(mnist_root, download=False)
    dataset.write(path, dataset.pair_mnist(files, seed=0, n_validation=6000), {"data_seed": 0}, task=task.PARITY)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-root", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the workflow's jobs use 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    say = lambda text: print(text, flush=True)  # noqa: E731

    with tempfile.TemporaryDirectory() as scratch:
        data_path = Path(scratch) / "paired.h5"
        build_dataset(args.mnist_root, data_path)
        train, test = dataset.load_splits(data_path, 0.1307, 0.3081)
        peak = peak_matmul_rate()
        say(f"peak fp32 matmul (2048 x 2048, {args.threads} thread(s)): {peak / 1e9:.1f} GFLOP/s")

        for name, bottleneck_size in (("plain", 0), ("bottleneck", 5)):
            config = ModelConfig(sparsity=0.01, bottleneck=bottleneck_size)
            rate, fraction = training_throughput(config, train, 256)
            sparse_only = fraction * training_flops_per_sample(config, dense_sparse=False) / training_flops_per_sample(config)
            say(
                f"training {name}, p=0.01, batch 256, Deep-R on: {rate:,.0f} samples/s "
                f"({len(train) / rate:.2f} s per epoch of {len(train)}); useful {rate * training_flops_per_sample(config) / 1e9:.1f} "
                f"GFLOP/s = {fraction:.1%} of the peak measured beside it ({sparse_only:.1%} counting only the active W_sparse)"
            )

        model = build_model(ModelConfig(sparsity=0.01), seed=0)
        settings = weight_mask.WeightMaskSettings(momentum=0.9, weight_decay=5e-4)
        layout = weight_mask.mask_layout(model)
        _, seconds = timed(weight_mask.train_scores, model, layout, train, 0, settings, torch.Generator().manual_seed(0))
        say(f"weight-mask training: {len(train) / seconds:,.0f} samples/s ({seconds:.2f} s per mask epoch; a job trains 2 digits x 2 networks x trials of them)")

        model_b = build_model(ModelConfig(sparsity=0.01, bottleneck=5), seed=0)
        states, state_seconds = timed(lambda: (bottleneck.bottleneck_states(model_b, train), bottleneck.bottleneck_states(model_b, test)))
        _, retrain_seconds = timed(
            bottleneck.retrain_readouts, states[0], train.digits, states[1], test.digits,
            bottleneck.BottleneckSettings(), torch.Generator().manual_seed(0),
        )
        say(
            f"bottleneck retraining: {retrain_seconds / 4:.2f} s per (n, k) (5 epochs, the 4 trained together "
            f"in {retrain_seconds:.2f} s) after {state_seconds:.2f} s computing the frozen states"
        )
        _, seconds = timed(correlation.correlation_metric, model, test, correlation.CorrelationSettings(), 0)
        say(f"correlation metric (all {len(test)} test samples, all pairs, and CKA): {seconds:.2f} s per model")

        checkpoint_path = Path(scratch) / "model.pt"
        save_model(checkpoint_path, model, {})
        wall, parts = fixed_cost(data_path, checkpoint_path)
        say(
            f"fixed cost per job: {wall:.2f} s (interpreter start {wall - sum(parts):.2f}, imports {parts[0]:.2f}, "
            f"dataset {parts[1]:.2f}, checkpoint {parts[2]:.2f})"
        )
        say(f"peak memory of a training job (1 epoch, plain, p=0.01): {peak_memory_of_training(data_path, args.threads) / 2**30:.2f} GiB")

        cells = []
        for n_hidden in (100, 200, 400):
            config = ModelConfig(sparsity=0.01, n_hidden=n_hidden)
            rate, fraction = training_throughput(config, train, 256, batches=20, repeats=3)
            cells.append(f"N={n_hidden}: {rate:,.0f} samples/s ({fraction:.0%} of peak)")
        say("scaling with N (plain, batch 256): " + "; ".join(cells))
        cells = []
        config = ModelConfig(sparsity=0.01)
        for batch_size in (64, 256, 1024):
            rate, fraction = training_throughput(config, train, batch_size, batches=max(10, 40 * 256 // batch_size), repeats=3)
            cells.append(f"{batch_size}: {rate:,.0f} samples/s ({fraction:.0%} of peak)")
        say("scaling with batch size (plain, N=100): " + "; ".join(cells))


if __name__ == "__main__":
    main()
