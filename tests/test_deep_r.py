"""Deep-R invariants over many steps: exactly K active in the K slots, only active parameters move,
rewiring happens, reactivation, determinism (signs on trained checkpoints: test_trained_checkpoints.py)."""

import math

import pytest
import torch
from defaults import model_config

from extreme_sparsity.deep_r import DeepR, SparseConnections
from extreme_sparsity.model import build_model


def make(n_hidden=20, k=30, lr=0.05, noise=0.02, seed=0, l1=1e-4):
    generator = torch.Generator().manual_seed(seed)
    connections = SparseConnections(n_hidden, k, 0.1, generator)
    deep_r = DeepR(connections, lr, (0.9, 0.95), noise, l1, 1e-10, generator)
    return connections, deep_r


@pytest.mark.parametrize("k", [1, 30, 400])
def test_invariants_hold_over_many_steps(k):
    connections, deep_r = make(k=k)
    first_active = connections.active().clone()
    rewired = 0
    for step in range(300):
        weight = connections.weight()
        # a gradient that pushes a random half of the weights down, like a changing objective
        (weight * torch.randn(weight.shape, generator=torch.Generator().manual_seed(step))).sum().backward()
        rewired += deep_r.step()
        connections.phi.grad = None
        active = connections.active()
        assert active.flatten(1).sum(1).tolist() == [k, k], f"step {step}"
        slots = torch.zeros_like(active).view(2, -1).scatter_(1, connections.active_index, True)
        assert torch.equal(slots.view_as(active), active)  # the K slots are exactly the active connections
        # (signs and zero dormant weights follow from weight()'s definition here; they are checked
        # on the checkpoints training really wrote in tests/test_trained_checkpoints.py)
    if k < 400:
        assert rewired > 0
        assert not torch.equal(connections.active(), first_active)
    else:  # all connections active: rewiring can only reactivate the same ones
        assert torch.equal(connections.active(), first_active)


def test_only_active_parameters_move():
    connections, deep_r = make(noise=0.0)
    before = connections.phi.detach().clone()
    active = connections.active()
    connections.weight().sum().backward()
    connections.phi.grad += 1.0  # even a gradient on dormant entries must not move them
    deep_r.step()
    after = connections.phi.detach()
    still_dormant = ~active & ~connections.active()
    assert still_dormant.sum() > 0
    assert torch.equal(after[still_dormant], before[still_dormant])
    assert not torch.equal(after[active], before[active])


def test_reactivated_connections_start_small_with_fresh_adam_state():
    connections, deep_r = make(k=5, lr=1.0, noise=0.0)
    active = connections.active()
    connections.phi.grad = torch.where(active, 1.0, 0.0)  # one Adam step of size lr = 1 drives every active phi below 0
    n_rewired = deep_r.step()
    assert n_rewired == 10
    now = connections.active()
    assert torch.all(connections.phi.detach()[now] == 1e-10)
    assert torch.all(deep_r.exp_avg == 0) and torch.all(deep_r.steps == 0)  # every slot was handed over


def test_same_seed_same_trajectory():
    runs = []
    for _ in range(2):
        connections, deep_r = make(seed=7)
        for step in range(50):
            (connections.weight() ** 2).sum().backward()
            deep_r.step()
            connections.phi.grad = None
        runs.append(connections.phi.detach().clone())
    assert torch.equal(runs[0], runs[1])


def one_step_change(lr, gradient: bool, l1: float) -> torch.Tensor:
    """How much the active phi fall in one noiseless step with Deep-R's lr set to ``lr`` (1e-4 at start)."""
    connections, deep_r = make(lr=1e-4, noise=0.0, l1=l1)
    deep_r.lr = lr
    before = connections.phi.detach().clone()
    if gradient:
        connections.weight().sum().backward()
    assert deep_r.step() == 0
    active = connections.active()
    return (before - connections.phi.detach())[active]


