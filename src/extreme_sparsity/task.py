"""The nested parity task of section 2.1, and a family of tasks of controlled bandwidth.

Sub-network j sees digit D_j. The parity difference is P = (D0 + D1) mod 2; the global target is
D0 when the parities are the same (P = 0) and D1 when they differ (P = 1). Sub-task k is to name
D_k (equation 2). Pairs with (D1 - D0) mod 10 in {0, 1} are excluded: D0 = D1 is ambiguous, and
dropping the difference 1 as well balances the two parities.

The family generalises the parity to m classes, the class of a digit being d mod m: the target is
D0 when (D0 mod m + D1 mod m) mod m < m / 2, else D1. Deciding needs the other digit's class, so
log2 m bits about it must reach the global decision; m = 2 is the paper's task. The exclusion is
the same for every member and keeps 40 pairs of each outcome (tests/test_task.py). With
``exclude_pairs`` false (config ``task.exclude_pairs``) no pair is excluded, as the authors' code
appears to do: D0 = D1 pairs then stay, with the target the rule gives them.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

EXCLUDED_DIFFERENCES = (0, 1)
N_DIGITS = 10
SUPPORTED_CLASS_COUNTS = (2, 4, 8, N_DIGITS)


def parity_difference(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """P = (D0 + D1) mod 2: 0 for the same parity, 1 for different parities."""
    return (np.asarray(d0) + np.asarray(d1)) % 2


def is_excluded(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """True for the pairs every task leaves out: (D1 - D0) mod 10 in {0, 1}."""
    return np.isin((np.asarray(d1) - np.asarray(d0)) % N_DIGITS, EXCLUDED_DIFFERENCES)


@dataclass(frozen=True)
class BandwidthTask:
    """The task in which the other digit's class, d mod ``n_classes``, decides which digit is the target;
    the pairs of :func:`is_excluded` are left out unless ``exclude_pairs`` is false."""

    n_classes: int
    exclude_pairs: bool = True

    def __post_init__(self):
        if self.n_classes not in SUPPORTED_CLASS_COUNTS:
            raise ValueError(f"n_classes must be one of {SUPPORTED_CLASS_COUNTS}, got {self.n_classes!r}")

    @property
    def name(self) -> str:
        """The config value ``task.bits`` that names this task: "1", "2", "3" or "digit"."""
        return "digit" if self.n_classes == N_DIGITS else str(self.n_classes.bit_length() - 1)

    def digit_class(self, digit: np.ndarray) -> np.ndarray:
        return np.asarray(digit) % self.n_classes

    def target_is_first(self, d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
        """True where the global target is D0: (class(D0) + class(D1)) mod m < m / 2."""
        class_sum = (self.digit_class(d0) + self.digit_class(d1)) % self.n_classes
        return 2 * class_sum < self.n_classes

    def global_target(self, d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
        return np.where(self.target_is_first(d0, d1), d0, d1)

    def is_excluded(self, d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
        if not self.exclude_pairs:
            return np.zeros(np.broadcast(np.asarray(d0), np.asarray(d1)).shape, dtype=bool)
        return is_excluded(d0, d1)

    @property
    def bits(self) -> float:
        """log2 m: what must cross to tell every class of the other digit apart."""
        return math.log2(self.n_classes)

    @property
    def class_entropy(self) -> float:
        """Entropy (bits) of the other digit's class for uniform digits; below log2 m when class sizes differ."""
        sizes = Counter(digit % self.n_classes for digit in range(N_DIGITS)).values()
        return -sum(size / N_DIGITS * math.log2(size / N_DIGITS) for size in sizes)


TASKS = {1: BandwidthTask(2), 2: BandwidthTask(4), 3: BandwidthTask(8), "digit": BandwidthTask(N_DIGITS)}
PARITY = TASKS[1]
_BY_NAME = {task.name: task for task in TASKS.values()}


def task_for(bits: int | str, exclude_pairs: bool = True) -> BandwidthTask:
    """The task of the config values ``task.bits`` (also accepted as its name, e.g. "2") and
    ``task.exclude_pairs``."""
    task = None if isinstance(bits, bool) else _BY_NAME.get(str(bits))
    if task is None:
        raise ValueError(f"task bits must be one of {list(TASKS)}, got {bits!r}")
    return task if exclude_pairs else dataclasses.replace(task, exclude_pairs=False)


def global_target(d0: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """Same parity -> D0, different parity -> D1 (section 2.1's text; see docs/fidelity.md)."""
    return PARITY.global_target(d0, d1)


def draw_pairs(labels: np.ndarray, seed, task: BandwidthTask = PARITY) -> tuple[np.ndarray, np.ndarray]:
    """Pair every sample with a partner from a seeded permutation; drop the pairs ``task`` excludes.

    Returns the source indices (first, partner) of the kept pairs. Each sample is D0 of one
    candidate pair and D1 of one candidate pair, so every image is used about equally.
    """
    labels = np.asarray(labels)
    first = np.arange(len(labels))
    partner = np.random.default_rng(seed).permutation(len(labels))
    kept = ~task.is_excluded(labels[first], labels[partner])
    return first[kept], partner[kept]
