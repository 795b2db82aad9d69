"""Named variants of one study: partial configs merged onto the base config (config["variants"]).

Each variant runs the whole study under ``results/variants/<name>/`` (workflow/rules/variants.smk);
comparisons draw several variants in one set of figures.
"""

from __future__ import annotations

import copy
import re

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NO_VARIANTS = {"common": {}, "studies": {}, "comparisons": {}, "shared_models": {}}
# What a trained model depends on: a variant may reuse another's models only where these agree.
TRAINING_KEYS = (
    "mnist_root", "data", "task", "model", "training", "deep_r", "device", "sparsity", "n_seeds", "architectures",
)
# What the paired-digit data set depends on: variants that agree on these read one file.
DATA_KEYS = ("mnist_root", "data", "task")
# The config sections each per-model metric job depends on beyond its model: a variant that reuses
# another's models copies that rule's results too where these sections agree.
METRIC_RULE_SECTIONS = {
    "bottleneck_metric": ("bottleneck_metric",),
    "correlation_metric": ("correlation_metric",),
    "weight_mask_metric": ("weight_mask_metric",),
    "mask_sweep": ("weight_mask_metric",),
}
ALL = "all"  # the comparison of every variant when config["variants"]["comparisons"] names none


def merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged in, dictionaries key by key (as snakemake merges config
    files), anything else replaced; neither argument is modified."""
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def variant_configs(config: dict) -> dict[str, dict]:
    """The full config of every named variant: base <- variants.common <- the variant's own keys.

    A variant's config names no variants itself.
    """
    section = config["variants"]
    configs = {}
    for name, overrides in section["studies"].items():
        if not NAME.match(name):
            raise ValueError(
                f"variant name {name!r} (variants.studies): use letters, digits and _, starting with a letter"
            )
        if "variants" in (overrides or {}) or "variants" in section["common"]:
            raise ValueError(f"variant {name!r} (variants.studies) sets variants itself: variants do not nest")
        variant = merged(merged(config, section["common"]), overrides or {})
        variant["variants"] = copy.deepcopy(NO_VARIANTS)
        configs[name] = variant
    return configs


def comparisons(config: dict) -> dict[str, list[str]]:
    """Comparison name -> the variants it draws; one comparison of every variant when none is named."""
    section = config["variants"]
    studies = list(section["studies"])
    named = section["comparisons"] or ({ALL: studies} if studies else {})
    for name, members in named.items():
        if not NAME.match(name):
            raise ValueError(f"comparison name {name!r} (variants.comparisons): use letters, digits and _")
        unknown = [member for member in members if member not in studies]
        if unknown:
            raise ValueError(
                f"comparison {name!r} (variants.comparisons) names {unknown}, which are not variants; "
                f"the variants are {studies}"
            )
    return {name: list(members) for name, members in named.items()}


def shared_models(config: dict, configs: dict[str, dict]) -> dict[str, str]:
    """Variant -> the variant whose trained models it reuses (``variants.shared_models``).

    A variant that changes only how models are measured or aggregated need not train them again.
    Refused unless both variants agree on every key a trained model depends on (TRAINING_KEYS) and
    the variant it names trains its own models.
    """
    shared = config["variants"].get("shared_models") or {}
    for name, source in shared.items():
        for role, variant in (("variant", name), ("source", source)):
            if variant not in configs:
                raise ValueError(
                    f"variants.shared_models: {role} {variant!r} is not a variant; the variants are {list(configs)}"
                )
        if source in shared:
            raise ValueError(f"variants.shared_models: {name!r} reuses {source!r}, which reuses models itself")
        differing = [key for key in TRAINING_KEYS if configs[name][key] != configs[source][key]]
        if differing:
            raise ValueError(
                f"variants.shared_models: {name!r} cannot reuse the models of {source!r}: they differ in "
                f"{', '.join(differing)}, which training depends on"
            )
    return dict(shared)


def copied_rules(configs: dict[str, dict], shared: dict[str, str]) -> dict[str, list[str]]:
    """Variant -> the rules whose results it copies from the variant whose models it reuses
    (:func:`shared_models`): ``train_model``, and every per-model metric rule whose settings the two
    agree on (METRIC_RULE_SECTIONS), since that job would compute the same table from the same model."""
    return {
        name: ["train_model"] + [
            rule for rule, sections in METRIC_RULE_SECTIONS.items()
            if all(configs[name][section] == configs[source][section] for section in sections)
        ]
        for name, source in shared.items()
    }


def shared_data(configs: dict[str, dict]) -> dict[str, str]:
    """Variant -> the earlier variant whose data set it links instead of preparing its own: the
    first with the same DATA_KEYS. Each distinct data set is prepared once, whatever reads it."""
    preparing: list[str] = []
    shared = {}
    for name, config in configs.items():
        same = [other for other in preparing if all(configs[other][key] == config[key] for key in DATA_KEYS)]
        if same:
            shared[name] = same[0]
        else:
            preparing.append(name)
    return shared


def result_sources(
    copied: dict[str, list[str]], models_from: dict[str, str], data_from: dict[str, str],
) -> list[tuple[str, str, str]]:
    """(variant, rule, source variant) for every rule whose results a variant takes from another:
    the rules of :func:`copied_rules` from the variant whose models it reuses, ``prepare_dataset``
    from the variant of :func:`shared_data`."""
    sources = [(name, rule, models_from[name]) for name, rules in copied.items() for rule in rules]
    return sources + [(name, "prepare_dataset", source) for name, source in data_from.items()]


def computing(copied: dict[str, list[str]], rule: str) -> list[str]:
    """The variants of :func:`copied_rules` that run ``rule`` themselves rather than copy it."""
    return [name for name, rules in copied.items() if rule not in rules]


def attribution_settings(config: dict, configs: dict[str, dict]) -> dict:
    """config["attribution"] with every variant it names checked to exist."""
    section = config["attribution"]
    named = [("attribution.reference", section["reference"]), ("attribution.paper", section["paper"])]
    named += [(f"attribution.factors ({factor['name']})", factor[end]) for factor in section["factors"] for end in ("from", "to")]
    for where, name in named:
        if name is not None and name not in configs:
            raise ValueError(f"{where} names {name!r}, which is not a variant; the variants are {list(configs)}")
    names = [factor["name"] for factor in section["factors"]]
    if len(set(names)) != len(names):
        raise ValueError(f"attribution.factors: names must be unique, got {names}")
    return section
