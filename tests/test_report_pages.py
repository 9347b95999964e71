"""The report's pages read well offline (MathJax from the report folder, not a CDN), and the index
states the run and leads with a few headline figures."""
import re
import shutil
from pathlib import Path

import pytest
from browser import CHROMIUM, rendered_text

from distill_lab.data import QUICK_N_TRAIN
from distill_lab.reporting.mathjax import MATHJAX_DIR
from distill_lab.reporting.runner import render_html, write_report

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


def test_math_is_rendered_by_the_reports_own_mathjax(tmp_path):
    executed = shutil.copy(FIXTURES / "01_pass.ipynb", tmp_path)  # has $...$ in markdown
    html = render_html(Path(executed), show_code=False).read_text(encoding="utf-8")
    write_report(tmp_path, {})
    assert r"\lvert S \rvert" in html
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    mathjax = [src for src in scripts if "mathjax" in src.lower()]
    assert mathjax and all(src.startswith(f"{MATHJAX_DIR}/MathJax.js?") for src in mathjax)
    assert not re.search(r"https?://[^\"' ]*mathjax", html, flags=re.IGNORECASE)
    folder = tmp_path / MATHJAX_DIR
    config = re.search(r"config=([^\"&]+)", mathjax[0]).group(1).split(",")
    assert (folder / "MathJax.js").is_file()
    assert all((folder / "config" / f"{name}.js").is_file() for name in config)
    assert (folder / "jax" / "input" / "TeX" / "config.js").is_file()
    assert (folder / "jax" / "output" / "HTML-CSS" / "autoload" / "mtable.js").is_file()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 5_000_000
    mtime = (folder / "MathJax.js").stat().st_mtime_ns
    write_report(tmp_path, {})  # copied once
    assert (folder / "MathJax.js").stat().st_mtime_ns == mtime


def test_index_states_the_run_and_leads_with_six_headline_figures():
    from distill_lab.reporting import NotebookRun
    from distill_lab.reporting.index import headline_figures, render_index

    figures = {"dataset": "digits", "n_selected": 30, "quick": True, **{f"acc_{i}": i / 10
                                                                        for i in range(8)}}
    assert list(headline_figures(figures)) == ["n selected", "acc 0", "acc 1", "acc 2", "acc 3",
                                               "acc 4"]
    params = {"dataset": "digits", "budget": 0.1, "seed": 0, "device": "cpu", "quick": True}
    runs = [NotebookRun("01_a", "ok", 1.5, params, figures),
            NotebookRun("02_b", "ok", 2.0, {**params, "seed": 1}, {})]
    page = render_index(runs)
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    for text in ("<dt>dataset</dt><dd>digits</dd>", "<dt>budget</dt><dd>0.1</dd>",
                 "<dt>seed</dt><dd>0, 1</dd>", "<dt>device</dt><dd>cpu</dd>",
                 "<dt>distill_lab</dt><dd>0.", "<dt>date</dt>",
                 "<dt>total time</dt><dd>3.5 s</dd>",
                 f"<dt>quick</dt><dd>True (every notebook works on at most {QUICK_N_TRAIN:,} "
                 "training and "):
        assert text in facts
    top, details = page.split("01_a.html")[1].split("<details>")
    assert top.count("<dt>") == 5 + 6 and "<dt>n selected</dt>" in top  # 5 parameters + 6 figures
    assert "<dt>acc_7</dt>" in details and 'href="results/01_a.json"' in details


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium (headless)")
def test_math_typesets_offline_in_a_browser(tmp_path):
    """No raw `$...$` is left in the page's text once MathJax has run, with no network at all."""
    executed = shutil.copy(FIXTURES / "01_pass.ipynb", tmp_path)
    page = render_html(Path(executed), show_code=False)
    write_report(tmp_path, {})
    dom, text = rendered_text(page)
    assert "MathJax" in dom and not re.findall(r"\$[^$\s][^$]*\$", text)


