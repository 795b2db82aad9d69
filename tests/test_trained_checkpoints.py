"""Deep-R's invariants on the checkpoints the workflow really trained (the small study), for both
directions, against what can be derived independently of training: the initial network rebuilt
from the seed (its signs and its first active set) and the active set the checkpoint records.

For every model and each direction m -> n: exactly K connections are nonzero; they are the
recorded active connections and the K slots of ``active_index``; every one keeps the sign it was
drawn with at initialisation; the model the metrics load has exactly these weights. At the
sparse end the active set must have moved away from the initial one (rewiring happened), so the
comparison with the initial network is not a comparison of a network with itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from extreme_sparsity.model import GlobalModel, ModelConfig
from extreme_sparsity.plumbing import checkpoint
from extreme_sparsity.seeding import derived_generators

pytestmark = pytest.mark.slow


def checkpoints(project: Path) -> list[Path]:
    found = sorted((project / "results" / "models").glob("*/p=*/seed=*/model.pt"))
    assert found, "the small study trained no model"
    return found


def initial_network(saved: dict, seed: int) -> GlobalModel:
    """The network as training started it: the same config and the seed's initialisation stream."""
    return GlobalModel(ModelConfig(**saved["model_config"]), derived_generators(seed)["init"])


def as_set(pairs: torch.Tensor) -> set[tuple[int, int]]:
    return {tuple(pair) for pair in pairs.tolist()}


def test_every_trained_model_keeps_k_signed_connections_per_direction(small_run):
    rewired_models = 0
    for path in checkpoints(small_run[0]):
        seed = int(path.parent.name.removeprefix("seed="))
        model, saved = checkpoint.load_model(path)
        start = initial_network(saved, seed)
        state = saved["model_state"]
        k, n = model.config.n_active, model.config.n_hidden
        weight = state["sparse.sign"] * torch.relu(state["sparse.phi"])
        assert torch.equal(model.sparse.weight().detach(), weight), path  # what the metrics use
        assert torch.equal(state["sparse.sign"], start.sparse.sign), f"{path}: the sign draw changed"
        moved = False
        for direction, name in enumerate(("into_subnetwork_0", "into_subnetwork_1")):
            nonzero = weight[direction].nonzero()
            where = f"{path} {name}"
            assert len(nonzero) == k, f"{where}: {len(nonzero)} nonzero connections, K = {k}"
            assert as_set(nonzero) == as_set(saved["active_connections"][name]), f"{where}: not the recorded set"
            slots = state["sparse.active_index"][direction]
            assert as_set(torch.stack([slots // n, slots % n], 1)) == as_set(nonzero), f"{where}: not the K slots"
            rows, columns = nonzero.unbind(1)
            initial_sign = start.sparse.sign[direction][rows, columns]
            assert torch.equal(torch.sign(weight[direction][rows, columns]), initial_sign), f"{where}: a sign flipped"
            moved |= as_set(nonzero) != as_set(start.sparse.active()[direction].nonzero())
        if model.config.sparsity < 1:
            rewired_models += moved
        else:  # p = 1: every connection is active from the start to the end
            assert not moved and k == n * n
    assert rewired_models > 0, "no sparse model rewired a connection: the check above compared nothing"