def test_a_decayed_lr_scales_the_adam_step_but_not_the_l1_shrinkage():
    """The authors' StepLR decays Deep-R's Adam lr; their l1 step (and noise) use the initial lr."""
    adam_step, decayed_adam_step = one_step_change(1e-4, True, 0.0), one_step_change(5e-5, True, 0.0)
    assert adam_step.abs().min() > 0.9e-4  # Adam's first step is lr * sign(gradient)
    assert torch.allclose(decayed_adam_step, adam_step / 2, rtol=1e-3)
    shrinkage, decayed_shrinkage = one_step_change(1e-4, False, 0.05), one_step_change(5e-5, False, 0.05)
    assert torch.allclose(shrinkage, torch.full_like(shrinkage, 1e-4 * 0.05), rtol=0.02)
    assert torch.allclose(decayed_shrinkage, shrinkage, rtol=0.02)


def test_uniform_init_is_the_code_before_the_option():
    """The default draws exactly what the code drew before half_normal existed (inlined here)."""
    n, k = 30, 50
    generator = torch.Generator().manual_seed(5)
    initial = torch.empty(2, n * n).uniform_(-0.1, 0.1, generator=generator)
    index = torch.stack([torch.randperm(n * n, generator=generator)[:k] for _ in range(2)])
    phi = torch.zeros(2, n * n).scatter_(1, index, initial.gather(1, index).abs())
    for connections in (
        SparseConnections(n, k, 0.1, torch.Generator().manual_seed(5)),
        SparseConnections(n, k, 0.1, torch.Generator().manual_seed(5), "uniform", 0.3),
    ):
        assert torch.equal(connections.phi.detach().view(2, -1), phi)
        assert torch.equal(connections.sign.view(2, -1), torch.where(initial < 0, -1.0, 1.0))
        assert torch.equal(connections.active_index, index)
    # the defaults' half-normal magnitudes change W_sparse's initial draw and nothing else
    default, uniform = build_model(model_config(0.01, n_hidden=20), 1), build_model(model_config(0.01, n_hidden=20, sparse_init="uniform"), 1)
    assert default.config.sparse_init == "half_normal"
    differing = [name for name, value in uniform.state_dict().items() if not torch.equal(default.state_dict()[name], value)]
    assert differing == ["sparse.phi", "sparse.sign"]


def test_half_normal_init_draws_magnitudes_of_a_half_normal_and_fair_signs():
    n, k, std = 200, 20000, 0.2
    connections = SparseConnections(n, k, 0.1, torch.Generator().manual_seed(0), "half_normal", std)
    active = connections.active()
    assert active.flatten(1).sum(1).tolist() == [k, k]
    magnitude = connections.phi.detach()[active].double()
    # |N(0, s^2)|: mean s sqrt(2/pi), mean square s^2 (standard errors 0.3 % and 0.5 % here)
    assert magnitude.mean().item() == pytest.approx(std * math.sqrt(2 / math.pi), rel=0.015)
    assert (magnitude**2).mean().item() == pytest.approx(std**2, rel=0.03)
    assert magnitude.max().item() > 3 * std  # a uniform(-0.1, 0.1) magnitude never exceeds 0.1
    positive = connections.sign[active] > 0
    assert positive.double().mean().item() == pytest.approx(0.5, abs=0.01)
    # the sign tells nothing about the magnitude
    assert magnitude[positive].mean().item() == pytest.approx(magnitude[~positive].mean().item(), rel=0.03)


def test_model_config_threads_the_sparse_init():
    uniform = build_model(model_config(0.5, n_hidden=40, init_bound=0.1, sparse_init="uniform"), 0).sparse
    half_normal = build_model(model_config(0.5, n_hidden=40, sparse_init="half_normal", sparse_init_std=0.3), 0).sparse
    assert uniform.phi.max().item() <= 0.1
    assert half_normal.phi.detach()[half_normal.active()].mean().item() == pytest.approx(0.3 * math.sqrt(2 / math.pi), rel=0.05)
    with pytest.raises(ValueError, match="sparse_init must be one of"):
        model_config(0.1, sparse_init="normal")
    with pytest.raises(ValueError, match="sparse_init_std must be > 0"):
        model_config(0.1, sparse_init="half_normal", sparse_init_std=0.0)
