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

from .dataset import PairedDigits
from .deep_r import DeepR
from .errors import TrainingDiverged
from .model import GlobalModel, ModelConfig, decide
from .optimizers import SGD, Adadelta, Adam, FunctionalOptimizer
from .plumbing.checkpoint import load_trusted, save_atomic
from .seeding import derived_generators

OPTIMIZERS = ("adadelta", "adam", "sgd")
STOPPING_RULES = ("fixed", "validation_target")
SELECTIONS = ("last", "best_validation", "lowest_validation_loss")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation of one model. Deep-R's ``deep_r_lr`` and ``noise_std`` are already set for p.

    ``stopping="fixed"`` trains exactly ``epochs`` epochs (Table 1). ``"validation_target"`` trains
    at least ``epochs``, then stops at the first epoch whose validation accuracy reaches
    ``target_accuracy``, after ``patience`` epochs without a better validation accuracy (None: no
    such rule), or at ``max_epochs``. Neither rule, nor the kept epoch, ever looks at the test set.

    ``lr_decay`` and ``deep_r_lr_decay`` (gamma, or None for a constant lr) multiply the lr of the
    sub-networks' optimizer and of Deep-R by gamma^k in epoch k = 0, 1, ... (torch's StepLR with
    step_size 1, as the authors' code).
    """

    seed: int
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    rho: float
    betas: tuple[float, float]
    lr_decay: float | None
    deep_r_lr: float
    deep_r_betas: tuple[float, float]
    deep_r_lr_decay: float | None
    noise_std: float
    l1: float
    reactivation_value: float
    stopping: str
    target_accuracy: float
    max_epochs: int
    patience: int | None
    checkpoint_selection: str

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.stopping not in STOPPING_RULES:
            raise ValueError(f"stopping must be one of {STOPPING_RULES}, got {self.stopping!r}")
        if self.checkpoint_selection not in SELECTIONS:
            raise ValueError(f"checkpoint_selection must be one of {SELECTIONS}, got {self.checkpoint_selection!r}")
        if self.stopping == "validation_target" and self.max_epochs < self.epochs:
            raise ValueError(f"max_epochs ({self.max_epochs}) must be at least epochs ({self.epochs})")
        for name in ("lr_decay", "deep_r_lr_decay"):
            gamma = getattr(self, name)
            if gamma is not None and not 0 < gamma <= 1:
                raise ValueError(f"{name} must be None or lie in (0, 1], got {gamma!r}")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
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
    stop_reason: str = ""


def stop_reason(validation_accuracies: list[float], config: TrainingConfig) -> str | None:
    """Why training stops after the last epoch of ``validation_accuracies``, or None to go on.

    Stopping is allowed once ``epochs`` epochs are done: the authors' code stops at or after the
    3rd epoch (its 0-based ``epoch >= 2``), epochs = 3 here. It compares the best accuracy so far
    with the target, this rule the last epoch's."""
    epoch = len(validation_accuracies)
    if epoch < config.epochs:
        return None
    if config.stopping == "fixed":
        return f"trained the fixed {config.epochs} epochs"
    if validation_accuracies[-1] >= config.target_accuracy:
        return f"validation accuracy reached the target {config.target_accuracy}"
    if epoch >= config.max_epochs:
        return f"reached max_epochs = {config.max_epochs} below the target"
    if config.patience is None:
        return None
    best_epoch = selected_epoch(validation_accuracies, "best_validation")
    if epoch - best_epoch >= config.patience:
        return f"no better validation accuracy for {config.patience} epochs (best at epoch {best_epoch})"
    return None


def selected_epoch(validation_accuracies: list[float], selection: str, validation_losses: list[float] | None = None) -> int:
    """The kept epoch (1-based): the last, or the first with the highest validation accuracy, or
    the first with the lowest validation loss."""
    if selection == "last":
        return len(validation_accuracies)
    if selection == "lowest_validation_loss":
        return min(range(len(validation_losses)), key=validation_losses.__getitem__) + 1
    return max(range(len(validation_accuracies)), key=validation_accuracies.__getitem__) + 1


def _selected(history: list[EpochRecord], selection: str) -> int:
    return selected_epoch([r.validation_accuracy for r in history], selection, [r.validation_loss for r in history])


