"""The CPU-against-GPU check command, run as a dry run (the CPU against itself) where there is no GPU."""

import pytest
import torch

from extreme_sparsity import dataset, device_check
from extreme_sparsity.model import ModelConfig, build_model


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
    reference = build_model(ModelConfig(sparsity=0.01, n_hidden=4, n_inputs=3, n_classes=2), seed=0)
    other = build_model(ModelConfig(sparsity=0.01, n_hidden=4, n_inputs=3, n_classes=2), seed=0)
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
