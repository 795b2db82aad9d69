"""extreme_sparsity.optimizers: torch.optim's arithmetic bit for bit, its state_dict layout both
ways, and no torch._dynamo import in a job that trains."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from extreme_sparsity import optimizers

TESTS = Path(__file__).parent

# (ours, torch.optim's, keyword arguments): the settings the study uses and a few others.
PAIRS = [
    (optimizers.Adadelta, torch.optim.Adadelta, {"lr": 0.5, "rho": 0.9}),
    (optimizers.Adadelta, torch.optim.Adadelta, {"lr": 1.0, "rho": 0.95, "eps": 1e-4}),
    (optimizers.Adam, torch.optim.Adam, {"lr": 1e-3, "betas": (0.9, 0.95)}),
    (optimizers.Adam, torch.optim.Adam, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-6}),
    (optimizers.SGD, torch.optim.SGD, {"lr": 0.1}),
    (optimizers.SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4}),
]
IDS = [f"{ours.__name__}-{i}" for i, (ours, _, _) in enumerate(PAIRS)]
# On a GPU both pick torch's default kernels for the device (foreach); checked where there is one.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _parameters(seed: int, device: str = "cpu") -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    shapes = [(7, 5), (5,), (3, 2, 4)]
    return [torch.randn(*shape, generator=generator).to(device).requires_grad_(True) for shape in shapes]


def _gradients(step: int, parameters: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """Fixed gradients of step ``step``; the last parameter has none on odd steps (a parameter
    that took no part in a batch keeps its state untouched)."""
    generator = torch.Generator().manual_seed(1000 + step)
    gradients = [torch.randn(p.shape, generator=generator).to(p.device) for p in parameters]
    return gradients[:-1] + [None] if step % 2 else gradients


def _run(optimizer, parameters, steps: range, learning_rates=None) -> None:
    for step in steps:
        if learning_rates is not None:
            optimizer.param_groups[0]["lr"] = learning_rates[step]
        optimizer.zero_grad()
        for parameter, gradient in zip(parameters, _gradients(step, parameters)):
            parameter.grad = gradient
        optimizer.step()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("ours", "theirs", "settings"), PAIRS, ids=IDS)
def test_each_step_equals_torch_optim_bit_for_bit(ours, theirs, settings, device):
    mine, reference = _parameters(0, device), _parameters(0, device)
    rates = [settings["lr"] * 0.9**step for step in range(12)]  # a decayed lr, set between steps
    _run(ours(mine, **settings), mine, range(12), rates)
    _run(theirs(reference, **settings), reference, range(12), rates)
    assert not torch.equal(mine[0], _parameters(0, device)[0]), "the parameters did not move"
    for a, b in zip(mine, reference):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("ours", "theirs", "settings"), PAIRS, ids=IDS)
def test_state_dict_resumes_both_ways_with_torch_optim(ours, theirs, settings):
    """Five steps, the state saved and loaded into a fresh optimizer (ours into ours, torch's into
    ours, ours into torch's), five more: the same parameters as ten uninterrupted steps."""
    straight = _parameters(1)
    _run(theirs(straight, **settings), straight, range(10))
    for first, second in [(ours, ours), (theirs, ours), (ours, theirs)]:
        parameters = _parameters(1)
        before = first(parameters, **settings)
        _run(before, parameters, range(5))
        saved = before.state_dict()
        resumed_parameters = [p.detach().clone().requires_grad_(True) for p in parameters]
        after = second(resumed_parameters, **settings)
        after.load_state_dict(saved)
        _run(after, resumed_parameters, range(5, 10))
        for a, b in zip(resumed_parameters, straight):
            assert torch.equal(a, b), (first.__module__, second.__module__)


def test_load_state_dict_rejects_another_parameter_count():
    trained = optimizers.Adam(_parameters(0), lr=0.1)
    with pytest.raises(ValueError, match="of 3 parameters, this optimizer has 2"):
        optimizers.Adam(_parameters(0)[:2], lr=0.1).load_state_dict(trained.state_dict())


def test_training_and_the_metrics_never_import_dynamo():
    """The point of the module: training with each optimizer, the bottleneck metric and the weight
    masks run without importing torch._dynamo; a torch.optim optimizer, made after them in the
    same process, does import it (so the probe would see it)."""
    probe = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from dataclasses import replace
import torch
from defaults import bottleneck_settings, model_config, training_config
from test_metrics import MASKS, N_HIDDEN, N_INPUTS, coded_digits, specialized_model
from extreme_sparsity import training
from extreme_sparsity.metrics import bottleneck, weight_mask
train, test = coded_digits(600, seed=1), coded_digits(200, seed=2)
for optimizer in training.OPTIMIZERS:
    config = training_config(0.05, seed=0, epochs=1, stopping="fixed", optimizer=optimizer)
    network = model_config(0.05, n_hidden=N_HIDDEN, n_inputs=N_INPUTS)
    training.train(network, config, train, test, test, log=lambda _: None)
bottleneck.bottleneck_metric(specialized_model(10), train, test, bottleneck_settings(epochs=1, trials=1), seed=0)
weight_mask.weight_mask_metric(specialized_model(), train, test, replace(MASKS, epochs=1), seed=0)
print("torch._dynamo" in sys.modules)
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
print("torch._dynamo" in sys.modules)
"""
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.split() == ["False", "True"]