def decayed_lr(lr: float, gamma: float | None, epoch: int) -> float:
    """The lr of epoch ``epoch`` (1-based): lr gamma^(epoch - 1), or lr when gamma is None."""
    return lr if gamma is None else lr * gamma ** (epoch - 1)


def _set_learning_rates(optimizer: FunctionalOptimizer, deep_r: DeepR, config: TrainingConfig, epoch: int) -> None:
    # Set from the epoch number, not multiplied epoch after epoch: a resumed run needs no
    # scheduler state, and without decay nothing is touched.
    if config.lr_decay is not None:
        for group in optimizer.param_groups:
            group["lr"] = decayed_lr(config.lr, config.lr_decay, epoch)
    deep_r.lr = decayed_lr(config.deep_r_lr, config.deep_r_lr_decay, epoch)


def _decayed_rates(optimizer: FunctionalOptimizer, deep_r: DeepR, config: TrainingConfig) -> str:
    """The epoch's learning rates for the log, when they decay."""
    if config.lr_decay is None and config.deep_r_lr_decay is None:
        return ""
    return f", lr {optimizer.param_groups[0]['lr']:.4g}, Deep-R lr {deep_r.lr:.4g}"


def _subnetwork_optimizer(model: GlobalModel, config: TrainingConfig) -> FunctionalOptimizer:
    params = [p for name, p in model.named_parameters() if not name.startswith("sparse.")]
    if config.optimizer == "adadelta":
        return Adadelta(params, lr=config.lr, rho=config.rho)
    if config.optimizer == "adam":
        return Adam(params, lr=config.lr, betas=config.betas)
    return SGD(params, lr=config.lr)


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


def run_identity(model_config: ModelConfig, config: TrainingConfig, **more: object) -> dict[str, str]:
    """What a resume file must match to be continued, part by part ({part: fingerprint}): the model
    and the training settings, and each part of ``more`` (the workflow adds the data and the code)."""
    parts = {"model": model_config, "training": config, **more}
    return {name: fingerprint(value) for name, value in parts.items()}


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


def training_parts(model_config: ModelConfig, config: TrainingConfig, device: torch.device | str = "cpu"):
    """What a training run starts from: the model as initialised for the seed, the sub-networks'
    optimiser, Deep-R, and the random generators (model, optimizer, deep_r, generators)."""
    generators = derived_generators(config.seed)
    model = GlobalModel(model_config, generators["init"]).to(device)
    optimizer = _subnetwork_optimizer(model, config)
    deep_r = DeepR(
        model.sparse, config.deep_r_lr, config.deep_r_betas, config.noise_std, config.l1,
        config.reactivation_value, generators["deep_r"],
    )
    return model, optimizer, deep_r, generators


def training_step(model: GlobalModel, optimizer: FunctionalOptimizer, deep_r: DeepR, inputs: torch.Tensor, target: torch.Tensor):
    """One step on a batch: the decision's cross-entropy, back-propagated, then the sub-networks'
    optimiser and Deep-R. Returns (loss, chosen output)."""
    output, _ = decide(model(inputs), model.config.decision)
    loss = F.cross_entropy(output, target)
    optimizer.zero_grad()
    model.sparse.phi.grad = None
    loss.backward()
    optimizer.step()
    deep_r.step()
    return loss, output


def _run_epoch(model, optimizer, deep_r, train_data: PairedDigits, config: TrainingConfig, generator) -> tuple[float, float]:
    """One pass over the training pairs in a seeded order; returns (mean loss, accuracy)."""
    n_train, device = len(train_data), train_data.inputs.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    order = torch.randperm(n_train, generator=generator).to(device)
    by_subnetwork = train_data.inputs.transpose(0, 1)
    for start in range(0, n_train, config.batch_size):
        chosen = order[start : start + config.batch_size]
        # gathered sub-network first, so that the model's input projection needs no copy
        inputs = torch.index_select(by_subnetwork, 1, chosen).transpose(0, 1)
        target = train_data.target[chosen]
        loss, output = training_step(model, optimizer, deep_r, inputs, target)
        with torch.no_grad():
            loss_sum += loss.detach() * len(chosen)
            correct += (output.argmax(1) == target).sum()
    return loss_sum.item() / n_train, correct.item() / n_train


def _check_weights(model: GlobalModel, model_config: ModelConfig, config: TrainingConfig, epoch: int) -> None:
    for name, value in model.state_dict().items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            _check_finite(float("nan"), f"weight {name}", model_config, config, epoch)


