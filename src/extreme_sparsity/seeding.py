"""Independent random streams derived from one model seed."""

from __future__ import annotations

import numpy as np
import torch

STREAMS = ("init", "batches", "deep_r")


def derived_generators(seed: int) -> dict[str, torch.Generator]:
    """Seeded generators for initialisation, batch order and Deep-R's random choices."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0])) for name, child in zip(STREAMS, children)}


def trial_seed(seed: int, trial: int) -> int:
    """Seed of repetition ``trial`` of a trainable metric on the model of ``seed``."""
    return int(np.random.SeedSequence([seed, trial]).generate_state(1, np.uint64)[0] >> 1)
