"""CPU against CUDA: the same models and training runs on both devices, compared figure by figure.

    python -m extreme_sparsity.tools.device_check --mnist-root data [--seeds 4] [--sparsities 1e-4 1]

Needs a CUDA GPU. For each architecture and p of ``--sparsities`` it checks, with the settings
of config/config.yaml:

1. one forward and backward pass on the same weights: readouts and gradients must agree to
   ``--tolerance`` (relative);
2. ``--short-steps`` training steps (Adadelta and Deep-R): all but ``--short-outliers`` of the
   weights must agree to ``--short-tolerance`` (relative; the outliers are connections whose phi
   came within rounding of 0, and so were rewired or reset on one device only);
3. ``--epochs`` whole epochs (default: the config's, 5 or 7) for ``--seeds`` seeds: rounding differences grow chaotically over
   thousands of steps, so the mean test-accuracy gap between CPU and GPU is judged against the gap
   between two CPU runs whose inputs differ by one unit in the last place (a rounding-sized
   change): it must be at most twice that, or at most ``--accuracy-tolerance``.

It exits with status 1 when a check fails, and prints the seconds per epoch on each device.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from .. import dataset, mnist, training
from ..model import build_model, decide
from ..plumbing import settings


def step_difference(model_config, data: dataset.PairedDigits, seed: int, device: torch.device) -> tuple[float, float]:
    """Largest relative difference of the readouts and of the gradients, CPU against ``device``."""
    results = []
    for where in (torch.device("cpu"), device):
        model = build_model(model_config, seed).to(where)
        batch = data.to(where)
        readouts = model(batch.inputs)
        output, _ = decide(readouts, model_config.decision)
        F.cross_entropy(output, batch.target).backward()
        gradients = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((readouts.detach().cpu(), gradients.cpu()))
    (cpu_out, cpu_grad), (gpu_out, gpu_grad) = results
    return relative_difference(gpu_out, cpu_out), relative_difference(gpu_grad, cpu_grad)


def relative_difference(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max |value - reference| / max |reference|."""
    return ((value - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()


def train_on(device: str, model_config, training_config, train, validation, test) -> training.TrainingResult:
    """A whole training of a fixed number of epochs (the devices are compared on the same steps)."""
    fixed = replace(training_config, stopping="fixed", checkpoint_selection="last")
    return training.train(model_config, fixed, train, validation, test, log=lambda message: None, device=device)


def one_ulp_up(data: dataset.PairedDigits) -> dataset.PairedDigits:
    """The same samples with every input moved to the next float32 up: a rounding-sized change."""
    by_subnetwork = data.inputs.transpose(0, 1)
    moved = torch.nextafter(by_subnetwork, torch.tensor(float("inf"))).contiguous()
    return dataset.PairedDigits(moved.transpose(0, 1), data.digits, data.target)


def weight_agreement(reference: torch.nn.Module, other: torch.nn.Module, tolerance: float) -> tuple[float, float]:
    """Largest |w_other - w_reference| relative to its tensor's max |w_reference|, and the share of
    weights whose relative difference exceeds ``tolerance``."""
    other_state, largest, beyond, total = other.state_dict(), 0.0, 0, 0
    for name, value in reference.state_dict().items():
        if value.is_floating_point():
            relative = (other_state[name] - value).abs() / value.abs().max().clamp_min(1e-30)
            largest = max(largest, relative.max().item())
            beyond += (relative > tolerance).sum().item()
            total += relative.numel()
    return largest, beyond / total


def same_connections(reference: torch.nn.Module, other: torch.nn.Module) -> float:
    """Jaccard index of the two models' active Deep-R connections."""
    a, b = reference.sparse.active(), other.sparse.active()
    return (a & b).sum().item() / (a | b).sum().item()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist-root", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    parser.add_argument(
        "--config", type=Path, default=Path("config/config.yaml"), help="workflow config whose settings are used"
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs per training run (default: the config's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda", help="device compared with the CPU (cpu: a dry run of this script)")
    parser.add_argument("--sparsities", type=float, nargs="+", default=[1e-4, 0.01, 1.0])
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest relative forward/gradient difference")
    parser.add_argument("--short-steps", type=int, default=20, help="training steps of the short comparison")
    parser.add_argument("--short-tolerance", type=float, default=1e-4, help="relative weight difference after them")
    parser.add_argument("--short-outliers", type=float, default=1e-3, help="share of weights allowed beyond it")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the whole-epoch comparison")
    parser.add_argument("--accuracy-tolerance", type=float, default=0.01, help="mean test accuracy gap always accepted")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("device_check needs a CUDA GPU and torch sees none")
    gpu = training.resolve_device(args.device)
    if not args.config.is_file():
        parser.error(f"{args.config} not found: run from the repository root, or pass --config")
    config = yaml.safe_load(args.config.read_text())
    name = torch.cuda.get_device_name(gpu) if gpu.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {name}, CPU threads {torch.get_num_threads()}")

    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "paired.h5"
        dataset.write_study_data(data_path, mnist.ensure_files(args.mnist_root, download=False), config["data"], config["task"])
        train, validation, test = dataset.load_splits(data_path, config["data"]["mean"], config["data"]["std"], *dataset.SPLITS)

    failures = []
    probe = test.subset(slice(0, 2048))
    for architecture in settings.ARCHITECTURES:
        for p in args.sparsities:
            model_config = settings.model_config(config, architecture, p)
            forward, gradient = step_difference(model_config, probe, args.seed, gpu)
            ok = max(forward, gradient) <= args.tolerance
            failures += [] if ok else [f"{architecture} p={p}: step differs"]
            print(
                f"{architecture:10s} p={p:<7g} one step, relative max difference: readouts {forward:.1e}, "
                f"gradients {gradient:.1e} {'ok' if ok else 'TOO LARGE'}"
            )

    threads = torch.get_num_threads()
    moved_train = one_ulp_up(train)
    for architecture in settings.ARCHITECTURES:
        for p in args.sparsities:
            model_config = settings.model_config(config, architecture, p)
            base = settings.training_config(config, architecture, p, args.seed)
            # a few steps: the two devices must still agree to rounding
            steps = train.subset(slice(0, base.batch_size * args.short_steps))
            short = replace(base, epochs=1)
            cpu, cuda = (train_on(where, model_config, short, steps, probe, probe) for where in ("cpu", args.device))
            # (a connection whose phi ends a step within rounding of 0 can be rewired, or have its
            # Adam state reset, on one device only: a few lr-sized outliers are rounding too)
            largest, outliers = weight_agreement(cpu.model, cuda.model, args.short_tolerance)
            jaccard = same_connections(cpu.model, cuda.model)
            ok = outliers <= args.short_outliers
            failures += [] if ok else [f"{architecture} p={p}: weights differ after {args.short_steps} steps"]
            print(
                f"{architecture:10s} p={p:<7g} {args.short_steps} steps: weights beyond {args.short_tolerance:g} relative "
                f"{outliers:.1e} of all {'ok' if ok else 'TOO MANY'} (largest {largest:.1e}); same active "
                f"connections {jaccard:.3f} (Jaccard)"
            )
            # whole epochs: rounding grows chaotically, so CPU-vs-GPU is judged against CPU-vs-CPU
            # with inputs one ulp apart, over several seeds
            gaps = {"cuda": [], "ulp": []}
            seconds = {"cpu": 0.0, "cuda": 0.0}
            for seed in range(args.seed, args.seed + args.seeds):
                config_seed = replace(base, seed=seed, epochs=args.epochs or base.epochs)
                started = time.perf_counter()
                cpu = train_on("cpu", model_config, config_seed, train, validation, test)
                seconds["cpu"] += time.perf_counter() - started
                started = time.perf_counter()
                cuda = train_on(args.device, model_config, config_seed, train, validation, test)
                seconds["cuda"] += time.perf_counter() - started
                moved = train_on("cpu", model_config, config_seed, moved_train, validation, test)
                accuracy = cpu.history[-1].test_accuracy
                gaps["cuda"].append(abs(cuda.history[-1].test_accuracy - accuracy))
                gaps["ulp"].append(abs(moved.history[-1].test_accuracy - accuracy))
            mean = {key: sum(values) / len(values) for key, values in gaps.items()}
            ok = mean["cuda"] <= max(args.accuracy_tolerance, 2 * mean["ulp"])
            failures += [] if ok else [f"{architecture} p={p}: accuracy differs by {mean['cuda']:.4f} on average"]
            runs = args.seeds * config_seed.epochs
            print(
                f"{architecture:10s} p={p:<7g} {config_seed.epochs} epochs x {args.seeds} seeds: mean |test accuracy gap| "
                f"cpu-cuda {mean['cuda']:.4f}, cpu-cpu with inputs 1 ulp up {mean['ulp']:.4f} "
                f"{'ok' if ok else 'TOO FAR'}; s/epoch cpu ({threads} threads) {seconds['cpu'] / runs:.2f}, "
                f"cuda {seconds['cuda'] / runs:.2f}"
            )
    if failures:
        sys.exit("device_check FAILED: " + "; ".join(failures))
    print("device_check passed")


if __name__ == "__main__":
    main()