def train(
    model_config: ModelConfig,
    config: TrainingConfig,
    train_data: PairedDigits,
    validation_data: PairedDigits,
    test_data: PairedDigits,
    resume_path: str | Path | None = None,
    identity: dict[str, str] | None = None,
    log=print,
    device: str = "cpu",
) -> TrainingResult:
    """Train one model until the stopping rule says so; resumes from ``resume_path`` when it holds
    a state of the same run: the same ``identity`` (default: ``run_identity`` of the two configs).
    A state of another run is never continued: the log names the parts that differ.

    The validation pairs decide when to stop and which epoch is kept; the test pairs are only
    measured and logged, never used for a decision. Every random draw comes from CPU generators,
    so a GPU run follows the same random streams and differs from the CPU run only by rounding.
    """
    device = resolve_device(device)
    model, optimizer, deep_r, generators = training_parts(model_config, config, device)
    train_data, validation_data, test_data = (data.to(device) for data in (train_data, validation_data, test_data))
    history: list[EpochRecord] = []
    best = {"epoch": 0, "state": None}  # the kept epoch so far and its weights (unless selection is last)
    identity = identity or run_identity(model_config, config)

    if resume_path is not None and Path(resume_path).exists():
        state = load_trusted(resume_path)
        if state.get("identity") == identity:
            model.load_state_dict(state["model"])  # (load_trusted maps to the CPU; copied onto device)
            optimizer.load_state_dict(state["optimizer"])
            deep_r.load_state_dict(state["deep_r"])
            for name, generator in generators.items():
                generator.set_state(state["generators"][name])
            history = [EpochRecord(**record) for record in state["history"]]
            best = state["best"]
            log(f"resuming after epoch {len(history)} from {resume_path}")
        else:
            stored = state.get("identity") if isinstance(state.get("identity"), dict) else {}
            differing = [part for part in identity if stored.get(part) != identity[part]] or ["parts"]
            log(
                f"not resuming from {resume_path}: it was written by another run (other {', '.join(differing)}); "
                "training starts from epoch 1 and will overwrite it"
            )

    reason = stop_reason([r.validation_accuracy for r in history], config) if history else None
    while reason is None:
        epoch = len(history) + 1
        started, rewired_before = time.perf_counter(), deep_r.n_rewired
        _set_learning_rates(optimizer, deep_r, config, epoch)
        train_loss, train_accuracy = _run_epoch(model, optimizer, deep_r, train_data, config, generators["batches"])
        _check_finite(train_loss, "training loss", model_config, config, epoch)
        _check_weights(model, model_config, config, epoch)
        validation, test = evaluate(model, validation_data), evaluate(model, test_data)
        record = EpochRecord(
            epoch, train_loss, train_accuracy, validation["loss"], validation["accuracy"], test["loss"],
            test["accuracy"], test["share_0"], test["share_1"], deep_r.n_rewired - rewired_before,
            time.perf_counter() - started,
        )
        history.append(record)
        log(
            f"epoch {epoch}: loss {record.train_loss:.4f}, train acc {record.train_accuracy:.4f}, "
            f"validation acc {record.validation_accuracy:.4f}, test acc {record.test_accuracy:.4f}, "
            f"decisions by sub-network 0/1 {record.test_share_subnetwork_0:.2f}/{record.test_share_subnetwork_1:.2f}, "
            f"rewired {record.n_rewired}, {record.seconds:.1f} s{_decayed_rates(optimizer, deep_r, config)}"
        )
        if config.checkpoint_selection != "last" and _selected(history, config.checkpoint_selection) == epoch:
            best = {"epoch": epoch, "state": {k: v.cpu().clone() for k, v in model.state_dict().items()}}
        reason = stop_reason([r.validation_accuracy for r in history], config)
        if resume_path is not None and reason is None:
            save_atomic(
                {
                    "identity": identity,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "deep_r": deep_r.state_dict(),
                    "generators": {name: g.get_state() for name, g in generators.items()},
                    "history": [asdict(r) for r in history],
                    "best": best,
                },
                resume_path,
            )

    log(f"stopped after epoch {len(history)}: {reason}")
    selected = len(history)
    if config.checkpoint_selection != "last" and best["state"] is not None:
        model.load_state_dict(best["state"])
        selected = best["epoch"]
    return TrainingResult(model.cpu(), history, selected, reason)
