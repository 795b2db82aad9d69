"""Section 2.1: exclusion rule, target rule and parity balance; the family of tasks of controlled bandwidth."""

import itertools

import numpy as np
import pytest

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


# The bandwidth family: bits = log2 m bits about the other digit decide which digit is the target.

BITS = list(task.TASKS)
KEPT = ~task.is_excluded(D0, D1)


def other_digit_classes(bandwidth_task, own_index):
    """Other digits grouped by the decision they lead to for every own digit (all 100 pairs)."""
    first = bandwidth_task.target_is_first(D0, D1).reshape(10, 10)  # [d0, d1]
    by_other = first.T if own_index == 0 else first  # row: the other digit, column: the own digit
    groups = {}
    for other in range(10):
        groups.setdefault(tuple(by_other[other]), set()).add(other)
    return sorted(map(sorted, groups.values()))


@pytest.mark.parametrize("bits", BITS)
def test_target_rule_on_all_100_pairs_for_every_bits(bits):
    m = task.task_for(bits).n_classes
    for a, b, t in zip(D0, D1, task.task_for(bits).global_target(D0, D1)):
        assert t == (a if (a % m + b % m) % m < m / 2 else b), (a, b, t)


@pytest.mark.parametrize(
    "bits, pairs_and_targets",
    [
        (2, [(1, 3, 1), (2, 5, 5), (6, 9, 9), (8, 3, 3), (5, 0, 5)]),
        (3, [(9, 6, 6), (8, 3, 8), (7, 2, 7), (5, 3, 5), (3, 1, 1)]),
        ("digit", [(3, 8, 3), (2, 7, 7), (9, 5, 9), (4, 6, 4), (1, 4, 4)]),
    ],
)
def test_targets_by_hand(bits, pairs_and_targets):
    bandwidth_task = task.task_for(bits)
    for d0, d1, target in pairs_and_targets:
        assert bandwidth_task.global_target(d0, d1) == target and not bandwidth_task.is_excluded(d0, d1), (d0, d1)


@pytest.mark.parametrize("bits", BITS)
def test_target_is_always_one_of_the_two_digits(bits):
    target = task.task_for(bits).global_target(D0, D1)
    assert ((target == D0) | (target == D1)).all()


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("own_index", [0, 1])
def test_decision_splits_the_other_digit_into_its_m_classes(bits, own_index):
    bandwidth_task = task.task_for(bits)
    m = bandwidth_task.n_classes
    by_residue = sorted(sorted(d for d in range(10) if d % m == r) for r in range(m))
    assert other_digit_classes(bandwidth_task, own_index) == by_residue
    assert len(by_residue) == m


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("own_index", [0, 1])
def test_kept_pairs_still_tell_every_two_classes_apart(bits, own_index):
    bandwidth_task = task.task_for(bits)
    first = bandwidth_task.target_is_first(D0, D1).reshape(10, 10)
    kept = KEPT.reshape(10, 10)
    if own_index == 1:  # index [own, other] from sub-network 1's side
        first, kept = first.T, kept.T
    for other, other_too in itertools.combinations(range(10), 2):
        if bandwidth_task.digit_class(other) == bandwidth_task.digit_class(other_too):
            continue
        told_apart = kept[:, other] & kept[:, other_too] & (first[:, other] != first[:, other_too])
        assert told_apart.any(), (other, other_too)


@pytest.mark.parametrize("bits", BITS)
def test_exclusion_balances_both_outcomes(bits):
    first = task.task_for(bits).target_is_first(D0, D1)[KEPT]
    assert KEPT.sum() == 80 and first.sum() == 40 and (~first).sum() == 40


@pytest.mark.parametrize(
    "bits, n_classes, entropy",
    [
        (1, 2, 1.0),
        (2, 4, -(0.6 * np.log2(0.3) + 0.4 * np.log2(0.2))),  # classes of 3, 3, 2 and 2 digits
        (3, 8, -(0.4 * np.log2(0.2) + 0.6 * np.log2(0.1))),  # 2, 2 and six classes of 1
        ("digit", 10, np.log2(10)),
    ],
)
def test_information_content(bits, n_classes, entropy):
    bandwidth_task = task.task_for(bits)
    assert bandwidth_task.n_classes == n_classes
    assert bandwidth_task.bits == pytest.approx(np.log2(n_classes))
    assert bandwidth_task.class_entropy == pytest.approx(entropy)
    assert bandwidth_task.class_entropy <= bandwidth_task.bits + 1e-12


