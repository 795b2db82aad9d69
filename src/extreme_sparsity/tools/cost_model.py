"""What a study costs: its useful FLOPs (the compute floor); schedule.py simulates its wall time.

Useful FLOPs of one sample (multiply-add = 2; N units, I inputs, G gates of the cell, T steps,
C classes, bottleneck b, both sub-networks; W_sparse counted as the dense N x N matrices of
equation 3, as they are computed):

    f_in  = 2 * 2 I G N                input projection, once per sample (the same at every step)
    f_rec = 2 * (T - 1) * (2GN)(2N)     steps 2..T (h_0 = 0), both sub-networks and W_sparse
    f_out = 2 * 2 N C, or 2 * 2 (N b + b C) with the bottleneck
    training  = 2 f_in + 3 f_rec + 3 f_out (+ W_hh W_sparse, once per batch, with through_recurrent)
    evaluation = f_in + f_rec + f_out

The backward pass costs twice the forward for every product except the input projection, whose
input needs no gradient (once). A mask's step (section 3.2) runs the recurrence and readout
forward and backward on an input drive computed once per network and sample. Element-wise work
(tanh, loss, optimisers, top-k) is not counted: it is what keeps a job from the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cells import cell_class
from ..model import ModelConfig
from ..plumbing.settings import ARCHITECTURES, model_config, seeds, sparsities
from ..sparsity import n_connections

# The default study's jobs that are neither training nor a metric: one prepare_dataset, and one
# of each aggregation, check and figure (counted in a dry run; tests/test_cost_model.py checks it).
OTHER_JOBS = 12


@dataclass(frozen=True)
class SampleFlops:
    """Useful FLOPs of one sample's forward pass, by part (module docstring)."""

    input: float
    recurrent: float
    readout: float
    crossing_per_batch: float  # W_hh W_sparse, forward, once per batch (through_recurrent)

    @property
    def forward(self) -> float:
        return self.input + self.recurrent + self.readout


def sample_flops(config: ModelConfig, dense_sparse: bool = True) -> SampleFlops:
    """The forward pass of one sample; ``dense_sparse=False`` counts only the active W_sparse."""
    n, i, c, b, t = config.n_hidden, config.n_inputs, config.n_classes, config.bottleneck, config.n_steps
    gates = cell_class(config.cell).n_gates
    recurrent_weights = 4 * gates * n * n if dense_sparse else 2 * gates * n * n + 2 * n_connections(config.sparsity, n)
    crossing = 2 * 2 * gates * n**3 if config.sparse_input == "through_recurrent" else 0
    return SampleFlops(
        input=2 * 2 * i * gates * n,
        recurrent=2 * (t - 1) * recurrent_weights,
        readout=2 * 2 * (n * b + b * c) if b else 2 * 2 * n * c,
        crossing_per_batch=crossing,
    )


def training_flops_per_sample(config: ModelConfig, dense_sparse: bool = True, batch_size: int | None = None) -> float:
    """Useful FLOPs of one sample's forward and backward pass; with ``batch_size``, its share of
    the once-per-batch product W_hh W_sparse (through_recurrent)."""
    flops = sample_flops(config, dense_sparse)
    per_sample = 2 * flops.input + 3 * flops.recurrent + 3 * flops.readout
    return per_sample + (3 * flops.crossing_per_batch / batch_size if batch_size else 0)


@dataclass(frozen=True)
class DataSizes:
    """Pairs per split of the double-digit data set."""

    train: int
    validation: int
    test: int


def study_jobs(config: dict) -> dict[str, int]:
    """Job counts of a study's rules (the paper study, no variants)."""
    models = len(sparsities(config)) * len(seeds(config))
    metrics = set(config["metrics"])
    jobs = {
        "train_model": models * len(config["architectures"]),
        "weight_mask_metric": models if "weight_mask" in metrics else 0,
        "bottleneck_metric": models if "bottleneck" in metrics else 0,
        "correlation_metric": models if "correlation" in metrics else 0,
        "mask_sweep": len(seeds(config)) if "weight_mask" in metrics and config["weight_mask_metric"]["q"] == "auto" else 0,
        "time_course_metric": models * len(config["time_course"]["metrics"]) if config["time_course"]["enabled"] else 0,
        "other": OTHER_JOBS,
    }
    return jobs


