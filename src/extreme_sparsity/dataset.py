"""The double-digit data set: building it from MNIST into one HDF5 file, and loading it as tensors.

Each split's network inputs are stored normalised, float32, sub-network first and uncompressed, so
that a job maps them into memory (no decompression, no conversion, one copy in the page cache
for all jobs of a machine) rather than reading and converting them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from . import mnist
from .errors import DatasetMismatch
from .plumbing.atomic import atomic_path
from .task import PARITY, BandwidthTask, draw_pairs, task_for

SPLITS = ("train", "validation", "test")
FORMAT_VERSION = 4  # 3: the attribute task_bits; 4: normalised inputs stored for memory mapping
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # torchvision's MNIST examples


def pair_split(
    images: np.ndarray, labels: np.ndarray, seed, indices: np.ndarray | None = None, task: BandwidthTask = PARITY
) -> dict[str, np.ndarray]:
    """Arrays of one split of the double-digit ``task``, pairs drawn by :func:`.task.draw_pairs` among
    the MNIST samples ``indices`` (all when None); ``source_indices`` are MNIST indices."""
    indices = np.arange(len(labels)) if indices is None else np.asarray(indices)
    first, partner = draw_pairs(labels[indices], seed, task)
    sources = indices[np.stack([first, partner], axis=1)]
    digits = labels[sources]
    return {
        "images": images[sources],  # (S, 2, 28, 28) uint8: image of sub-network 0, then 1
        "digits": digits,
        "source_indices": sources,
        "target": task.global_target(digits[:, 0], digits[:, 1]),
    }


def validation_images(n_images: int, n_validation: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) MNIST indices: ``n_validation`` training images drawn with ``(seed, 2)``.

    Held out as images, not as pairs, so that no validation pair shares an image with a training pair.
    """
    if not 0 <= n_validation < n_images:
        raise ValueError(f"validation_images must lie in [0, {n_images}), got {n_validation}")
    order = np.random.default_rng((seed, 2)).permutation(n_images)
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def pair_mnist(
    files: dict[str, Path], seed: int, n_validation: int = 0, task: BandwidthTask = PARITY
) -> dict[str, dict[str, np.ndarray]]:
    """The three splits of the double-digit ``task`` from the four MNIST files.

    ``n_validation`` MNIST training images are held out for validation; the training, test and
    validation pairs are drawn with the seeds ``(seed, 0)``, ``(seed, 1)`` and ``(seed, 3)``.
    """
    images, labels = mnist.read_split(files, train=True)
    kept, held_out = validation_images(len(labels), n_validation, seed)
    splits = {"train": pair_split(images, labels, (seed, 0), kept if n_validation else None, task=task)}
    splits["validation"] = pair_split(images, labels, (seed, 3), held_out, task=task)
    images, labels = mnist.read_split(files, train=False)
    splits["test"] = pair_split(images, labels, (seed, 1), task=task)
    return splits