def test_bits_1_is_the_paper_task_by_hand():
    parity = task.task_for(1)
    assert parity is task.PARITY and parity.name == "1"
    for d0, d1, target in [(2, 4, 2), (3, 8, 8), (7, 1, 7), (0, 5, 5), (9, 2, 2), (6, 0, 6), (5, 4, 4)]:
        assert parity.global_target(d0, d1) == target, (d0, d1)
        assert not parity.is_excluded(d0, d1)
    for d0, d1 in [(4, 4), (4, 5), (9, 0), (0, 1)]:
        assert parity.is_excluded(d0, d1)


def test_bits_1_is_the_parity_rule_on_all_100_pairs():
    same_parity = D0 % 2 == D1 % 2
    expected = np.where(same_parity, D0, D1)
    assert np.array_equal(task.PARITY.global_target(D0, D1), expected)
    assert np.array_equal(task.global_target(D0, D1), expected)
    excluded = {(a, b) for a, b in ALL_PAIRS[task.PARITY.is_excluded(D0, D1)]}
    assert excluded == {(a, b) for a in range(10) for b in range(10) if (b - a) % 10 in (0, 1)}


def test_draw_pairs_of_bits_1_are_those_of_the_paper_code():
    labels = np.random.default_rng(7).integers(0, 10, 24)  # [9, 6, 6, 8, 5, 7, 8, 2, 0, 3, 2, 8, ...]
    first, partner = task.draw_pairs(labels, (5, 0), task=task.task_for(1))
    # Computed with the code before the bandwidth family existed.
    assert first.tolist() == [0, 1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23]
    assert partner.tolist() == [18, 23, 11, 9, 7, 17, 1, 12, 22, 16, 2, 15, 10, 13, 0, 5, 8]


@pytest.mark.parametrize("bits", BITS)
def test_draw_pairs_is_the_seeded_permutation_less_the_exclusion(bits):
    labels = np.random.default_rng(2).integers(0, 10, 5000)
    partner = np.random.default_rng(9).permutation(len(labels))
    difference = (labels[partner] - labels) % 10
    kept = (difference != 0) & (difference != 1)
    first, drawn = task.draw_pairs(labels, 9, task=task.task_for(bits))
    assert np.array_equal(first, np.flatnonzero(kept)) and np.array_equal(drawn, partner[kept])


def test_tasks_are_found_by_config_value_or_name():
    assert [task.task_for(bits).n_classes for bits in (1, 2, 3, "digit")] == [2, 4, 8, 10]
    for bandwidth_task in task.TASKS.values():
        assert task.task_for(bandwidth_task.name) is bandwidth_task


@pytest.mark.parametrize("bits", [0, 4, 10, "3 bits", "", None, True, 1.0, [1]])
def test_bad_bits_are_refused_with_the_allowed_values(bits):
    with pytest.raises(ValueError, match=r"task bits must be one of \[1, 2, 3, 'digit'\]"):
        task.task_for(bits)


@pytest.mark.parametrize("n_classes", [1, 3, 5, 16])
def test_only_the_supported_class_counts_make_a_task(n_classes):
    with pytest.raises(ValueError, match="n_classes must be one of"):
        task.BandwidthTask(n_classes)


@pytest.mark.parametrize("bits", BITS)
def test_without_the_exclusion_every_pair_is_kept_and_with_it_the_arrays_are_todays(bits):
    labels = np.random.default_rng(2).integers(0, 10, 5000)
    partner = np.random.default_rng(9).permutation(len(labels))
    every = task.task_for(bits, exclude_pairs=False)
    assert not every.is_excluded(D0, D1).any() and every.is_excluded(3, 3).shape == ()
    first, drawn = task.draw_pairs(labels, 9, task=every)
    assert np.array_equal(first, np.arange(len(labels))) and np.array_equal(drawn, partner)
    assert set(np.unique((labels[drawn] - labels[first]) % 10)) >= {0, 1}  # D0 = D1 and D1 = D0 + 1 stay
    assert every.name == task.task_for(bits).name and every.n_classes == task.task_for(bits).n_classes
    excluding = task.task_for(bits, exclude_pairs=True)
    assert excluding is task.task_for(bits)
    kept = ~np.isin((labels[partner] - labels) % 10, (0, 1))
    first, drawn = task.draw_pairs(labels, 9, task=excluding)
    assert np.array_equal(first, np.flatnonzero(kept)) and np.array_equal(drawn, partner[kept])
