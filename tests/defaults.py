"""The settings objects as the workflow builds them from config/config.yaml, with a test's own changes
(``dataclasses.replace``, which validates them again)."""

from __future__ import annotations

from dataclasses import replace

import yaml
from conftest import REPO

from extreme_sparsity.metrics.bottleneck import BottleneckSettings
from extreme_sparsity.metrics.correlation import CorrelationSettings
from extreme_sparsity.metrics.masking import WeightMaskSettings
from extreme_sparsity.model import ModelConfig
from extreme_sparsity.plumbing import settings
from extreme_sparsity.training import TrainingConfig

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def model_config(sparsity: float, **changes) -> ModelConfig:
    """The plain model at p."""
    return replace(settings.model_config(CONFIG, "plain", sparsity), **changes)


def training_config(sparsity: float, seed: int, **changes) -> TrainingConfig:
    """The plain model's training at p (Deep-R's lr and noise set for p)."""
    return replace(settings.training_config(CONFIG, "plain", sparsity, seed), **changes)


def bottleneck_settings(**changes) -> BottleneckSettings:
    return replace(BottleneckSettings(**settings.bottleneck_settings(CONFIG)), **changes)


def correlation_settings(**changes) -> CorrelationSettings:
    return replace(CorrelationSettings(**CONFIG["correlation_metric"]), **changes)


def mask_settings(q: float, **changes) -> WeightMaskSettings:
    """The weight masks at mask size q."""
    return replace(WeightMaskSettings.from_config(CONFIG["weight_mask_metric"], q), **changes)
