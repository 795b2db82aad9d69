"""The HTML report as a reader sees it: `snakemake --report` of the small study's run, opened in
headless Chromium (tests/browser.py, the DevTools protocol over a pipe) and checked on the
rendered page.

One browser session walks the report like a reader: the front page, then every category of the
results menu (and its subcategories), every result listed there, opening each one with its eye
button (a figure shows in the page; a CSV table is offered as a download, so its download link is
read back and its description opened). It records what it sees and a screenshot of each page; the
tests below judge that record against what the run produced:

- the results: every ``report()`` output of the run's DAG, and every figure (PNG) of the DAG even
  where a rule forgot to mark it for the report, read from ``snakemake --summary``;
- figures: rendered (naturalWidth > 0, the PNG's own size), visible (a non-empty box in the
  window, on top at its centre), and not blank in the screenshot (real pixel variation);
- the front page: sentences that state this run's numbers (sparsities, seeds, models) with no
  template text left, and the specialization table with one visible row per p.

Screenshots are kept in pytest's temporary folder (the failure messages name them).
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import browser
import numpy as np
import pytest
import yaml
from background import Workspace, prepared
from conftest import REPO, snakemake

pytestmark = pytest.mark.slow

WINDOW = (1280, 800)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
# What a filled-in front page must not show: Jinja or config syntax, and raw config values.
TEMPLATE_LEFTOVERS = ("{{", "}}", "{%", "%}", "snakemake.config", "grid_size", "validation_target", "when a number", "None")


# -- what the report should contain ------------------------------------------------------------
def declared_report_outputs(project: Path) -> list[tuple[re.Pattern, str, str | None]]:
    """Every ``report("path", ..., category=..., subcategory=...)`` of the workflow's rules:
    (regex of the path, with its wildcards as groups; category; subcategory template)."""
    declared = []
    smk_files = sorted((project / "workflow").rglob("*.smk"))
    # path constants (common.smk) that a report() may name instead of a literal
    constants = dict(re.findall(r'^([A-Z_]+) = "([^"]+)"$', "\n".join(smk.read_text() for smk in smk_files), re.M))
    for smk in smk_files:
        text = smk.read_text()
        for match in re.finditer(r'report\(\s*(?:"([^"]+)"|([A-Z_]+))\s*,(.*?)\)', text, re.S):
            literal, constant, keywords = match.groups()
            pattern = literal or constants[constant]
            category = re.search(r'\bcategory\s*=\s*"([^"]*)"', keywords)
            subcategory = re.search(r'\bsubcategory\s*=\s*"([^"]*)"', keywords)
            regex = re.escape(pattern)
            regex = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", regex)
            declared.append(
                (re.compile(regex + "$"), category.group(1) if category else "Other", subcategory.group(1) if subcategory else None)
            )
    return declared


def dag_outputs(project: Path, args: tuple[str, ...]) -> list[str]:
    """Every output file of the default target's DAG, from ``snakemake --summary``."""
    lines = snakemake(project, *args, "--summary", timeout=300).stdout.splitlines()
    return [line.split("\t")[0] for line in lines[1:] if "\t" in line]


def expected_results(project: Path, args: tuple[str, ...]) -> dict[str, tuple[str | None, str | None]]:
    """path -> (category, subcategory) of every result the report must show; None where a figure
    of the DAG was not declared for the report (it must still be listed somewhere)."""
    declared = declared_report_outputs(project)
    expected = {}
    for path in dag_outputs(project, args):
        for regex, category, subcategory in declared:
            match = regex.match(path)
            if match:
                expected[path] = (category, subcategory.format(**match.groupdict()) if subcategory else None)
                break
        else:
            if path.lower().endswith(IMAGE_SUFFIXES):
                expected[path] = (None, None)
    return expected


