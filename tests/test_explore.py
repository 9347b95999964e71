"""The explorer as a live web app, driven in headless Chromium (Debian's /usr/bin/chromium through
Playwright's Python API; Playwright's own browser download is never used): Voilà serves notebook 10
and a method or budget change redraws the view; JupyterLab renders the explorer's widgets."""
import os
import subprocess
import sys
import time

import nbformat
import pytest

from conftest import REPO_ROOT
from distill_lab.reporting.explore import free_port, parameterized_copy, serve, wait_until_up

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXPLORER = REPO_ROOT / "notebooks" / "10_explorer.ipynb"
STATUS = ".widget-html:has-text('kept')"  # the explorer's status line: "<method> kept k of n ..."

needs_browser = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) or __import__("importlib").util.find_spec("playwright") is None,
    reason="needs /usr/bin/chromium and the playwright package")


def test_the_copy_carries_the_parameters(tmp_path):
    copy = nbformat.read(parameterized_copy(EXPLORER, {"dataset": "digits", "seed": 3}, tmp_path),
                         as_version=4)
    injected = [c for c in copy.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'seed = 3' in injected[0].source
    assert nbformat.read(EXPLORER, as_version=4).cells[1].source == copy.cells[1].source


def test_a_dead_server_is_reported_not_waited_for():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match="status 3"):
        wait_until_up(f"http://127.0.0.1:{free_port()}/", process, timeout=30)


def _browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _status(page) -> str:
    return page.locator(STATUS).last.inner_text()


def _wait_for_change(page, before: str, timeout_s: float = 120.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        now = _status(page)
        if now != before and "kept" in now:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"the explorer did not redraw within {timeout_s:g} s: {before!r}")


@pytest.mark.slow
@needs_browser
def test_the_voila_app_redraws_on_a_method_and_a_budget_change(kernel_env):
    from playwright.sync_api import sync_playwright

    with serve(EXPLORER, {"dataset": "digits"}) as url, sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.goto(url, timeout=300_000)
        page.wait_for_selector(STATUS, timeout=300_000)
        first = _status(page)
        view = page.locator(".widget-output img").first  # the figure the explorer redraws
        figure = view.get_attribute("src")
        assert "error" not in page.inner_text("body").lower().split("kept")[0][-200:]

        method = page.locator("select:has(option[value='herding'])").first
        method.select_option("herding")
        seconds = _wait_for_change(page, first)
        after_method = _status(page)
        assert after_method.startswith("herding kept"), after_method
        page.wait_for_function("([sel, old]) => { const img = document.querySelector(sel); "
                               "return img !== null && img.src !== old; }",
                               arg=[".widget-output img", figure], timeout=60_000)  # the figure too

        page.locator(".widget-slider .noUi-handle, .widget-slider [role='slider']").first.focus()
        page.keyboard.press("ArrowRight")
        _wait_for_change(page, after_method)
        assert _status(page).split("kept ")[1].split(" of")[0] != after_method.split("kept ")[1].split(" of")[0]
        browser.close()
    print(f"method change redrawn in {seconds:.1f} s")


@pytest.mark.slow
@needs_browser
def test_jupyterlab_renders_the_explorer_widgets(kernel_env, tmp_path):
    from playwright.sync_api import sync_playwright

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from distill_lab.widgets import Explorer\nExplorer(auto_update=False).widget")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, tmp_path / "widgets.ipynb")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--allow-root",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api", server, timeout=120)
        with sync_playwright() as p:
            browser = _browser(p)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/lab/tree/widgets.ipynb", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.locator(".jp-StatusBar-TextItem:has-text('Idle')").first.wait_for(timeout=120_000)
            page.click("text=Run", timeout=30_000)
            page.click("text=Run All Cells", timeout=30_000)
            page.wait_for_selector(".jp-OutputArea-output .widget-dropdown", timeout=180_000)
            outputs = page.inner_text(".jp-OutputArea")
            browser.close()
        assert "Error displaying widget" not in outputs and "kcenter" in outputs
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_explore_names_a_bad_data_set_before_any_server(capsys):
    from distill_lab.cli import main

    assert main(["explore", "--dataset", "no-such-set"]) == 2
    assert "dataset='no-such-set'" in capsys.readouterr().err


def test_explore_reads_a_table_by_its_label_column(tmp_path, capsys, monkeypatch):
    """`--label-column` reaches the check before any server and the explorer's notebook."""
    import contextlib

    from user_files import table

    from distill_lab import cli
    from distill_lab.reporting import explore
    from distill_lab.widgets import Explorer

    path = table(tmp_path / "plants.csv", n_per_class=(20, 20, 20), label="species")
    assert cli.main(["explore", "--dataset", str(path)]) == 2       # no label or target column
    assert "species" in capsys.readouterr().err                     # the columns it has are named
    served = []

    @contextlib.contextmanager
    def fake_serve(notebook, parameters, port, quiet):
        served.append(parameters)
        yield "http://127.0.0.1:1/"

    def stop(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(explore, "serve", fake_serve)
    monkeypatch.setattr(cli.time, "sleep", stop)
    assert cli.main(["explore", "--dataset", str(path), "--label-column", "species"]) == 0
    assert served[0]["label_column"] == "species" and served[0]["dataset"] == str(path)
    view = Explorer(dataset=str(path), label_column="species", auto_update=False)
    assert view.current_dataset().n_classes == 3
    assert view.current_dataset().class_names == ("a", "b", "c")
