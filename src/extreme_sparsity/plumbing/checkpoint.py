"""Saving and loading checkpoints: atomic writes, and loads that never run pickled code."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from ..errors import CheckpointMismatch, UnsafeCheckpoint
from .atomic import atomic_path


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
    import dataclasses

    from ..model import GlobalModel, ModelConfig

    saved = load_trusted(path)
    fields = {field.name for field in dataclasses.fields(ModelConfig)}
    missing, unknown = sorted(fields - set(saved["model_config"])), sorted(set(saved["model_config"]) - fields)
    if missing or unknown:
        raise CheckpointMismatch(
            f"{path} was written by other code: its model settings lack {missing} and have unknown {unknown}. "
            "Delete it and rerun the job that makes it (snakemake reruns it once its code changed)."
        )
    config = ModelConfig(**saved["model_config"])
    model = GlobalModel(config, torch.Generator().manual_seed(0))
    model.load_state_dict(saved["model_state"])
    model.eval()
    return model, saved
