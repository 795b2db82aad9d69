"""Find, verify, download and read the MNIST files in torchvision's layout (<root>/MNIST/raw/)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np

from .errors import MnistError

# torchvision's canonical file names and MD5 sums (torchvision.datasets.MNIST.resources),
# repeated here so that checking a folder does not need the 1.5 s torchvision import.
CANONICAL_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def raw_folder(root: str | Path) -> Path:
    """torchvision's raw folder for MNIST under ``root``."""
    return Path(root) / "MNIST" / "raw"


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _how_to_fill(folder: Path) -> str:
    names = ", ".join(CANONICAL_FILES)
    return (
        f"Put the four MNIST files ({names}) in {folder}/ (torchvision layout: "
        f"<mnist_root>/MNIST/raw/), or set mnist_root in the config to a folder that holds "
        f"MNIST/raw/, or allow mnist_download on a machine with internet access."
    )


def locate_files(root: str | Path) -> tuple[dict[str, Path], list[str]]:
    """Map each canonical file to the copy present (.gz preferred, else gunzipped); list the missing.

    A .gz copy must have torchvision's MD5; a damaged one raises :class:`MnistError` at once.
    """
    folder = raw_folder(root)
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name, md5 in CANONICAL_FILES.items():
        compressed, plain = folder / name, folder / name.removesuffix(".gz")
        if compressed.is_file():
            actual = file_digest(compressed, "md5")
            if actual != md5:
                raise MnistError(
                    f"{compressed} is damaged or not the canonical MNIST file: its MD5 is {actual}, "
                    f"expected {md5}. Delete it and rerun to download it again, or replace it with "
                    f"the canonical file."
                )
            found[name] = compressed
        elif plain.is_file():
            found[name] = plain
        else:
            missing.append(name)
    return found, missing


def ensure_files(root: str | Path, download: bool) -> dict[str, Path]:
    """Return the four MNIST files under ``root``, downloading them with torchvision if allowed."""
    folder = raw_folder(root)
    found, missing = locate_files(root)
    if not missing:
        return found
    if not download:
        raise MnistError(f"MNIST files missing from {folder}/: {', '.join(missing)}. {_how_to_fill(folder)}")
    from torchvision.datasets import MNIST

    try:
        MNIST(str(root), train=True, download=True)
    except Exception as error:  # torchvision raises RuntimeError/URLError/OSError when offline
        raise MnistError(
            f"MNIST files missing from {folder}/ ({', '.join(missing)}) and the download failed "
            f"({type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}). "
            f"{_how_to_fill(folder)}"
        ) from error
    found, missing = locate_files(root)
    if missing:
        raise MnistError(f"MNIST files still missing from {folder}/ after download: {', '.join(missing)}")
    return found


def _read_idx(path: Path, kind: str) -> np.ndarray:
    """Read one IDX file (plain or .gz) with torchvision's reader, gunzipping into a temp folder."""
    from torchvision.datasets.mnist import read_image_file, read_label_file
    from torchvision.datasets.utils import extract_archive

    reader = read_image_file if kind == "images" else read_label_file
    try:
        if path.suffix == ".gz":
            with tempfile.TemporaryDirectory() as scratch:
                return reader(extract_archive(str(path), scratch)).numpy()
        return reader(str(path)).numpy()
    except Exception as error:
        raise MnistError(
            f"{path} is not a valid MNIST {kind} file ({type(error).__name__}: {error}). "
            f"Delete it and rerun to download it again, or replace it with the canonical file."
        ) from error


def read_split(files: dict[str, Path], train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images (S, 28, 28) uint8 and labels (S,) int64 of the train or test split."""
    prefix = "train" if train else "t10k"
    images_path = files[f"{prefix}-images-idx3-ubyte.gz"]
    labels_path = files[f"{prefix}-labels-idx1-ubyte.gz"]
    images = _read_idx(images_path, "images")
    labels = _read_idx(labels_path, "labels")
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise MnistError(
            f"{images_path} holds {images.shape} images but {labels_path} holds {labels.shape[0]} "
            f"labels: the files do not belong together. Replace them with the canonical MNIST files."
        )
    if labels.min() < 0 or labels.max() > 9:
        raise MnistError(f"{labels_path} holds labels outside 0-9: not an MNIST label file.")
    return images, labels.astype(np.int64)
