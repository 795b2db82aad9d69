"""The documents a reader follows: every relative link and image resolves, and every config file
and rule they name exists; the README stays short and links every page of docs/; and the numbers
docs/results.md quotes for the defaults' run equal that run's tables when results/ holds it."""

import csv
import re
from pathlib import Path

import pytest
import yaml
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


# --- the README is a front door, the rest one click away -----------------------------------------------

README_MAX_LINES = 250


def test_readme_is_short():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; keep it to {README_MAX_LINES} and move the rest to docs/"


def test_every_docs_page_is_linked_from_the_readme():
    linked = set()
    for target in LINK.findall((REPO / "README.md").read_text()):
        path = target.partition("#")[0]
        if path and not re.match(r"^[a-z]+:", path):
            linked.add((REPO / path).resolve())
    pages = sorted((REPO / "docs").glob("*.md"))
    assert pages, "docs/ holds no page"
    missing = [str(page.relative_to(REPO)) for page in pages if page.resolve() not in linked]
    assert not missing, f"docs pages not linked from README.md: {missing}"


# --- the numbers docs/results.md quotes for the defaults' run equal that run's tables --------------------

RESULTS_PAGE = REPO / "docs" / "results.md"
AGGREGATE = REPO / "results" / "aggregate"
# The first header cell of each table of docs/results.md that quotes the defaults' run.
TRAINING_TABLE = "defaults: test accuracy and epochs"
SPECIALIZATION_TABLE = "defaults: M_spec"
CLAIMS_TABLE = "defaults: claim"
NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def cells(line: str) -> list[str]:
    """The cells of a markdown table row; `\\|` inside a cell is a literal bar."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [part.strip().replace("\\|", "|") for part in parts[1:-1]]


def markdown_table(text: str, first_header_cell: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table whose header row starts with ``first_header_cell``."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("|") and cells(line)[0] == first_header_cell:
            rows = []
            for row in lines[index + 2 :]:  # skip the |---| line
                if not row.startswith("|"):
                    break
                rows.append(cells(row))
            return cells(line), rows
    raise AssertionError(f"{RESULTS_PAGE.relative_to(REPO)} has no table whose header starts with '| {first_header_cell} |'")


def half_unit(text: str) -> float:
    """Half a unit of the last digit shown: how far a rounded number may be from the value."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0)) * (1 + 1e-9)


def close(shown: str, value: float) -> bool:
    return abs(float(shown) - value) <= half_unit(shown)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def p_key(p) -> str:
    """A p value as the tables spell it: 4 significant digits."""
    return f"{float(p):.4g}"


@pytest.fixture(scope="module")
def defaults_run():
    """The defaults' run in results/aggregate/, or a skip that says why it cannot be compared."""
    files = {name: AGGREGATE / f"{name}.csv" for name in ("training", "summary", "claims")}
    absent = [str(path.relative_to(REPO)) for path in files.values() if not path.is_file()]
    if absent:
        pytest.skip(f"no results of the defaults' run to compare docs/results.md with ({', '.join(absent)} absent)")
    tables = {name: read_csv(path) for name, path in files.items()}
    text = RESULTS_PAGE.read_text()
    header, _ = markdown_table(text, TRAINING_TABLE)
    quoted_ps = {p_key(p) for p in header[1:]}
    run_ps = {p_key(row["p"]) for row in tables["training"]}
    seeds = {row["seed"] for row in tables["training"]}
    n_seeds = yaml_n_seeds()
    fixed = any(row["stop_reason"].startswith("trained the fixed") for row in tables["training"])
    if run_ps != quoted_ps or len(seeds) != n_seeds or fixed:
        pytest.skip(
            f"results/ holds another study (p = {sorted(run_ps, key=float)}, {len(seeds)} seeds"
            f"{', fixed epochs' if fixed else ''}), not the defaults' run that docs/results.md quotes"
        )
    return text, tables


def yaml_n_seeds() -> int:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())["n_seeds"]


