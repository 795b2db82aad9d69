"""From the workflow's config (config/config.yaml) to the objects one job needs.

Kept apart from the rules so that the same mapping is used by every job and tested on its own.
The workflow imports this module when it is parsed, so it does not import torch: the model and
training modules are imported only by the functions that build a job's objects (torch would cost
every snakemake process 1.4 s and 300 MB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..sparsity import annealed_noise, format_sparsity, geometric_schedule, sparsity_grid

if TYPE_CHECKING:
    from ..model import ModelConfig
    from ..training import TrainingConfig

ARCHITECTURES = ("plain", "bottleneck")


def sparsities(config: dict) -> list[str]:
    """The p values of the study as canonical strings (the p wildcard of every path)."""
    values = config["sparsity"]["values"]
    if values is None:
        values = sparsity_grid(config["model"]["n_hidden"], config["sparsity"]["grid_size"])
    return sorted({format_sparsity(p) for p in values}, key=float)


def seeds(config: dict) -> list[int]:
    """Model seeds 0 .. n_seeds - 1."""
    return list(range(config["n_seeds"]))


def model_config(config: dict, architecture: str, sparsity: float) -> ModelConfig:
    """The ModelConfig of one architecture at sparsity p."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    from ..model import ModelConfig

    model, deep_r = config["model"], config["deep_r"]
    return ModelConfig(
        sparsity=float(sparsity),
        n_hidden=model["n_hidden"],
        n_steps=model["n_steps"],
        bottleneck=model["bottleneck_size"] if architecture == "bottleneck" else 0,
        init_bound=model["init_bound"],
        decision=model["decision"],
        sparse_input=model["sparse_input"],
        cell=model["cell"],
        leak_rate=model["leak_rate"],
        sparse_init=deep_r["init_magnitude"],
        sparse_init_std=deep_r["init_std"],
    )


def training_config(config: dict, architecture: str, sparsity: float, seed: int) -> TrainingConfig:
    """The TrainingConfig of one (architecture, p, seed), with Deep-R's p-dependent values."""
    from ..training import TrainingConfig

    training, deep_r = config["training"], config["deep_r"]
    stopping = training["stopping"]
    n_hidden = config["model"]["n_hidden"]
    return TrainingConfig(
        seed=int(seed),
        epochs=training["epochs"][architecture],
        batch_size=training["batch_size"],
        optimizer=training["optimizer"],
        lr=training["lr"],
        rho=training["rho"],
        betas=tuple(training["betas"]),
        lr_decay=training["lr_decay"],
        deep_r_lr=geometric_schedule(float(sparsity), n_hidden, *deep_r["lr_range"]),
        deep_r_betas=tuple(deep_r["betas"]),
        deep_r_lr_decay=deep_r["lr_decay"],
        noise_std=annealed_noise(float(sparsity), n_hidden, deep_r["noise_std"], deep_r["noise_annealing"]),
        l1=deep_r["l1"],
        reactivation_value=deep_r["reactivation_value"],
        stopping=stopping["rule"],
        target_accuracy=stopping["target_accuracy"],
        max_epochs=stopping["max_epochs"][architecture],
        patience=stopping["patience"],
        checkpoint_selection=training["checkpoint_selection"],
    )


def bottleneck_settings(config: dict) -> dict:
    """The fields of the bottleneck metric's BottleneckSettings as plain values (a rule's params):
    section ``bottleneck_metric``, and ``model.init_bound`` for the fresh readouts, which start as
    every weight does."""
    return {**config["bottleneck_metric"], "init_bound": config["model"]["init_bound"]}
