"""Training the global model on the parity task: Adadelta for the sub-networks, Deep-R for W_sparse.

One call trains one (architecture, p, seed). The state after every finished epoch is saved to a
resume file, so that a killed job started again continues from there and ends with the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from .checkpoint import load_trusted, save_atomic
from .dataset import PairedDigits
from .deep_r import DeepR
from .errors import TrainingDiverged
from .model import GlobalModel, ModelConfig, decide
from .seeding import derived_generators

OPTIMIZERS = ("adadelta", "adam", "sgd")
SELECTIONS = ("last", "best_test_loss")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation of one model. Deep-R's ``deep_r_lr`` and ``noise_std`` are already set for p."""

    seed: int
    epochs: int
    batch_size: int = 256
    optimizer: str = "adadelta"
    lr: float = 0.5
    rho: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    deep_r_lr: float = 0.1
    deep_r_betas: tuple[float, float] = (0.9, 0.95)
    noise_std: float = 1e-5
    l1: float = 1e-4
    reactivation_value: float = 1e-10
    checkpoint_selection: str = "last"

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.checkpoint_selection not in SELECTIONS:
            raise ValueError(f"checkpoint_selection must be one of {SELECTIONS}, got {self.checkpoint_selection!r}")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    test_share_subnetwork_0: float
    test_share_subnetwork_1: float
    n_rewired: int
    seconds: float


@dataclass
class TrainingResult:
    model: GlobalModel
    history: list[EpochRecord] = field(default_factory=list)
    selected_epoch: int = 0


def _subnetwork_optimizer(model: GlobalModel, config: TrainingConfig) -> torch.optim.Optimizer:
    params = [p for name, p in model.named_parameters() if not name.startswith("sparse.")]
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=config.lr, rho=config.rho)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    return torch.optim.SGD(params, lr=config.lr)


@torch.no_grad()
def evaluate(model: GlobalModel, data: PairedDigits, batch_size: int = 2048) -> dict[str, float]:
    """Loss, accuracy and share of decisions taken by each sub-network on the global task."""
    loss_sum, correct, chosen_by_1 = 0.0, 0, 0
    for start in range(0, len(data), batch_size):
        batch = data.subset(slice(start, start + batch_size))
        output, chooser = decide(model(batch.inputs), model.config.decision)
        loss_sum += F.cross_entropy(output, batch.target, reduction="sum").item()
        correct += (output.argmax(1) == batch.target).sum().item()
        chosen_by_1 += chooser.sum().item()
    n = len(data)
    return {"loss": loss_sum / n, "accuracy": correct / n, "share_0": 1 - chosen_by_1 / n, "share_1": chosen_by_1 / n}


