"""MNIST files (find, verify, fail clearly) and the paired-digit HDF5 file."""

import shutil

import h5py
import numpy as np
import pytest

from extreme_sparsity import dataset, mnist, task
from extreme_sparsity.errors import DatasetMismatch, MnistError
from conftest import MNIST_NAMES, write_tiny_mnist

ALL_NAMES = [f"{name}.gz" for name in MNIST_NAMES]


def test_real_mnist_is_found_verified_and_read(real_mnist_root):
    files = mnist.ensure_files(real_mnist_root, download=False)
    assert sorted(files) == sorted(ALL_NAMES)
    images, labels = mnist.read_split(files, train=True)
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist()[:3] == [5923, 6742, 5958]
    test_images, _ = mnist.read_split(files, train=False)
    assert test_images.shape == (10000, 28, 28)


def test_empty_folder_offline_names_folder_and_the_four_files(tmp_path):
    with pytest.raises(MnistError) as error:
        mnist.ensure_files(tmp_path / "nowhere", download=False)
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in message
    assert all(name in message for name in ALL_NAMES)


def test_failed_download_names_folder_and_files(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there
    with pytest.raises(MnistError, match="download failed") as error:
        mnist.ensure_files(tmp_path, download=True)
    assert str(tmp_path / "MNIST" / "raw") in str(error.value)
    assert "train-images-idx3-ubyte.gz" in str(error.value)


def test_damaged_gz_is_refused_with_its_name_and_checksum(real_mnist_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(real_mnist_root / "MNIST" / "raw", raw)
    victim = raw / "t10k-labels-idx1-ubyte.gz"
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes()[:-100])  # truncated
    with pytest.raises(MnistError, match="t10k-labels-idx1-ubyte.gz is damaged.*MD5"):
        mnist.ensure_files(tmp_path, download=False)


def test_truncated_plain_file_is_refused_with_its_name(tmp_path):
    root = write_tiny_mnist(tmp_path)
    victim = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:5000])
    files = mnist.ensure_files(root, download=False)
    with pytest.raises(MnistError, match="train-images-idx3-ubyte is not a valid MNIST images file"):
        mnist.read_split(files, train=True)


def test_paired_file_holds_consistent_pairs(paired_dataset_file, mnist_root):
    files = mnist.ensure_files(mnist_root, download=False)
    images, labels = mnist.read_split(files, train=False)
    with h5py.File(paired_dataset_file) as handle:
        test = {name: handle["test"][name][()] for name in ("images", "digits", "source_indices", "target")}
        assert handle["test"].attrs["n_kept"] == len(test["target"])
        assert handle.attrs["task_bits"] == "1"
    sources = test["source_indices"]
    assert np.array_equal(test["digits"], labels[sources])
    assert np.array_equal(test["images"][:, 1], images[sources[:, 1]])
    assert np.array_equal(test["target"], task.global_target(test["digits"][:, 0], test["digits"][:, 1]))
    assert not task.is_excluded(test["digits"][:, 0], test["digits"][:, 1]).any()
    assert 0.75 < len(sources) / len(labels) < 0.85
    assert np.array_equal(np.sort(sources[:, 0]), np.unique(sources[:, 0]))  # each sample is D0 at most once


def test_loaded_split_is_normalised_and_flat(paired_dataset_file):
    split = dataset.load(paired_dataset_file, "train", 0.1307, 0.3081)
    assert split.inputs.shape[1:] == (2, 784) and split.inputs.dtype.is_floating_point
    assert split.inputs.min().item() == pytest.approx(-0.1307 / 0.3081, rel=1e-5)
    assert split.labels("digit1").tolist() == split.digits[:, 1].tolist()
    with pytest.raises(ValueError, match="unknown task"):
        split.labels("digit2")


def test_validation_pairs_use_only_held_out_training_images(paired_dataset_file, mnist_root):
    files = mnist.ensure_files(mnist_root, download=False)
    _, labels = mnist.read_split(files, train=True)
    with h5py.File(paired_dataset_file) as handle:
        sources = {split: handle[split]["source_indices"][()] for split in ("train", "validation")}
        validation_digits = handle["validation"]["digits"][()]
    train_images, validation_images = set(sources["train"].ravel()), set(sources["validation"].ravel())
    assert not train_images & validation_images  # no image on both sides
    held_out = 6000 if len(labels) == 60000 else 100
    assert len(validation_images) > 0.75 * held_out and validation_images <= set(range(len(labels)))
    assert np.array_equal(validation_digits, labels[sources["validation"]])
    assert not task.is_excluded(validation_digits[:, 0], validation_digits[:, 1]).any()


