"""The documents a reader follows: every relative link and image resolves, and every config file
and rule they name exists."""

import re
from pathlib import Path

import pytest

from conftest import REPO

DOCUMENTS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CONFIG_FILE = re.compile(r"`?(config/[A-Za-z0-9_]+\.yaml)`?")
RULE_FILES = sorted((REPO / "workflow").rglob("*.smk")) + [REPO / "Snakefile"]


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings of a markdown text."""
    found = set()
    for heading in re.findall(r"^#+\s+(.*)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_and_image_resolves(document):
    text = document.read_text()
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            broken.append(target)
    assert not broken, f"{document.relative_to(REPO)}: links that lead nowhere: {broken}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_config_file_named_exists(document):
    named = set(CONFIG_FILE.findall(document.read_text()))
    missing = sorted(name for name in named if not (REPO / name).exists())
    assert not missing, f"{document.relative_to(REPO)} names config files that do not exist: {missing}"


def test_every_rule_named_in_a_rule_table_exists():
    """Rule names in the first column of the documents' tables (`rule`) are rules of the workflow."""
    defined = set()
    for path in RULE_FILES:
        defined |= set(re.findall(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", path.read_text(), flags=re.MULTILINE))
    named = set()
    for document in DOCUMENTS:
        in_rule_table = False
        for line in document.read_text().splitlines():
            if line.startswith("| rule |"):
                in_rule_table = True
                continue
            if not line.startswith("|"):
                in_rule_table = False
            elif in_rule_table:
                first = line.split("|")[1].strip()
                named |= set(re.findall(r"^`(\w+)`$", first))
    assert named, "no rule table found"
    assert named <= defined, f"rules named in the documents but not defined: {sorted(named - defined)}"
