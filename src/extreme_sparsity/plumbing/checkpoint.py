"""Saving and loading checkpoints: atomic writes, and loads that never run pickled code."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from ..errors import UnsafeCheckpoint
from .atomic import atomic_path

# ModelConfig fields added after the first checkpoints were written, with the values every model
# had before them: an older checkpoint lacks them and still loads as the model it holds.
FIELDS_OF_OLDER_CHECKPOINTS = {"cell": "rnn", "leak_rate": 0.5, "sparse_init": "uniform", "sparse_init_std": 0.1}


def save_atomic(obj: dict, path: str | Path) -> None:
    """``torch.save`` to a temporary name, then rename."""
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def load_trusted(path: str | Path) -> dict:
    """Load with ``weights_only=True``; refuse (with a clear message) anything that needs unpickling code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpoint(
            f"refusing to load {path}: it is not a plain tensor checkpoint and loading it would run "
            f"arbitrary code ({str(error).splitlines()[0]}). Delete it and rerun the job that makes it."
        ) from error


def save_model(path: str | Path, model, metadata: dict) -> None:
    """Write a trained model: state dict, model config, active connections, and ``metadata``."""
    active = model.sparse.active()
    save_atomic(
        {
            "model_state": model.state_dict(),
            "model_config": model.config.to_dict(),
            # (target, source) index pairs of the active connections, per direction m->n
            "active_connections": {
                "into_subnetwork_0": active[0].nonzero(),
                "into_subnetwork_1": active[1].nonzero(),
            },
            **metadata,
        },
        path,
    )


def load_model(path: str | Path):
    """Rebuild a :class:`GlobalModel` from a checkpoint; returns ``(model, checkpoint_dict)``."""
    from ..model import GlobalModel, ModelConfig

    saved = load_trusted(path)
    config = ModelConfig(**{**FIELDS_OF_OLDER_CHECKPOINTS, **saved["model_config"]})
    model = GlobalModel(config, torch.Generator().manual_seed(0))
    model.load_state_dict(saved["model_state"])
    model.eval()
    return model, saved
