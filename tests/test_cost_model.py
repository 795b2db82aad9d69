"""The cost model: FLOP counts against torch's own count of real steps, a study's FLOPs derived by
hand on a tiny config, and its job counts against snakemake's plan of the default study."""

import copy
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
import yaml
from conftest import REPO, copy_project
from defaults import model_config
from test_variants import _plan
from torch.utils.flop_counter import FlopCounterMode

from extreme_sparsity.model import ModelConfig, build_model, decide
from extreme_sparsity.tools import cost_model
from extreme_sparsity.tools.cost_model import training_flops_per_sample

DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def counted_flops(config: ModelConfig, batch: int) -> int:
    model = build_model(config, seed=0)
    inputs = torch.randn(batch, 2, config.n_inputs)
    with FlopCounterMode(display=False) as counter:
        output, _ = decide(model(inputs))
        F.cross_entropy(output, torch.zeros(batch, dtype=torch.long)).backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("sparse_input", ["direct", "through_recurrent"])
def test_formula_matches_the_counted_flops_of_a_training_step(cell, sparse_input):
    config = model_config(0.01, n_hidden=20, n_inputs=30, n_steps=4, cell=cell, sparse_input=sparse_input)
    batch = 8
    # the readouts are computed with one block-diagonal product: twice the useful multiply-adds
    block_diagonal_overhead = 3 * 2 * 2 * config.n_hidden * config.n_classes
    expected = (training_flops_per_sample(config, batch_size=batch) + block_diagonal_overhead) * batch
    assert counted_flops(config, batch) == pytest.approx(expected, rel=1e-12)


def test_paper_scale_count():
    direct = model_config(0.01, n_hidden=100, n_steps=5, cell="rnn", sparse_input="direct")
    assert training_flops_per_sample(direct) == 1_599_200
    sparse_only = training_flops_per_sample(direct, dense_sparse=False)
    assert sparse_only == 1_599_200 - 3 * 2 * 4 * (2 * 100 * 100 - 2 * 100)
    # W_hh W_sparse once per batch of 256: 3 x 2 x 2 N^3 / 256 more per sample
    through = training_flops_per_sample(replace(direct, sparse_input="through_recurrent"), batch_size=256)
    assert through == 1_599_200 + 3 * 4 * 100**3 / 256


def tiny_study() -> dict:
    config = copy.deepcopy(DEFAULTS)
    config["model"].update(n_hidden=10, n_steps=2, sparse_input="direct", cell="rnn")
    config["sparsity"]["values"] = [1.0]
    config["n_seeds"] = 1
    config["weight_mask_metric"].update(trials=2, supermask_control=True, q="auto", q_grid=[0.01, 0.05], epochs=1)
    config["bottleneck_metric"].update(trials=1, epochs=5)
    return config


def test_study_flops_of_a_tiny_study_derived_by_hand():
    """N = 10, T = 2, I = 784, C = 10, b = 5; 100 training, 10 validation, 20 test pairs."""
    sizes = cost_model.DataSizes(train=100, validation=10, test=20)
    parts = cost_model.study_flops(tiny_study(), sizes, {"plain": 2, "bottleneck": 3})
    f_in, f_rec, f_out = 2 * 2 * 784 * 10, 2 * 1 * 20 * 20, 2 * 2 * 10 * 10  # 31,360, 800, 400
    assert 2 * 2 * (10 * 5 + 5 * 10) == f_out  # the bottleneck's readout costs the same here
    train, forward = 2 * f_in + 3 * f_rec + 3 * f_out, f_in + f_rec + f_out  # 66,320 and 32,560
    assert parts["training"] == 2 * (100 * train + 30 * forward) + 3 * (100 * train + 30 * forward) == 38_044_000
    # 3 networks (2 trials + the control), 6 masks: input drive once per network and sample
    assert parts["weight_masks"] == 3 * 120 * f_in + 6 * 100 * 3 * (f_rec + f_out) + 6 * 20 * (f_rec + f_out) == 13_593_600
    # the calibration sweep: one network, 2 q x 2 digits
    assert parts["mask_sweeps"] == 120 * f_in + 4 * 100 * 3 * 1200 + 4 * 20 * 1200 == 5_299_200
    # frozen states (input, recurrence, the 5 bottleneck units), then 4 readouts 5 -> 10, 5 epochs
    assert parts["bottleneck"] == 120 * (f_in + f_rec + 200) + 5 * 100 * 3 * 400 + 20 * 400 == 4_491_200
    assert parts["correlation"] == 20 * (f_in + f_rec) == 643_200
    assert cost_model.floor_seconds(1e12, cores=2, peak_flops_per_core=1e11) == 5.0


def test_job_counts_are_those_snakemake_plans_for_the_default_study(tmp_path):
    project = copy_project(tmp_path / "project")
    planned, _ = _plan(project, "--config", f"mnist_root={tmp_path}/mnist")
    modelled = cost_model.study_jobs(DEFAULTS)
    other = sum(count for rule, count in planned.items() if rule not in modelled)
    assert {rule: planned.get(rule, 0) for rule in modelled if rule != "other"} == {
        rule: count for rule, count in modelled.items() if rule != "other"
    }
    assert other == modelled["other"]
    assert sum(modelled.values()) == sum(planned.values())
