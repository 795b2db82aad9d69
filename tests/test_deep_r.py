"""Deep-R invariants over many steps: exactly K active in the K slots, only active parameters move,
rewiring happens, reactivation, determinism (signs on trained checkpoints: test_trained_checkpoints.py)."""

import pytest
import torch

from extreme_sparsity.deep_r import DeepR, SparseConnections


def make(n_hidden=20, k=30, lr=0.05, noise=0.02, seed=0):
    generator = torch.Generator().manual_seed(seed)
    connections = SparseConnections(n_hidden, k, 0.1, generator)
    deep_r = DeepR(connections, lr, (0.9, 0.95), noise, 1e-4, 1e-10, generator)
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