def test_validation_split_is_seeded_and_sized():
    kept, held_out = dataset.validation_images(1000, 100, seed=4)
    assert len(held_out) == 100 and len(kept) == 900 and not set(kept) & set(held_out)
    again, _ = dataset.validation_images(1000, 100, seed=4)
    other, _ = dataset.validation_images(1000, 100, seed=5)
    assert np.array_equal(kept, again) and not np.array_equal(kept, other)
    with pytest.raises(ValueError, match="validation_images"):
        dataset.validation_images(1000, 1000, seed=4)


def test_without_validation_the_training_pairs_are_those_of_the_whole_training_set(mnist_root):
    files = mnist.ensure_files(mnist_root, download=False)
    images, labels = mnist.read_split(files, train=True)
    whole = dataset.pair_split(images, labels, (0, 0))
    assert np.array_equal(dataset.pair_mnist(files, seed=0, n_validation=0)["train"]["source_indices"], whole["source_indices"])


def test_bits_2_dataset_obeys_its_rule_and_records_its_task(tmp_path):
    files = mnist.ensure_files(write_tiny_mnist(tmp_path / "mnist", n_train=1100), download=False)
    splits = dataset.pair_mnist(files, seed=0, n_validation=100, task=task.task_for(2))
    dataset.write(tmp_path / "paired.h5", splits, {"data_seed": 0}, task=task.task_for(2))
    parity_splits = dataset.pair_mnist(files, seed=0, n_validation=100)
    with h5py.File(tmp_path / "paired.h5") as handle:
        assert handle.attrs["task_bits"] == "2"
        for split in dataset.SPLITS:
            digits, target = handle[split]["digits"][()], handle[split]["target"][()]
            first_is_target = (digits[:, 0] % 4 + digits[:, 1] % 4) % 4 < 2
            assert np.array_equal(target, np.where(first_is_target, digits[:, 0], digits[:, 1]))
            assert not task.is_excluded(digits[:, 0], digits[:, 1]).any()
            # The exclusion is the same for every task, so are the pairs; only the targets differ.
            assert np.array_equal(handle[split]["source_indices"][()], parity_splits[split]["source_indices"])


def test_stored_inputs_are_the_normalised_images_and_a_file_of_other_settings_is_refused(paired_dataset_file, tmp_path):
    """The stored inputs are the normalised images; a file normalised otherwise, or of an older
    format, is refused with what to do."""
    split = dataset.load(paired_dataset_file, "validation", 0.1307, 0.3081)
    with h5py.File(paired_dataset_file, "r") as handle:
        images = handle["validation"]["images"][()]
    expected = (images.reshape(len(images), 2, -1).astype(np.float32) / 255 - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(split.inputs.numpy(), expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(DatasetMismatch, match="mean, std"):
        dataset.load(paired_dataset_file, "train", 0.5, 0.3081)
    old = tmp_path / "old.h5"
    shutil.copy(paired_dataset_file, old)
    with h5py.File(old, "r+") as handle:
        handle.attrs["format_version"] = 3
    with pytest.raises(DatasetMismatch, match="format version 3"):
        dataset.load(old, "train", 0.1307, 0.3081)


def test_without_the_exclusion_the_file_keeps_every_pair_and_records_it(tmp_path):
    files = mnist.ensure_files(write_tiny_mnist(tmp_path / "mnist", n_train=1100), download=False)
    every = task.task_for(1, exclude_pairs=False)
    dataset.write(tmp_path / "every.h5", dataset.pair_mnist(files, seed=0, n_validation=100, task=every), {}, task=every)
    dataset.write(tmp_path / "kept.h5", dataset.pair_mnist(files, seed=0, n_validation=100), {}, task=task.PARITY)
    sizes = {"train": 1000, "validation": 100, "test": 200}  # one pair per image
    with h5py.File(tmp_path / "every.h5") as handle, h5py.File(tmp_path / "kept.h5") as kept:
        assert not handle.attrs["exclude_pairs"] and kept.attrs["exclude_pairs"]
        assert handle.attrs["task_bits"] == kept.attrs["task_bits"] == "1"
        for split, size in sizes.items():
            digits = handle[split]["digits"][()]
            assert len(digits) == size and task.is_excluded(digits[:, 0], digits[:, 1]).any()
            assert np.array_equal(handle[split]["target"][()], task.global_target(digits[:, 0], digits[:, 1]))
            assert len(kept[split]["digits"]) < size
    assert dataset.attributes(tmp_path / "every.h5")["exclude_pairs"] is False
