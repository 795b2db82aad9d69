"""Named variants of one study: partial configs merged onto the base config (config["variants"]).

Each variant runs the whole study under ``results/variants/<name>/`` (workflow/rules/variants.smk);
comparisons draw several variants in one set of figures.
"""

from __future__ import annotations

import copy
import re

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NO_VARIANTS = {"common": {}, "studies": {}, "comparisons": {}}
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
