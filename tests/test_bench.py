"""The benchmark's breakdown of a training step (tools/bench.py): its matrix-product timer counts
exactly the products of a computation derived by hand, forward and backward, and the breakdown
runs training's own step and accounts for all of it."""

from __future__ import annotations

import pytest
import torch
from defaults import model_config, training_config

from extreme_sparsity.dataset import PairedDigits
from extreme_sparsity.tools import bench


def test_the_timer_counts_every_matrix_product_forward_and_backward_and_nothing_else():
    a = torch.randn(3, 4, requires_grad=True)
    b = torch.randn(4, 5, requires_grad=True)
    with bench.MatrixProductTimer() as timer:
        (a.tanh() * 2).sum().backward()  # element-wise only
    assert timer.calls == 0 and timer.seconds == 0
    with bench.MatrixProductTimer() as timer:
        # forward: addmm, bmm; backward: addmm gives dA = g B^T and dB = A^T g (2 mm), bmm its two
        # operands' gradients (2 bmm)
        out = torch.addmm(torch.zeros(5), a, b).sum() + torch.bmm(a.unsqueeze(0), b.unsqueeze(0)).sum()
        out.backward()
    assert timer.calls == 6
    assert timer.seconds > 0


@pytest.fixture
def tiny_training():
    generator = torch.Generator().manual_seed(0)
    samples = 200
    train = PairedDigits(
        inputs=torch.randn(samples, 2, 784, generator=generator),
        digits=torch.randint(0, 10, (samples, 2), generator=generator),
        target=torch.randint(0, 10, (samples,), generator=generator),
    )
    return model_config(0.1, n_hidden=16), training_config(0.1, 0), train


def test_the_step_breakdown_times_training_s_own_step(tiny_training, monkeypatch):
    from extreme_sparsity import training

    calls = []
    real_step = training.training_step
    monkeypatch.setattr(training, "training_step", lambda *args: calls.append(1) or real_step(*args))
    parts = bench.training_step_parts(*tiny_training, batch_size=32, steps=4, repeats=1)
    # 10 warm-up steps, 4 timed whole, 4 under the product timer
    assert len(calls) == 18
    assert set(parts) == {"step", "products", "optimizer", "deep_r", "rest"}
    assert all(parts[name] > 0 for name in ("step", "products", "optimizer", "deep_r"))
    assert parts["step"] == pytest.approx(parts["products"] + parts["optimizer"] + parts["deep_r"] + parts["rest"])
