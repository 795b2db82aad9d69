"""One clear line per invalid config value: which key, what is wrong, what is allowed."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml


def _key(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema
    if error.validator == "additionalProperties":
        return "allowed keys: " + ", ".join(sorted(schema.get("properties", {})))
    if "enum" in schema:
        return "allowed values: " + ", ".join(map(str, schema["enum"]))
    if error.validator in ("oneOf", "anyOf") and "description" in schema:
        return "allowed: " + schema["description"]
    bounds = []
    if "exclusiveMinimum" in schema:
        bounds.append(f"> {schema['exclusiveMinimum']}")
    if "minimum" in schema:
        bounds.append(f">= {schema['minimum']}")
    if "exclusiveMaximum" in schema:
        bounds.append(f"< {schema['exclusiveMaximum']}")
    if "maximum" in schema:
        bounds.append(f"<= {schema['maximum']}")
    kind = schema.get("type", "value")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    text = f"allowed: {kind}" + (f" {' and '.join(bounds)}" if bounds else "")
    if "minItems" in schema:
        text += f", at least {schema['minItems']} item(s)"
    return text


def config_errors(config: dict, schema_path: str | Path) -> list[str]:
    """Messages for every schema violation in ``config``, each naming its key and what is allowed."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        if error.validator == "additionalProperties":
            known = set(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - known):
                key = _key([*error.absolute_path, extra])
                messages.append(f"config key {key}: unknown key ({_allowed(error)})")
            continue
        messages.append(f"config key {_key(error.absolute_path)}: {error.message} ({_allowed(error)})")
    return messages or _cross_key_errors(config)


def _cross_key_errors(config: dict) -> list[str]:
    """Rules between keys that a JSON schema cannot state (checked once every value is valid)."""
    training = config["training"]
    if training["stopping"]["rule"] != "validation_target":
        return []
    return [
        f"config key training.stopping.max_epochs.{architecture}: {ceiling} is below "
        f"training.epochs.{architecture} = {training['epochs'][architecture]} "
        "(allowed: at least the minimum number of epochs)"
        for architecture, ceiling in training["stopping"]["max_epochs"].items()
        if ceiling < training["epochs"][architecture]
    ]
