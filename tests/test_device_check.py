"""The CPU-against-GPU check command, run as a dry run (the CPU against itself) where there is no GPU."""

import dataclasses

import pytest
import torch
from defaults import model_config

from extreme_sparsity import dataset
from extreme_sparsity.model import build_model
from extreme_sparsity.tools import device_check


def test_dry_run_finds_the_cpu_identical_to_itself(real_mnist_root, capsys):
    device_check.main(
        ["--mnist-root", str(real_mnist_root), "--device", "cpu", "--sparsities", "1", "--epochs", "1",
         "--seeds", "1", "--short-steps", "3"]
    )
    out = capsys.readouterr().out
    for architecture in ("plain", "bottleneck"):
        assert f"{architecture:10s} p=1       one step, relative max difference: readouts 0.0e+00, gradients 0.0e+00 ok" in out
        assert f"{architecture:10s} p=1       3 steps: weights beyond 0.0001 relative 0.0e+00 of all ok (largest 0.0e+00)" in out
        assert f"{architecture:10s} p=1       1 epochs x 1 seeds: mean |test accuracy gap| cpu-cuda 0.0000" in out
    assert out.rstrip().endswith("device_check passed")


def test_asking_for_cuda_without_a_gpu_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="needs a CUDA GPU and torch sees none"):
        device_check.main(["--mnist-root", "nowhere"])


def test_one_ulp_up_moves_every_input_by_the_smallest_step():
    inputs = torch.tensor([[[0.5, -1.0], [3.0, 0.0]]])
    data = dataset.PairedDigits(inputs, torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, dtype=torch.long))
    moved = device_check.one_ulp_up(data).inputs
    assert (moved > inputs).all()
    assert torch.equal(moved, torch.nextafter(inputs, torch.tensor(float("inf"))))


def test_weight_agreement_counts_the_weights_beyond_tolerance():
    reference = build_model(model_config(0.01, n_hidden=4, n_inputs=3, n_classes=2), seed=0)
    other = build_model(model_config(0.01, n_hidden=4, n_inputs=3, n_classes=2), seed=0)
    assert device_check.weight_agreement(reference, other, 1e-4) == (0.0, 0.0)
    total = sum(v.numel() for v in reference.state_dict().values() if v.is_floating_point())
    with torch.no_grad():
        other.w_hh.view(-1)[0] += 1.0
    largest, share = device_check.weight_agreement(reference, other, 1e-4)
    assert largest > 1.0 and share == pytest.approx(1 / total)


def test_a_missing_config_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        device_check.main(["--device", "cpu", "--config", str(tmp_path / "absent.yaml")])
    assert "absent.yaml not found: run from the repository root, or pass --config" in capsys.readouterr().err


# The comparison rules on injected differences: the "other device" is the CPU plus a chosen
# difference, so that each rule must pass a difference within its tolerance and fail one beyond.
OTHER = "injected"


def run_with_injected_difference(monkeypatch, capsys, small_splits, step=(0.0, 0.0), weights=0.0, accuracy=0.0):
    """device_check.main on small splits, the other device differing by ``step`` (relative
    readout and gradient difference), ``weights`` (relative change of 1 % of the weights after
    training) and ``accuracy`` (added to its test accuracy). Returns (passed, output)."""
    real_train_on = device_check.train_on

    def train_on(device, model_config, training_config, train, validation, test):
        result = real_train_on("cpu", model_config, training_config, train, validation, test)
        if device == OTHER:
            with torch.no_grad():
                for value in result.model.state_dict().values():
                    if value.is_floating_point():
                        flat = value.view(-1)
                        flat[: max(1, flat.numel() // 100)] *= 1 + weights
            last = result.history[-1]
            result.history[-1] = dataclasses.replace(last, test_accuracy=last.test_accuracy + accuracy)
        return result

    monkeypatch.setattr(device_check, "train_on", train_on)
    monkeypatch.setattr(device_check, "step_difference", lambda *args: step)
    monkeypatch.setattr(device_check.mnist, "ensure_files", lambda *args, **kwargs: {})
    monkeypatch.setattr(dataset, "write_study_data", lambda *args: None)
    few = tuple(split.subset(slice(0, 768)) for split in small_splits)  # 3 steps of 256
    monkeypatch.setattr(dataset, "load_splits", lambda *args: few)
    monkeypatch.setattr(device_check.training, "resolve_device", lambda device: torch.device("cpu"))
    args = ["--device", OTHER, "--sparsities", "1", "--epochs", "1", "--seeds", "1", "--short-steps", "3"]
    try:
        device_check.main(args)
        passed = True
    except SystemExit as failed:
        passed, message = False, str(failed)
    output = capsys.readouterr().out
    return passed, output if passed else output + message


def test_differences_within_every_tolerance_pass(monkeypatch, capsys, small_splits):
    """Just inside --tolerance (1e-4, readouts and gradients), --short-tolerance (1e-4 relative on
    1 % of the weights) and --accuracy-tolerance (0.01): the check passes."""
    within = dict(step=(5e-5, 9e-5), weights=1e-6, accuracy=0.005)
    passed, output = run_with_injected_difference(monkeypatch, capsys, small_splits, **within)
    assert passed, output
    assert output.count(" ok") == 6 and "TOO" not in output


@pytest.mark.parametrize(
    "difference, named",
    [
        (dict(step=(2e-4, 0.0)), "step differs"),
        (dict(step=(0.0, 3e-4)), "step differs"),
        (dict(weights=1e-2), "weights differ after 3 steps"),  # 1 % of the weights beyond: > --short-outliers 0.1 %
        (dict(accuracy=0.05), "accuracy differs by 0.0500 on average"),
    ],
    ids=["readouts beyond", "gradients beyond", "weights beyond", "accuracy beyond"],
)
def test_a_difference_beyond_its_tolerance_fails_naming_it(monkeypatch, capsys, small_splits, difference, named):
    passed, output = run_with_injected_difference(monkeypatch, capsys, small_splits, **difference)
    assert not passed, output
    assert f"plain p=1.0: {named}" in output and f"bottleneck p=1.0: {named}" in output, output