def merged_config(project: Path, args: tuple[str, ...]) -> dict:
    """config/config.yaml updated (recursively) by each --configfile of ``args`` in turn, as
    snakemake does."""

    def update(base: dict, new: dict) -> dict:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value
        return base

    config = yaml.safe_load((project / "config" / "config.yaml").read_text())
    if "--configfile" in args:
        for name in itertools.takewhile(lambda arg: not arg.startswith("-"), args[args.index("--configfile") + 1 :]):
            update(config, yaml.safe_load((project / name).read_text()))
    return config


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def pixel_variation(png: bytes, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """(standard deviation of the grey level, share of pixels away from the commonest grey) of a
    screenshot inside ``box`` = (x, y, width, height): both near 0 for a blank area."""
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    x, y, width, height = (int(round(v)) for v in box)
    area = pixels[max(y, 0) : max(y + height, 0), max(x, 0) : max(x + width, 0), :3]
    if area.size == 0:
        return 0.0, 0.0
    grey = area.mean(axis=2)
    levels = np.round(grey * 255).astype(int)
    commonest = np.bincount(levels.ravel()).argmax()
    return float(grey.std()), float(np.mean(np.abs(levels - commonest) > 25))


# -- the browser session -----------------------------------------------------------------------
@dataclass
class Opened:
    """What the page showed after a click on one result's eye button."""

    category: str
    subcategory: str | None
    kind: str = ""  # image | download | frame
    error: str | None = None
    natural: tuple[int, int] = (0, 0)
    box: tuple[float, float, float, float] = (0, 0, 0, 0)  # in the window
    on_top: bool = False
    screenshot: Path | None = None
    variation: tuple[float, float] = (0.0, 0.0)
    download_name: str = ""
    download_rows: int = 0
    caption: str = ""


@dataclass
class Rendered:
    front_text: str = ""
    front_table: list[list[str]] = field(default_factory=list)  # header row first
    front_table_box: tuple[float, float, float, float] = (0, 0, 0, 0)
    front_table_variation: tuple[float, float] = (0.0, 0.0)
    front_screenshot: Path | None = None
    menu_categories: list[str] = field(default_factory=list)
    listed: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    opened: dict[str, Opened] = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)


HELPERS = r"""
window.__t = {
  nav: () => document.querySelector('nav'),
  visible: (el) => { if (!el) return false; const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; },
  box: (el) => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; },
  // The centre of an element, scrolled into view, once its box has stopped moving (the menu
  // animates its width) and when it is what a click there would hit; null otherwise.
  point: async (el) => {
    if (!el) return null;
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    let last = '', stable = 0;
    for (const start = performance.now(); performance.now() - start < 3000 && stable < 3; ) {
      await new Promise(done => setTimeout(done, 50));
      const r = el.getBoundingClientRect(), now = [r.x, r.y, r.width, r.height].join();
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
    const r = el.getBoundingClientRect();
    if (!el.isConnected || !(r.width > 0 && r.height > 0)) return null;
    const x = r.x + r.width / 2, y = r.y + r.height / 2;
    return el.contains(document.elementFromPoint(x, y)) ? [x, y] : null;
  },
  menuLink: (text) => Array.from(document.querySelectorAll('nav ul a')).find(a => a.textContent.trim() === text),
  home: () => document.querySelector('nav ol li a'),
  // Categories under the RESULTS heading of the main menu (one "Results" entry for one category).
  categories: () => {
    const items = Array.from(document.querySelectorAll('nav ul > li'));
    const at = items.findIndex(li => !li.querySelector('a') && li.textContent.trim().toLowerCase() === 'results');
    if (at < 0) return items.filter(li => li.textContent.trim() === 'Results').map(li => li.textContent.trim());
    return items.slice(at + 1).map(li => li.textContent.trim());
  },
  rows: () => Array.from(document.querySelectorAll('nav tbody tr')),
  row: (path) => __t.rows().find(tr => tr.querySelector('td') && tr.querySelector('td').textContent.trim() === path),
  subcategoryLinks: () => document.querySelector('nav tbody') ? [] : Array.from(document.querySelectorAll('nav ul a')).map(a => a.textContent.trim()),
  contentImages: () => Array.from(document.images).filter(i => !i.closest('nav')),
};
true
"""