def normalised_inputs(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    """(S, 2, 28, 28) uint8 pixels -> (2, S, 784) float32 (pixel / 255 - mean) / std, sub-network first."""
    by_subnetwork = torch.from_numpy(images).reshape(len(images), 2, -1).transpose(0, 1).contiguous()
    return by_subnetwork.float().div_(255.0).sub_(mean).div_(std).numpy()


def write(
    path: str | Path, splits: dict[str, dict[str, np.ndarray]], attributes: dict, *, task: BandwidthTask,
    mean: float = MNIST_MEAN, std: float = MNIST_STD,
) -> None:
    """Atomically write the splits of ``task``, their inputs normalised with ``mean`` and ``std``,
    and provenance attributes to one HDF5 file.

    ``task`` has no default: a file labelled with the wrong task would go unnoticed.
    """
    with atomic_path(path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["format_version"] = FORMAT_VERSION
            handle.attrs["task_bits"] = task.name
            handle.attrs["exclude_pairs"] = bool(task.exclude_pairs)
            handle.attrs["mean"], handle.attrs["std"] = float(mean), float(std)
            for key, value in attributes.items():
                handle.attrs[key] = value
            for split, arrays in splits.items():
                group = handle.create_group(split)
                for name, array in arrays.items():
                    group.create_dataset(name, data=array, compression="gzip" if name == "images" else None)
                # contiguous and uncompressed: load() maps it
                group.create_dataset("inputs", data=normalised_inputs(arrays["images"], mean, std))
                group.attrs["n_kept"] = len(arrays["target"])


@dataclass(frozen=True)
class PairedDigits:
    """One split in memory: inputs (S, 2, 784) float32, digits (S, 2), global targets (S,).

    ``inputs`` made by :func:`load` is a view of a (2, S, 784) array: gathering a batch sub-network
    first (``inputs.transpose(0, 1)``) is one contiguous copy the model can use as it is.
    """

    inputs: torch.Tensor
    digits: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return len(self.target)

    def to(self, device: torch.device | str) -> "PairedDigits":
        return PairedDigits(self.inputs.to(device), self.digits.to(device), self.target.to(device))

    def subset(self, indices: torch.Tensor | slice) -> "PairedDigits":
        return PairedDigits(self.inputs[indices], self.digits[indices], self.target[indices])

    def labels(self, task_name: str) -> torch.Tensor:
        """Targets of a task: ``"global"`` (parity task) or ``"digit0"``/``"digit1"`` (sub-tasks)."""
        if task_name == "global":
            return self.target
        if task_name in ("digit0", "digit1"):
            return self.digits[:, int(task_name[-1])]
        raise ValueError(f"unknown task {task_name!r}")


def write_study_data(path: str | Path, files: dict[str, Path], data: dict, task: dict) -> tuple[dict[str, dict], BandwidthTask]:
    """The paired data set of a study from MNIST's ``files``, as its config's ``data`` section (seed,
    validation_images, mean, std) and ``task`` section (bits, exclude_pairs) say; the file records
    the data seed, the validation size and the SHA-256 of each MNIST file read. Returns the splits
    written and the task."""
    bandwidth_task = task_for(task["bits"], task["exclude_pairs"])
    splits = pair_mnist(files, data["seed"], data["validation_images"], task=bandwidth_task)
    attributes = {"data_seed": data["seed"], "validation_images": data["validation_images"]}
    attributes.update({f"sha256:{name}": mnist.file_digest(file, "sha256") for name, file in files.items()})
    write(path, splits, attributes, task=bandwidth_task, mean=data["mean"], std=data["std"])
    return splits, bandwidth_task


def load(path: str | Path, split: str, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> PairedDigits:
    """One split, its inputs (pixel / 255 - mean) / std flattened to 784 per sub-network, mapped
    from the file copy-on-write (the file is never changed)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with h5py.File(path, "r") as handle:
        _check_file(handle, path, mean, std)
        group = handle[split]
        digits = torch.from_numpy(group["digits"][()]).long()
        target = torch.from_numpy(group["target"][()]).long()
        stored = group["inputs"]
        offset, shape, dtype = stored.id.get_offset(), stored.shape, stored.dtype
    mapped = np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=shape) if offset is not None else np.zeros(shape, dtype)
    return PairedDigits(torch.from_numpy(mapped).transpose(0, 1), digits, target)


def _check_file(handle: h5py.File, path: str | Path, mean: float, std: float) -> None:
    version = handle.attrs.get("format_version")
    if version != FORMAT_VERSION:
        raise DatasetMismatch(
            f"{path} has format version {version}, this code reads {FORMAT_VERSION}: delete it and rerun "
            "(snakemake rebuilds it with rule prepare_dataset)"
        )
    stored = (float(handle.attrs["mean"]), float(handle.attrs["std"]))
    if stored != (float(mean), float(std)):
        raise DatasetMismatch(
            f"{path} holds inputs normalised with mean, std = {stored}, but {(mean, std)} were asked for: "
            "rerun rule prepare_dataset with the same data.mean and data.std"
        )


def attributes(path: str | Path) -> dict[str, object]:
    """The file's provenance attributes (format, task, normalisation, data seed, ...) as plain values."""
    with h5py.File(path, "r") as handle:
        return {key: value.item() if hasattr(value, "item") else str(value) for key, value in sorted(handle.attrs.items())}


def load_splits(path: str | Path, mean: float, std: float, *splits: str) -> tuple[PairedDigits, ...]:
    """The named splits of the paired-digit file, normalised; (train, test) when none is named."""
    return tuple(load(path, split, mean, std) for split in splits or ("train", "test"))
