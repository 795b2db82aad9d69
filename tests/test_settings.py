"""Defaults live only in config/config.yaml: every settings object is built from the config, carries
no default that could disagree with it, and holds the config's values."""

import dataclasses

import pytest
from defaults import CONFIG

from extreme_sparsity.metrics.bottleneck import BottleneckSettings
from extreme_sparsity.metrics.correlation import CorrelationSettings
from extreme_sparsity.metrics.masking import WeightMaskSettings
from extreme_sparsity.model import ModelConfig
from extreme_sparsity.plumbing import settings
from extreme_sparsity.sparsity import annealed_noise, geometric_schedule
from extreme_sparsity.training import TrainingConfig

MNIST_SIZES = {"n_inputs": 784, "n_classes": 10}  # fixed by the data, not settings


@pytest.mark.parametrize(
    "cls, allowed", [(ModelConfig, MNIST_SIZES), (TrainingConfig, {}), (BottleneckSettings, {}),
                     (CorrelationSettings, {}), (WeightMaskSettings, {})],
)
def test_settings_objects_have_no_defaults(cls, allowed):
    defaults = {
        field.name: field.default for field in dataclasses.fields(cls)
        if field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
    }
    assert defaults == allowed


@pytest.mark.parametrize("architecture", settings.ARCHITECTURES)
def test_model_config_holds_the_configs_values(architecture):
    model, deep_r = CONFIG["model"], CONFIG["deep_r"]
    built = settings.model_config(CONFIG, architecture, 0.01)
    assert dataclasses.asdict(built) == {
        "sparsity": 0.01, "n_hidden": model["n_hidden"], **MNIST_SIZES, "n_steps": model["n_steps"],
        "bottleneck": model["bottleneck_size"] if architecture == "bottleneck" else 0,
        "init_bound": model["init_bound"], "decision": model["decision"], "sparse_input": model["sparse_input"],
        "cell": model["cell"], "leak_rate": model["leak_rate"],
        "sparse_init": deep_r["init_magnitude"], "sparse_init_std": deep_r["init_std"],
    }


@pytest.mark.parametrize("architecture", settings.ARCHITECTURES)
def test_training_config_holds_the_configs_values(architecture):
    training, deep_r, stopping = CONFIG["training"], CONFIG["deep_r"], CONFIG["training"]["stopping"]
    n_hidden = CONFIG["model"]["n_hidden"]
    built = settings.training_config(CONFIG, architecture, 0.01, 3)
    assert dataclasses.asdict(built) == {
        "seed": 3, "epochs": training["epochs"][architecture], "batch_size": training["batch_size"],
        "optimizer": training["optimizer"], "lr": training["lr"], "rho": training["rho"],
        "betas": tuple(training["betas"]), "lr_decay": training["lr_decay"],
        "deep_r_lr": geometric_schedule(0.01, n_hidden, *deep_r["lr_range"]), "deep_r_betas": tuple(deep_r["betas"]),
        "deep_r_lr_decay": deep_r["lr_decay"],
        "noise_std": annealed_noise(0.01, n_hidden, deep_r["noise_std"], deep_r["noise_annealing"]),
        "l1": deep_r["l1"], "reactivation_value": deep_r["reactivation_value"], "stopping": stopping["rule"],
        "target_accuracy": stopping["target_accuracy"], "max_epochs": stopping["max_epochs"][architecture],
        "patience": stopping["patience"], "checkpoint_selection": training["checkpoint_selection"],
    }


def test_metric_settings_hold_the_configs_values():
    section = CONFIG["bottleneck_metric"]
    built = BottleneckSettings(**settings.bottleneck_settings(CONFIG))
    assert dataclasses.asdict(built) == {
        "epochs": section["epochs"], "lr": section["lr"], "rho": section["rho"], "batch_size": section["batch_size"],
        "init_bound": CONFIG["model"]["init_bound"], "trials": section["trials"], "lr_decay": section["lr_decay"],
    }
    built = CorrelationSettings(**CONFIG["correlation_metric"])
    assert built.max_samples == CONFIG["correlation_metric"]["max_samples"]
    section = CONFIG["weight_mask_metric"]
    built = WeightMaskSettings.from_config(section, 0.03)
    assert dataclasses.asdict(built) == {
        "q": 0.03, "q_train": section["q_train"], "epochs": section["epochs"], "lr": section["lr"],
        "momentum": section["momentum"], "weight_decay": section["weight_decay"], "batch_size": section["batch_size"],
        "score_init": section["score_init"], "sparse_owner": section["sparse_owner"],
    }
