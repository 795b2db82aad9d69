"""Section 2.1: exclusion rule, target rule and parity balance."""

import itertools

import numpy as np

from extreme_sparsity import task

ALL_PAIRS = np.array(list(itertools.product(range(10), repeat=2)))
D0, D1 = ALL_PAIRS[:, 0], ALL_PAIRS[:, 1]


def test_exclusion_rule_on_all_100_pairs():
    excluded = task.is_excluded(D0, D1)
    expected = {(a, b) for a in range(10) for b in range(10) if b == a or b == (a + 1) % 10}
    assert {tuple(pair) for pair in ALL_PAIRS[excluded]} == expected
    assert excluded.sum() == 20


def test_target_rule_on_all_100_pairs():
    target = task.global_target(D0, D1)
    for a, b, t in zip(D0, D1, target):
        same_parity = a % 2 == b % 2
        assert t == (a if same_parity else b), (a, b, t)


def test_kept_pairs_have_balanced_parity():
    kept = ~task.is_excluded(D0, D1)
    parity = task.parity_difference(D0[kept], D1[kept])
    assert kept.sum() == 80
    assert (parity == 0).sum() == (parity == 1).sum() == 40


def test_draw_pairs_excludes_and_balances_on_many_samples():
    labels = np.random.default_rng(1).integers(0, 10, 20000)
    first, partner = task.draw_pairs(labels, seed=3)
    assert not task.is_excluded(labels[first], labels[partner]).any()
    assert 0.78 < len(first) / len(labels) < 0.82
    same = (task.parity_difference(labels[first], labels[partner]) == 0).mean()
    assert abs(same - 0.5) < 0.02
    again = task.draw_pairs(labels, seed=3)
    assert np.array_equal(first, again[0]) and np.array_equal(partner, again[1])
    other = task.draw_pairs(labels, seed=4)
    assert not np.array_equal(partner[:100], other[1][:100])
