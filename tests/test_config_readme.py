"""config/README.md documents exactly the workflow's configuration, with the shipped defaults.

The tables of config/README.md (every row whose first cell is a backticked dotted key) are checked
against config/schema.yaml (walked over ``properties``, ``$ref`` resolved into ``$defs``) and
config/config.yaml:

1. every key of the schema is documented, itself or through an ancestor (a documented object,
   e.g. ``figures.accuracy``, covers its children);
2. every documented key exists in the schema;
3. each row's default, read with ``yaml.safe_load``, equals (type included: ``1`` is not ``1.0``
   nor ``true``) the value at that key in config/config.yaml;
4. no key is documented twice, nor together with one of its ancestors;
5. the allowed-values cell of a key whose schema is an ``enum`` names every allowed value.

So a key added to the schema without a row, a row for a key that no longer exists, or a default
changed in one file but not the other fails here. Pure parsing: no snakemake run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "config" / "README.md"
SCHEMA = ROOT / "config" / "schema.yaml"
CONFIG = ROOT / "config" / "config.yaml"

KEY = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
ROW = re.compile(rf"^\|\s*`(?P<key>{KEY})`\s*\|(?P<rest>.*)\|\s*$")


def _cells(rest: str) -> list[str]:
    return [cell.strip() for cell in rest.split("|")]


def documented_rows(text: str) -> list[dict]:
    """Every table row whose first cell is a backticked dotted key, with its cells and line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = ROW.match(line.strip())
        if match:
            rows.append({"key": match["key"], "cells": _cells(match["rest"]), "line": number})
    return rows


def _resolve(node: dict, schema: dict) -> dict:
    while "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/$defs/"), f"unexpected $ref {reference!r} in the schema"
        node = schema["$defs"][reference.removeprefix("#/$defs/")]
    return node


def schema_nodes(schema: dict) -> dict[str, dict]:
    """Dotted path -> resolved schema node, for every key reachable through ``properties``."""
    nodes: dict[str, dict] = {}

    def walk(node: dict, prefix: str) -> None:
        for name, child in _resolve(node, schema).get("properties", {}).items():
            path = f"{prefix}{name}"
            nodes[path] = _resolve(child, schema)
            walk(child, f"{path}.")

    walk(schema, "")
    return nodes


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _value_at(config: dict, path: str):
    value = config
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _flow(value) -> str:
    """A scalar as YAML writes it: true, 1, digit."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _same(left, right) -> bool:
    """Equality that also tells bool from int and int from float, at every depth."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    return left == right


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    found = documented_rows(README.read_text(encoding="utf-8"))
    assert found, f"{README} has no table rows whose first cell is a backticked key"
    return found


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nodes(schema) -> dict[str, dict]:
    return schema_nodes(schema)


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def test_rows_have_four_cells_and_a_backticked_default(rows):
    problems = [
        f"line {row['line']}, `{row['key']}`: expected | key | `default` | allowed values | meaning |, "
        f"got {len(row['cells']) + 1} cells"
        for row in rows
        if len(row["cells"]) != 3
    ]
    problems += [
        f"line {row['line']}, `{row['key']}`: the default cell {row['cells'][0]!r} is not one backticked YAML value"
        for row in rows
        if len(row["cells"]) == 3 and not re.fullmatch(r"`[^`]*`", row["cells"][0])
    ]
    problems += [
        f"line {row['line']}, `{row['key']}`: empty allowed-values or meaning cell"
        for row in rows
        if len(row["cells"]) == 3 and not (row["cells"][1] and row["cells"][2])
    ]
    assert not problems, "malformed rows in config/README.md:\n  " + "\n  ".join(problems)


def test_every_schema_key_is_documented(rows, nodes):
    # an object is documented through all of its leaves, or as a whole (covering its children)
    documented = {row["key"] for row in rows}
    leaves = [path for path, node in nodes.items() if not node.get("properties")]
    missing = [
        path
        for path in leaves
        if path not in documented and not any(a in documented for a in _ancestors(path))
    ]
    assert not missing, (
        "schema keys not documented in config/README.md (add a row for each, or for an object "
        "that holds it):\n  " + "\n  ".join(missing)
    )


def test_every_documented_key_is_in_the_schema(rows, nodes):
    unknown = [f"`{row['key']}` (line {row['line']})" for row in rows if row["key"] not in nodes]
    assert not unknown, (
        "config/README.md documents keys that config/schema.yaml does not have:\n  " + "\n  ".join(unknown)
    )


def test_no_key_is_documented_twice(rows):
    lines: dict[str, list[int]] = {}
    for row in rows:
        lines.setdefault(row["key"], []).append(row["line"])
    twice = [f"`{key}` on lines {found}" for key, found in lines.items() if len(found) > 1]
    assert not twice, "keys documented more than once in config/README.md:\n  " + "\n  ".join(twice)
    nested = [
        f"`{key}` (line {found[0]}) is also covered by `{ancestor}` (line {lines[ancestor][0]})"
        for key, found in lines.items()
        for ancestor in _ancestors(key)
        if ancestor in lines
    ]
    assert not nested, "keys documented twice (themselves and through an object):\n  " + "\n  ".join(nested)


def test_defaults_equal_config_yaml(rows, config):
    problems = []
    for row in rows:
        if len(row["cells"]) != 3:
            continue  # reported by test_rows_have_four_cells_and_a_backticked_default
        text = row["cells"][0].strip("`")
        try:
            documented = yaml.safe_load(text)
        except yaml.YAMLError as error:
            problems.append(f"`{row['key']}` (line {row['line']}): default `{text}` is not YAML ({error})")
            continue
        try:
            shipped = _value_at(config, row["key"])
        except KeyError:
            problems.append(f"`{row['key']}` (line {row['line']}): not in config/config.yaml")
            continue
        if not _same(documented, shipped):
            problems.append(
                f"`{row['key']}` (line {row['line']}): README says `{text}` ({documented!r}), "
                f"config/config.yaml has {shipped!r}"
            )
    assert not problems, "defaults in config/README.md differ from config/config.yaml:\n  " + "\n  ".join(problems)


def test_enum_keys_list_every_allowed_value(rows, nodes):
    problems = []
    for row in rows:
        node = nodes.get(row["key"], {})
        if "enum" not in node or len(row["cells"]) != 3:
            continue
        allowed = row["cells"][1]
        absent = [value for value in node["enum"] if f"`{_flow(value)}`" not in allowed]
        if absent:
            problems.append(f"`{row['key']}` (line {row['line']}): allowed values omit {absent} (schema enum {node['enum']})")
    assert not problems, "allowed values in config/README.md miss schema enum values:\n  " + "\n  ".join(problems)