# ----------------------------------------------------------------------------- headline, verdict, thumbnail
def test_declared_headline_leads_with_labels_and_units(tmp_path):
    from distill_lab.reporting import NotebookRun, read_results, write_results
    from distill_lab.reporting.index import headline_figures, other_figures, render_index

    path = tmp_path / "r.json"
    write_results(path, {"dataset": "digits", "random_accuracy": 90.6667, "k": 135, "note": "x"},
                  headline={"random_accuracy": ("random, 10% budget", "%"), "k": ("kept", "images")})
    figures = read_results(path)
    assert headline_figures(figures) == {"random, 10% budget": "90.67%", "kept": "135 images"}
    assert other_figures(figures) == {"dataset": "digits", "random_accuracy": 90.6667, "k": 135,
                                      "note": "x"}
    page = render_index([NotebookRun("02_b", "ok", 1.0, {}, figures)])
    top, details = page.split("<details>")
    assert "<dt>random, 10% budget</dt><dd><code>90.67%</code>" in top
    assert "all 4 results" in details and "<dt>headline</dt>" not in details


@pytest.mark.parametrize("headline, match", [
    ({"missing": ("label", "")}, "does not hold"),
    ({"k": ("", "")}, "label non-empty"),
    ({"k": "label"}, r"\(label, unit\)"),
    ({}, "1 to 6"),
    ({f"k{i}": ("l", "") for i in range(7)}, "1 to 6"),
    ({"groups": ("per class", "")}, "a number or a string"),
])
def test_bad_headline_is_refused_and_nothing_is_written(tmp_path, headline, match):
    from distill_lab.reporting import write_results

    figures = {"k": 3, "groups": [1, 2], **{f"k{i}": i for i in range(7)}}
    with pytest.raises(ValueError, match=match):
        write_results(tmp_path / "r.json", figures, headline=headline)
    with pytest.raises(ValueError, match="headline="):
        write_results(tmp_path / "r.json", {"headline": 1})
    assert not list(tmp_path.iterdir())


def test_a_verdict_is_stated_on_top_as_rendered_markdown_with_html_escaped():
    from distill_lab.reporting import NotebookRun
    from distill_lab.reporting.index import render_index

    figures = {"verdict": "the claim holds on **digits**: `kcenter` <script>alert(1)</script>"}
    page = render_index([NotebookRun("09_experiments", "ok", 1.0, {}, figures),
                         NotebookRun("01_a", "ok", 1.0, {}, {"verdict": 3})])  # not text: not shown
    top = page.split("<table>")[0]
    assert top.count('class="verdict"') == 1 and 'href="09_experiments.html"' in top
    assert "<strong>digits</strong>" in top and "<code>kcenter</code>" in top
    assert "<script>" not in page and "&lt;script&gt;" in top


def test_the_key_figure_is_the_tagged_cells_last_image_else_the_first(tmp_path):
    import base64

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from distill_lab.reporting import NotebookRun
    from distill_lab.reporting.index import render_index
    from distill_lab.reporting.runner import key_figure

    def image(data: bytes):
        return new_output("display_data", data={"image/png": base64.b64encode(data).decode()})

    cells = [new_code_cell("a", outputs=[image(b"first")]),
             new_code_cell("b", outputs=[image(b"tagged-1"), image(b"tagged-2")],
                           metadata={"tags": ["key-figure"]}),
             new_code_cell("c", outputs=[image(b"last")])]
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    assert key_figure(path) == b"tagged-2"
    cells[1].metadata = {}
    nbformat.write(new_notebook(cells=cells), path)
    assert key_figure(path) == b"first"
    nbformat.write(new_notebook(cells=[new_code_cell("x")]), path)
    assert key_figure(path) is None
    page = render_index([NotebookRun("02_b", "ok", 1.0, {}, {}, thumbnail="figures/02_b.png"),
                         NotebookRun("03_c", "ok", 1.0, {}, {})])
    assert page.count('<img class="thumb"') == 1 and 'src="figures/02_b.png"' in page