def model_configs(config: dict, sparsity: float) -> dict[str, ModelConfig]:
    """The model of each architecture at p."""
    return {architecture: model_config(config, architecture, sparsity) for architecture in ARCHITECTURES}


def study_flops(config: dict, sizes: DataSizes, mean_epochs: dict[str, float]) -> dict[str, float]:
    """Useful FLOPs of each part of a study: training (and its per-epoch evaluation on the
    validation and test pairs), the weight masks, the calibration's mask sweeps, the bottleneck
    readouts and the correlation metric's forward pass. ``mean_epochs``: epochs trained per model,
    by architecture."""
    jobs, batch = study_jobs(config), config["training"]["batch_size"]
    parts = dict.fromkeys(("training", "weight_masks", "mask_sweeps", "bottleneck", "correlation"), 0.0)
    masks = config["weight_mask_metric"]
    bottleneck = config["bottleneck_metric"]
    n_seeds = len(seeds(config))
    for p in sparsities(config):
        configs = model_configs(config, float(p))
        for architecture in config["architectures"]:
            flops = sample_flops(configs[architecture])
            per_epoch = sizes.train * training_flops_per_sample(configs[architecture], batch_size=batch)
            per_epoch += (sizes.validation + sizes.test) * flops.forward
            parts["training"] += n_seeds * mean_epochs[architecture] * per_epoch
        plain, with_bottleneck = sample_flops(configs["plain"]), sample_flops(configs["bottleneck"])
        if jobs["weight_mask_metric"]:
            networks = masks["trials"] + (1 if masks["supermask_control"] else 0)
            parts["weight_masks"] += n_seeds * mask_flops(plain, sizes, networks, 2 * networks, masks["epochs"])
        if jobs["bottleneck_metric"]:
            states = (sizes.train + sizes.test) * (with_bottleneck.input + with_bottleneck.recurrent + 2 * 2 * configs["bottleneck"].n_hidden * configs["bottleneck"].bottleneck)
            readouts = 4 * 2 * configs["bottleneck"].bottleneck * configs["bottleneck"].n_classes  # the 4 (n, k)
            retraining = bottleneck["trials"] * (bottleneck["epochs"] * sizes.train * 3 * readouts + sizes.test * readouts)
            parts["bottleneck"] += n_seeds * (states + retraining)
        if jobs["correlation_metric"]:
            parts["correlation"] += n_seeds * sizes.test * (plain.input + plain.recurrent)
    if jobs["mask_sweep"]:
        sparsest = sample_flops(model_configs(config, float(sparsities(config)[0]))["plain"])
        q_values = len(masks["q_grid"])
        parts["mask_sweeps"] = jobs["mask_sweep"] * mask_flops(sparsest, sizes, 1, 2 * q_values, masks["epochs"])
    return parts


def mask_flops(flops: SampleFlops, sizes: DataSizes, networks: int, masks: int, epochs: int) -> float:
    """Useful FLOPs of training `masks` masks on `networks` networks: input drive once per network
    and sample, then the masked recurrence and readout forward and backward, then evaluation."""
    drive = networks * (sizes.train + sizes.test) * flops.input
    steps = masks * epochs * sizes.train * 3 * (flops.recurrent + flops.readout)
    evaluation = masks * sizes.test * (flops.recurrent + flops.readout)
    return drive + steps + evaluation


def floor_seconds(total_flops: float, cores: int, peak_flops_per_core: float) -> float:
    """The compute floor: the useful FLOPs at the matmul peak on every core."""
    return total_flops / (cores * peak_flops_per_core)