def test_results_page_quotes_the_defaults_test_accuracy_and_epochs(defaults_run):
    text, tables = defaults_run
    header, rows = markdown_table(text, TRAINING_TABLE)
    by_cell: dict[tuple[str, str], list[dict]] = {}
    for row in tables["training"]:
        by_cell.setdefault((row["architecture"], p_key(row["p"])), []).append(row)
    wrong = []
    for row in rows:
        architecture, _, quantity = row[0].partition(": ")
        column = {"test accuracy": "test_accuracy", "epochs": "epochs_trained"}[quantity]
        for p, shown in zip(header[1:], row[1:]):
            models = by_cell.get((architecture, p_key(p)))
            if not models:
                wrong.append(f"{row[0]} at p = {p}: no models in training.csv")
                continue
            values = [float(model[column]) for model in models]
            extreme = min(values) if column == "test_accuracy" else max(values)
            match = re.fullmatch(rf"({NUMBER}) \(({NUMBER})\)", shown)
            if not match or not (close(match[1], sum(values) / len(values)) and close(match[2], extreme)):
                wrong.append(f"{row[0]} at p = {p}: docs say {shown}, the run {sum(values) / len(values):.4f} ({extreme:.4f})")
    assert not wrong, "docs/results.md disagrees with results/aggregate/training.csv:\n  " + "\n  ".join(wrong)


def test_results_page_quotes_the_defaults_specialization(defaults_run):
    text, tables = defaults_run
    header, rows = markdown_table(text, SPECIALIZATION_TABLE)
    summary = {(row["metric"], p_key(row["p"]), row["sub_network"]): row for row in tables["summary"]}
    wrong = []
    for row in rows:
        metric, _, per_sub_network = row[0].partition(", ")
        for p, shown in zip(header[1:], row[1:]):
            if per_sub_network:  # "n = 0 / 1": the mean of each sub-network
                expected = [float(summary[(metric, p_key(p), n)]["specialization_mean"]) for n in ("0", "1")]
                numbers = re.fullmatch(rf"({NUMBER}) / ({NUMBER})", shown)
            else:  # "mean ± sd" of the mean of both sub-networks
                both = summary[(metric, p_key(p), "both")]
                expected = [float(both["specialization_mean"]), float(both["specialization_std"])]
                numbers = re.fullmatch(rf"({NUMBER}) ± ({NUMBER})", shown)
            if not numbers or not all(close(number, value) for number, value in zip(numbers.groups(), expected)):
                wrong.append(f"{row[0]} at p = {p}: docs say {shown}, the run {' / '.join(f'{v:.4f}' for v in expected)}")
    assert not wrong, "docs/results.md disagrees with results/aggregate/summary.csv:\n  " + "\n  ".join(wrong)


def test_results_page_quotes_the_defaults_claims(defaults_run):
    text, tables = defaults_run
    _, rows = markdown_table(text, CLAIMS_TABLE)
    claims = {(row["claim"], row["metric"]): row for row in tables["claims"]}
    wrong = []
    for claim, metric, _, shown, _, result in rows:
        row = claims.get((claim, metric))
        if row is None:
            wrong.append(f"claim {claim} ({metric or 'no metric'}): not in claims.csv")
            continue
        verdict = result.strip("* ")
        if verdict != row["result"]:
            wrong.append(f"claim {claim} ({metric or 'no metric'}): docs say {verdict}, the run {row['result']}")
        numbers = re.fullmatch(rf"({NUMBER})(?: \[({NUMBER}), ({NUMBER})\])?", shown)
        columns = ("value", "ci_low", "ci_high")
        if not numbers or not all(
            close(number, float(row[column])) for number, column in zip(numbers.groups(), columns) if number is not None
        ):
            run = ", ".join(f"{column} {row[column]}" for column in columns)
            wrong.append(f"claim {claim} ({metric or 'no metric'}): docs say {shown}, the run {run}")
    assert not wrong, "docs/results.md disagrees with results/aggregate/claims.csv:\n  " + "\n  ".join(wrong)