class ReportWalker:
    def __init__(self, page: browser.Page, screens: Path):
        self.page, self.screens = page, screens

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def click(self, element_js: str, what: str) -> None:
        """A real mouse click at the centre of an element (scrolled into view)."""
        for _ in range(3):  # the element may be re-rendered meanwhile: look it up again
            point = self.js(f"__t.point({element_js})")
            if point:
                self.page.click(*point)
                return
        raise browser.BrowserError(f"{what}: not found, not visible or covered")

    def shot(self, name: str) -> tuple[Path, bytes]:
        png = self.page.screenshot()
        path = self.screens / (re.sub(r"[^\w.-]+", "_", name) + ".png")
        path.write_bytes(png)
        return path, png

    def go_home(self) -> None:
        self.click("__t.home()", "the home link of the breadcrumbs")
        self.page.wait_for("__t.categories().length > 0", timeout=10)

    def open_category(self, category: str, subcategory: str | None = None) -> None:
        self.go_home()
        self.click(f"__t.menuLink({category!r})", f"category {category!r} in the menu")
        self.page.wait_for("__t.rows().length > 0 || __t.subcategoryLinks().length > 0", timeout=10)
        if subcategory is not None:
            self.click(f"__t.menuLink({subcategory!r})", f"subcategory {subcategory!r} of {category!r}")
            self.page.wait_for("__t.rows().length > 0", timeout=10)

    def listed_paths(self) -> list[str]:
        return self.js("__t.rows().map(tr => tr.querySelector('td') ? tr.querySelector('td').textContent.trim() : '').filter(t => t)")

    def open_result(self, path: str, entry: Opened) -> None:
        row = f"__t.row({path!r})"
        eye = f"{row}.querySelector('a[iconname=eye]')"
        if not self.js(f"!!({row}) && !!({eye})"):
            entry.error = "no eye button in its row"
            return
        if self.js(f"{eye}.hasAttribute('download')"):  # CSV and other files: a download link
            entry.kind = "download"
            entry.download_name = self.js(f"{eye}.getAttribute('download')")
            text = self.js(f"fetch({eye}.href).then(r => r.text())")
            entry.download_rows = len([line for line in text.splitlines() if line.strip()])
            self.click(f"{row}.querySelector('a[iconname=information-circle]')", f"the info button of {path}")
            self.page.wait_for("!!document.querySelector('nav .prose')", timeout=10)
            entry.caption = self.js("document.querySelector('nav .prose').innerText.trim()")
            entry.screenshot, _ = self.shot(f"{entry.category}-{path}")
            return
        self.click(eye, f"the eye button of {path}")
        found = (
            "__t.contentImages().find(i => i.src === results[%r].data_uri)" % path
        )  # the data the report embedded for this path, shown in the content area
        try:
            self.page.wait_for(f"!!({found})", timeout=10)
        except browser.BrowserError:
            frames = self.js("document.querySelectorAll('iframe').length")
            entry.kind = "frame" if frames else ""
            entry.error = "an iframe instead of an image" if frames else "no image appeared in the page"
            entry.screenshot, _ = self.shot(f"{entry.category}-{path}")
            return
        entry.kind = "image"
        self.js(f"({found}).decode().then(() => true, () => false)")  # bounded by the CDP timeout
        entry.natural = tuple(self.js(f"[({found}).naturalWidth, ({found}).naturalHeight]"))
        entry.box = tuple(self.js(f"__t.box({found})"))
        entry.on_top = self.js(f"""(() => {{ const img = {found}; const r = img.getBoundingClientRect();
                const x = Math.min(Math.max(r.x + r.width / 2, 0), innerWidth - 1);
                const y = Math.min(Math.max(r.y + r.height / 2, 0), innerHeight - 1);
                return document.elementFromPoint(x, y) === img; }})()""")
        entry.screenshot, png = self.shot(f"{entry.category}-{path}")
        entry.variation = pixel_variation(png, visible_part(entry.box))