def fingerprint(*parts: object) -> str:
    """Stable hash of the configuration a run depends on (to refuse resuming a different run)."""
    text = json.dumps([asdict(p) if hasattr(p, "__dataclass_fields__") else p for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_finite(value: float, what: str, model_config: ModelConfig, config: TrainingConfig, epoch: int) -> None:
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"training diverged at p={model_config.sparsity}, seed={config.seed}, epoch={epoch}: "
            f"{what} = {value}. Lower the learning rate (training.lr / deep_r.lr_range) and rerun."
        )


def resolve_device(device: str) -> torch.device:
    """``cpu``, ``cuda``, or ``auto`` (CUDA when available, else the CPU)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA GPU; use device: cpu or auto")
    return torch.device(device)


def train(
    model_config: ModelConfig,
    config: TrainingConfig,
    train_data: PairedDigits,
    test_data: PairedDigits,
    resume_path: str | Path | None = None,
    run_id: str = "",
    log=print,
    device: str = "cpu",
) -> TrainingResult:
    """Train one model; resumes from ``resume_path`` when it holds a state of the same run.

    Every random draw comes from CPU generators, so a GPU run follows the same random streams and
    differs from the CPU run only by floating-point rounding.
    """
    device = resolve_device(device)
    generators = derived_generators(config.seed)
    model = GlobalModel(model_config, generators["init"]).to(device)
    train_data, test_data = train_data.to(device), test_data.to(device)
    optimizer = _subnetwork_optimizer(model, config)
    deep_r = DeepR(
        model.sparse, config.deep_r_lr, config.deep_r_betas, config.noise_std, config.l1,
        config.reactivation_value, generators["deep_r"],
    )
    history: list[EpochRecord] = []
    best = {"loss": math.inf, "epoch": 0, "state": None}
    run_id = run_id or fingerprint(model_config, config)

    if resume_path is not None and Path(resume_path).exists():
        state = load_trusted(resume_path)
        if state.get("run_id") == run_id:
            model.load_state_dict(state["model"])  # (load_trusted maps to the CPU; copied onto device)
            optimizer.load_state_dict(state["optimizer"])
            deep_r.load_state_dict(state["deep_r"])
            for name, generator in generators.items():
                generator.set_state(state["generators"][name])
            history = [EpochRecord(**record) for record in state["history"]]
            best = state["best"]
            log(f"resuming after epoch {len(history)} from {resume_path}")
        else:
            log(f"ignoring {resume_path}: it belongs to another configuration")

    n_train = len(train_data)
    by_subnetwork = train_data.inputs.transpose(0, 1)
    for epoch in range(len(history) + 1, config.epochs + 1):
        started = time.perf_counter()
        rewired_before = deep_r.n_rewired
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        order = torch.randperm(n_train, generator=generators["batches"]).to(device)
        for start in range(0, n_train, config.batch_size):
            chosen = order[start : start + config.batch_size]
            # gathered sub-network first, so that the model's input projection needs no copy
            inputs = torch.index_select(by_subnetwork, 1, chosen).transpose(0, 1)
            target = train_data.target[chosen]
            output, _ = decide(model(inputs), model_config.decision)
            loss = F.cross_entropy(output, target)
            optimizer.zero_grad(set_to_none=True)
            model.sparse.phi.grad = None
            loss.backward()
            optimizer.step()
            deep_r.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(chosen)
                correct += (output.argmax(1) == target).sum()
        train_loss = loss_sum.item() / n_train
        _check_finite(train_loss, "training loss", model_config, config, epoch)
        for name, value in model.state_dict().items():
            if value.is_floating_point() and not torch.isfinite(value).all():
                _check_finite(float("nan"), f"weight {name}", model_config, config, epoch)
        test = evaluate(model, test_data)
        record = EpochRecord(
            epoch, train_loss, correct.item() / n_train, test["loss"], test["accuracy"],
            test["share_0"], test["share_1"], deep_r.n_rewired - rewired_before, time.perf_counter() - started,
        )
        history.append(record)
        log(
            f"epoch {epoch}/{config.epochs}: loss {record.train_loss:.4f}, train acc {record.train_accuracy:.4f}, "
            f"test acc {record.test_accuracy:.4f}, decisions by sub-network 0/1 "
            f"{record.test_share_subnetwork_0:.2f}/{record.test_share_subnetwork_1:.2f}, "
            f"rewired {record.n_rewired}, {record.seconds:.1f} s"
        )
        if config.checkpoint_selection == "best_test_loss" and test["loss"] < best["loss"]:
            best = {"loss": test["loss"], "epoch": epoch, "state": {k: v.cpu().clone() for k, v in model.state_dict().items()}}
        if resume_path is not None and epoch < config.epochs:
            save_atomic(
                {
                    "run_id": run_id,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "deep_r": deep_r.state_dict(),
                    "generators": {name: g.get_state() for name, g in generators.items()},
                    "history": [asdict(r) for r in history],
                    "best": best,
                },
                resume_path,
            )

    selected = len(history)
    if config.checkpoint_selection == "best_test_loss" and best["state"] is not None:
        model.load_state_dict(best["state"])
        selected = best["epoch"]
    return TrainingResult(model.cpu(), history, selected)
