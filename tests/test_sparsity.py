"""Section 2.3 and Table 1: sparsity grid, connection counts, schedules over p, Q."""

import math

import numpy as np
import pytest

from extreme_sparsity import sparsity


def test_grid_spans_one_connection_to_all_to_all():
    grid = sparsity.sparsity_grid(100, 10)
    assert len(grid) == 10
    assert grid[0] == pytest.approx(1e-4) and grid[-1] == 1.0
    ratios = np.diff(np.log(grid))
    assert np.allclose(ratios, ratios[0], rtol=1e-3)
    assert [sparsity.n_connections(p, 100) for p in (grid[0], grid[-1])] == [1, 10000]


def test_canonical_text_round_trips():
    for p in sparsity.sparsity_grid(100, 10):
        text = sparsity.format_sparsity(p)
        assert float(text) == p and "e" not in text


@pytest.mark.parametrize("p", [0.0, -0.1, 1.5])
def test_connection_count_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match="sparsity p"):
        sparsity.n_connections(p, 100)


def test_deep_r_learning_rate_is_geometric_from_01_to_001():
    lr = lambda p: sparsity.geometric_schedule(p, 100, 0.1, 0.01)
    assert lr(1e-4) == pytest.approx(0.1) and lr(1.0) == pytest.approx(0.01)
    assert lr(1e-2) == pytest.approx(math.sqrt(0.1 * 0.01))


@pytest.mark.parametrize("shape", ["linear", "log"])
def test_noise_is_annealed_from_initial_value_to_zero(shape):
    assert sparsity.annealed_noise(1.0, 100, 0.3, shape) == 0.0
    assert sparsity.annealed_noise(1e-4, 100, 0.3, shape) == pytest.approx(0.3, rel=1e-3)
    values = [sparsity.annealed_noise(p, 100, 0.3, shape) for p in sparsity.sparsity_grid(100, 10)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_modularity_of_constructed_network_matches_equation_5():
    n, rng = 60, np.random.default_rng(0)
    groups = np.repeat([0, 1], n)
    for p in (0.02, 0.2, 0.7, 1.0):
        adjacency = np.zeros((2 * n, 2 * n))
        adjacency[:n, :n] = adjacency[n:, n:] = 1
        k = round(p * n * n)
        for rows, cols in ((slice(0, n), slice(n, 2 * n)), (slice(n, 2 * n), slice(0, n))):
            block = np.zeros(n * n)
            block[rng.choice(n * n, k, replace=False)] = 1
            adjacency[rows, cols] = block.reshape(n, n)
        q = sparsity.modularity_from_adjacency(adjacency, groups)
        assert q == pytest.approx(sparsity.modularity_analytic(p), abs=0.01)
    assert sparsity.modularity_analytic(0.0) == 0.5 and sparsity.modularity_analytic(1.0) == 0.0