def visible_part(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The part of a box = (x, y, width, height) inside the window."""
    x0, y0 = max(box[0], 0), max(box[1], 0)
    x1, y1 = min(box[0] + box[2], WINDOW[0]), min(box[1] + box[3], WINDOW[1])
    return (x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


def walk_report(report: Path, executable: str, screens: Path) -> Rendered:
    screens.mkdir(parents=True, exist_ok=True)
    seen = Rendered()
    with browser.Browser(executable, timeout=30, window=WINDOW) as chromium:
        page = chromium.new_page(*WINDOW)
        page.navigate(report.resolve().as_uri(), timeout=60)
        page.evaluate(HELPERS)
        walker = ReportWalker(page, screens)
        page.wait_for("__t.categories().length > 0 && !!document.querySelector('.prose')", timeout=20)

        # The front page (the workflow description beside the rule graph).
        seen.front_text = page.evaluate("document.querySelector('.prose').innerText")
        seen.front_table = page.evaluate(
            "Array.from(document.querySelectorAll('.prose table tr')).filter(tr => __t.visible(tr))"
            ".map(tr => Array.from(tr.cells).map(c => c.innerText.replace(/\\s+/g, ' ').trim()))"
        )
        if seen.front_table:
            page.evaluate("document.querySelector('.prose table').scrollIntoView({block: 'center'})")
            seen.front_table_box = tuple(page.evaluate("__t.box(document.querySelector('.prose table'))"))
        seen.front_screenshot, png = walker.shot("front_page")
        seen.front_table_variation = pixel_variation(png, visible_part(seen.front_table_box))

        # The results menu: every category, its subcategories, every result, each one opened.
        seen.menu_categories = page.evaluate("__t.categories()")
        for category in seen.menu_categories:
            walker.open_category(category)
            subcategories = page.evaluate("__t.subcategoryLinks()") or [None]
            for subcategory in subcategories:
                if subcategory is not None:
                    walker.open_category(category, subcategory)
                paths = walker.listed_paths()
                for path in paths:
                    seen.listed[path] = (category, subcategory)
                for path in paths:
                    entry = seen.opened[path] = Opened(category, subcategory)
                    try:
                        walker.open_result(path, entry)
                    except browser.BrowserError as error:
                        entry.error = str(error)
                    if entry.kind == "download":  # the info view replaced the list
                        walker.open_category(category, subcategory)
        seen.console_errors = chromium.errors()
    return seen


# -- fixtures ----------------------------------------------------------------------------------
@prepared("chromium", rank=0)
def chromium_executable(workspace: Workspace) -> str:
    """Chromium from PATH; installed with apt-get when missing and running as root, else a skip."""
    found = browser.find_chromium()
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed (apt-get install chromium, or set $CHROMIUM); not root, so not installed here")
    installed = workspace.run(["bash", str(REPO / "tests" / "apt_install.sh"), "chromium"], timeout=900)
    if installed.returncode == 0 and browser.find_chromium():
        return browser.find_chromium()
    pytest.skip(f"Chromium is not installed and apt-get could not install it:\n{installed.stderr[-3000:]}")


@pytest.fixture(scope="module")
def report_in_browser(small_run, chromium_executable, tmp_path_factory):
    """(what the browser saw, the results expected, the run's config, the project) for the small study's run."""
    project, args, _ = small_run
    folder = tmp_path_factory.mktemp("report")
    report = folder / "report.html"
    snakemake(project, *args, "--report", str(report), timeout=300)
    expected = expected_results(project, args)
    seen = walk_report(report, chromium_executable, folder / "screenshots")
    return seen, expected, merged_config(project, args), project


# -- tests -------------------------------------------------------------------------------------
def test_every_result_is_listed_in_its_category(report_in_browser):
    seen, expected, _, _ = report_in_browser
    assert expected, "the small study's DAG has no report() outputs"
    categories = {category for category, _ in expected.values() if category}
    assert sorted(seen.menu_categories) == sorted(categories), f"menu: {seen.menu_categories}"
    missing = sorted(set(expected) - set(seen.listed))
    assert not missing, f"results missing from the report's menu: {missing} (front page: {seen.front_screenshot})"
    assert not sorted(set(seen.listed) - set(expected)), "results the run did not produce"
    for path, (category, subcategory) in expected.items():
        if category is not None:
            assert seen.listed[path] == (category, subcategory), path


def test_every_figure_renders_visibly_and_is_not_blank(report_in_browser):
    seen, expected, _, project = report_in_browser
    images = sorted(path for path in expected if path.lower().endswith(IMAGE_SUFFIXES))
    assert images, "no figure in the small study's report"
    problems = []
    for path in images:
        entry = seen.opened.get(path)
        if entry is None:
            problems.append(f"{path}: not listed, never opened")
            continue
        where = f" (screenshot {entry.screenshot})"
        if entry.error or entry.kind != "image":
            problems.append(f"{path}: {entry.error or entry.kind}{where}")
            continue
        if path.endswith(".png") and entry.natural != png_size(project / path):
            problems.append(f"{path}: rendered at natural size {entry.natural}, the file is {png_size(project / path)}{where}")
        visible = visible_part(entry.box)
        if entry.natural[0] == 0 or visible[2] < 200 or visible[3] < 200 or not entry.on_top:
            problems.append(f"{path}: not visible (natural size {entry.natural}, box {entry.box}, on top {entry.on_top}){where}")
        std, share = entry.variation
        if std < 0.03 or share < 0.01:
            problems.append(f"{path}: blank in the screenshot (grey std {std:.3f}, {share:.1%} of pixels off the background){where}")
    assert not problems, "\n".join(problems)
    rendered = [path for path, entry in seen.opened.items() if entry.kind == "image" and entry.natural[0] > 0]
    assert len(rendered) == len(images), f"{len(rendered)} images rendered, {len(images)} figures expected: {rendered}"


def test_every_table_is_offered_with_all_its_rows_and_its_description(report_in_browser):
    # Snakemake 9 shows a CSV result as a download (its eye button), not in the page.
    seen, expected, _, project = report_in_browser
    tables = sorted(path for path in expected if path.endswith(".csv"))
    assert "results/aggregate/summary.csv" in tables
    for path in tables:
        entry = seen.opened[path]
        assert entry.kind == "download" and not entry.error, (path, entry)
        assert entry.download_name == Path(path).name
        rows = [line for line in (project / path).read_text().splitlines() if line.strip()]
        assert entry.download_rows == len(rows), f"{path}: {entry.download_rows} rows offered, {len(rows)} in the file"
        assert len(entry.caption) > 40, f"{path}: no description shown ({entry.screenshot})"
        assert not any(mark in entry.caption for mark in ("{{", "{%")), entry.caption


def test_front_page_describes_this_run(report_in_browser):
    from extreme_sparsity.plumbing import settings

    seen, _, config, _ = report_in_browser
    text = " ".join(seen.front_text.split())
    n_p, n_seeds = len(settings.sparsities(config)), len(settings.seeds(config))
    n_models = n_p * n_seeds * len(config["architectures"])
    seeds = f"{n_seeds} seed" if n_seeds == 1 else f"{n_seeds} seeds"
    for phrase in (f"{n_p} sparsities", seeds, f"{n_models} models", f"N = {config['model']['n_hidden']}"):
        assert phrase in text, f"front page does not say {phrase!r}: {text}"
    leftovers = [mark for mark in TEMPLATE_LEFTOVERS if mark in text]
    assert not leftovers, f"template text on the front page: {leftovers}: {text}"
    for metric in config["metrics"]:
        assert metric.replace("_", " ") in text, metric
    stopping = config["training"]["stopping"]
    if stopping["rule"] == "validation_target":
        assert f"validation accuracy reached {stopping['target_accuracy']}" in text, text
        assert "at most" in text and f"{stopping['patience']} epochs without a better" in text, text
    else:
        assert "exactly" in text, text


def test_front_page_shows_the_specialization_table_with_a_row_per_p(report_in_browser):
    from extreme_sparsity.plumbing import settings

    seen, _, config, _ = report_in_browser
    assert seen.front_table, f"no visible table on the front page ({seen.front_screenshot})"
    header, *rows = seen.front_table
    assert header[:2] == ["p", "Q"] and len(header) == 2 + len(config["metrics"]), header
    ps = [float(p) for p in settings.sparsities(config)]
    assert [float(row[0]) for row in rows] == pytest.approx(ps, rel=1e-4)
    # mean ± sd over seeds; the mean alone for one seed
    value = r"-?\d+\.\d\d" + (r" ± \d+\.\d\d" if len(settings.seeds(config)) > 1 else "")
    for row in rows:
        assert len(row) == len(header)
        for cell in row[2:]:
            assert re.fullmatch(value, cell), f"cell {cell!r} in {row}"
    box = visible_part(seen.front_table_box)
    assert box[2] > 200 and box[3] > 30 * len(seen.front_table), f"table box {seen.front_table_box}"
    std, share = seen.front_table_variation
    assert std > 0.03 and share > 0.01, f"the table looks blank ({seen.front_screenshot})"


def test_report_page_raises_no_javascript_error(report_in_browser):
    seen = report_in_browser[0]
    assert not seen.console_errors, seen.console_errors
