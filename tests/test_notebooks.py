"""Every committed notebook in notebooks/: executes under papermill in quick mode (the README's main
job, run once), prints in its checked cells what it printed when it was committed (nbval's check,
applied to that same execution), carries outputs that are fresh for its current code, and follows
the notebook conventions (parameters cell, kernel, final asserts, no machine paths).

nbval itself (`python -m pytest notebooks/`) runs in CI, a second time on other CPU kernels and
thread counts (.ci/run), so a checked cell that prints a machine-dependent number fails there."""
import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import coalesce_streams, get_sanitize_patterns

from browser import CHROMIUM, rendered_text
from distill_lab.reporting import QUICK_PARAMETERS, read_results, source_hash

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
REQUIRED_PARAMETERS = {"dataset", "budget", "seed", "device", "quick", "results_path"}
MACHINE_PATH = re.compile(r"/work/|/tmp/|/root/|/home/|/Users/")
ids = [p.stem for p in NOTEBOOKS]


def _read(path):
    return nbformat.read(path, as_version=4)


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _text_outputs(cell):
    """Everything a reader sees as text (images are skipped: base64 can spell anything)."""
    for output in cell.get("outputs", []):
        yield output.get("text", "")
        yield "\n".join(output.get("traceback", []))
        for mime, value in output.get("data", {}).items():
            if not mime.startswith("image/"):
                yield value if isinstance(value, str) else json.dumps(value)


def _checked_outputs(nb) -> dict:
    """Code cell number -> what nbval --nbval-lax compares in a `# NBVAL_CHECK_OUTPUT` cell: its
    streams and its outputs' data (images and widget ids left out, as nbval does), each after the
    sanitizers of nbval.cfg. Papermill's injected parameters cell is not counted."""
    patterns = get_sanitize_patterns((REPO_ROOT / "nbval.cfg").read_text())
    skipped = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}

    def clean(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    code = [c for c in _code_cells(nb) if "injected-parameters" not in c.metadata.get("tags", [])]
    checked = {}
    for i, cell in enumerate(code):
        if not re.search(r"^\s*#\s*NBVAL_CHECK_OUTPUT\b", cell.source, re.M):
            continue
        compared = []
        for output in coalesce_streams(cell.outputs):
            if output.output_type == "stream":
                compared.append((output.name, clean(output.text)))
            compared += [(mime, clean(value if isinstance(value, str) else json.dumps(value)))
                         for mime, value in output.get("data", {}).items() if mime not in skipped]
        checked[i] = compared
    return checked


@pytest.mark.slow
def test_main_job_succeeds_and_writes_an_index(quick_report):
    status, out, manifest = quick_report
    failed = {name: entry["error"] for name, entry in manifest.items() if entry["status"] != "ok"}
    assert status == 0 and not failed, f"notebooks failed under `distill-lab run`: {failed}"
    index = (out / "index.html").read_text()
    assert all(path.stem in index for path in NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_executes_in_quick_mode(path, quick_report):
    _, out, manifest = quick_report
    entry = manifest.get(path.stem)
    assert entry is not None, f"{path.name} was not run"
    assert entry["status"] == "ok", f"{path.name} failed: {entry['error']}"
    assert (out / f"{path.stem}.html").stat().st_size > 0
    figures = read_results(out / "results" / f"{path.stem}.json")
    assert figures, f"{path.name} wrote no figures"
    assert 1 <= len(figures.get("headline", [])) <= 6, f"{path.name} declares no headline figures"
    assert entry["thumbnail"] and (out / entry["thumbnail"]).is_file(), f"{path.name}: no key figure"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_checked_cells_print_what_was_committed(path, quick_report):
    _, out, _ = quick_report
    committed = _checked_outputs(_read(path))
    ran = _checked_outputs(_read(out / path.name))
    assert committed, f"{path.name} has no # NBVAL_CHECK_OUTPUT cell"
    assert ran.keys() == committed.keys(), f"{path.name}: the checked cells moved"
    for i, expected in committed.items():
        assert ran[i] == expected, (f"{path.name} checked code cell {i} printed something else "
                                    f"than its committed output (nbval would fail there)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_stored_outputs_are_fresh(path):
    nb = _read(path)
    stored = nb.metadata.get("distill_lab", {}).get("source_hash")
    hint = f"run `distill-lab refresh-notebooks --only {path.name[:2]}` and commit the result"
    assert stored is not None, f"{path.name} was never refreshed: {hint}"
    assert stored == source_hash(nb, QUICK_PARAMETERS), f"{path.name} has stale outputs: {hint}"
    code = [cell for cell in _code_cells(nb) if cell.source.strip()]
    assert all(cell.execution_count is not None for cell in code), f"{path.name}: unexecuted cells"
    assert any(cell.outputs for cell in code), f"{path.name} has no stored outputs: {hint}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_follows_the_conventions(path):
    nb = _read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    code = _code_cells(nb)
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "the first code cell is the one `parameters` cell"
    assignments = ast.parse(tagged[0].source).body
    for node in assignments:  # literals only, so papermill can override any of them
        assert isinstance(node, ast.Assign), f"parameters cell: not an assignment: {ast.unparse(node)}"
        ast.literal_eval(node.value)
    names = {target.id for node in assignments for target in node.targets}
    assert REQUIRED_PARAMETERS <= names, f"parameters cell lacks {REQUIRED_PARAMETERS - names}"
    # nbval re-runs the notebook with its own defaults and compares with outputs stored by a quick
    # refresh, so the defaults must be the quick ones
    defaults = {t.id: ast.literal_eval(n.value) for n in assignments for t in n.targets}
    assert {k: defaults[k] for k in QUICK_PARAMETERS} == QUICK_PARAMETERS
    last = ast.parse(code[-1].source).body
    assert last and isinstance(last[-1], ast.Assert), "the last code cell must end with asserts"
    assert not any(re.search(r"^\s*from\s+\S+\s+import\s+\*", c.source, re.M) for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_machine_paths(path):
    for i, cell in enumerate(_read(path).cells):
        for text in [cell.source, *_text_outputs(cell)]:
            match = MACHINE_PATH.search(text)
            assert match is None, f"{path.name} cell {i} holds a machine path: {text[match.start() - 40:match.end() + 40]!r}"


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium (headless)")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_report_page_typesets_every_formula_offline(path, quick_report):
    """No raw $...$ is left in a page of the main job's report once MathJax (the report's own
    copy) has run, and each Markdown table of the notebook is an HTML table there."""
    _, out, _ = quick_report
    dom, text = rendered_text(out / f"{path.stem}.html")
    raw = re.findall(r"\$[^$\s][^$]*?\$", text)
    assert "MathJax" in dom and not raw, f"{path.name}: raw TeX in the page: {raw[:3]}"
    tables = sum(len(re.findall(r"^\s*\|?\s*:?-{3,}", c.source, re.M))
                 for c in _read(path).cells if c.cell_type == "markdown")
    assert dom.count("<table") >= tables, f"{path.name}: a Markdown table did not render"
