"""The benchmark's analytic FLOP count against torch's own count of a real training step."""

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from extreme_sparsity.bench import training_flops_per_sample
from extreme_sparsity.model import ModelConfig, build_model, decide


def counted_flops(config: ModelConfig, batch: int) -> int:
    model = build_model(config, seed=0)
    inputs = torch.randn(batch, 2, config.n_inputs)
    with FlopCounterMode(display=False) as counter:
        output, _ = decide(model(inputs))
        F.cross_entropy(output, torch.zeros(batch, dtype=torch.long)).backward()
    return counter.get_total_flops()


def test_formula_matches_the_counted_flops_of_a_training_step():
    config = ModelConfig(sparsity=0.01, n_hidden=20, n_inputs=30, n_steps=4)
    batch = 8
    # the readouts are computed with one block-diagonal product: twice the useful multiply-adds
    block_diagonal_overhead = 3 * 2 * 2 * config.n_hidden * config.n_classes
    expected = (training_flops_per_sample(config) + block_diagonal_overhead) * batch
    assert counted_flops(config, batch) == expected


def test_paper_scale_count():
    assert training_flops_per_sample(ModelConfig(sparsity=0.01)) == 1_599_200
    sparse_only = training_flops_per_sample(ModelConfig(sparsity=0.01), dense_sparse=False)
    assert sparse_only == 1_599_200 - 3 * 2 * 4 * (2 * 100 * 100 - 2 * 100)
