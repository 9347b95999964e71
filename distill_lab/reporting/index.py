"""The report's `index.html`: the run's facts and, when a notebook states one, its verdict on top;
then one row per notebook with its status, duration, parameters, headline figures (labels and
units as the notebook declared them) and a thumbnail of its key figure, rendered from the Jinja2
template `templates/index.html.j2` (self-contained: the stylesheet is inline, values are
HTML-escaped, a verdict's Markdown is rendered by mistune with HTML escaped)."""
from __future__ import annotations

import functools
import importlib.metadata
import json
import time

import jinja2
import markupsafe
import mistune

from distill_lab.data import QUICK_MAX_SIDE, QUICK_N_TEST, QUICK_N_TRAIN, QUICK_ONE_SIZE_SIDE
from distill_lab.reporting.figures import HEADLINE_KEY, MAX_HEADLINE

__all__ = ["render_index", "format_value", "headline_figures", "other_figures", "run_facts",
           "verdicts", "VERDICT_KEY"]

VERDICT_KEY = "verdict"  # a results file's one-sentence verdict (Markdown), shown atop the index
# What quick=True bounds, whatever the data's size (the facts box says it beside `quick`).
QUICK_MEANS = (f"every notebook works on at most {QUICK_N_TRAIN:,} training and {QUICK_N_TEST:,} "
               f"test samples, stratified, of images at most {QUICK_MAX_SIDE} pixels on a side "
               f"(larger ones resized, e.g. MNIST's 28x28 to {QUICK_MAX_SIDE}x{QUICK_MAX_SIDE}); "
               "short trainings, few rounds and seeds; on images of "
               f"{QUICK_ONE_SIZE_SIDE}x{QUICK_ONE_SIZE_SIDE} and larger, 08 makes one set size: "
               "for a first look, not the full study (quick=False: full size, every sample)")


def format_value(value) -> str:
    """Python spelling (True, None, 'digits'), as in the notebooks' parameters cells."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value)


def _with_unit(value, unit: str) -> str:
    text = format_value(value)
    return text + unit if unit in ("%", "x") else f"{text} {unit}".rstrip()


def headline_figures(figures: dict, n: int = MAX_HEADLINE) -> dict:
    """What an index row leads with: the figures the notebook declared (`write_results(...,
    headline=)`), label -> value with its unit; otherwise the first `n` numbers, their names in
    words ("n selected")."""
    declared = figures.get(HEADLINE_KEY)
    if declared:
        return {e["label"]: _with_unit(figures[e["key"]], e["unit"]) for e in declared[:n]
                if e["key"] in figures}
    numbers = [(key, value) for key, value in figures.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return {key.replace("_", " "): value for key, value in numbers[:n]}


def other_figures(figures: dict) -> dict:
    """Every figure but the headline declaration and the verdict: the row's "all results"."""
    return {k: v for k, v in figures.items() if k not in (HEADLINE_KEY, VERDICT_KEY)}


def verdicts(runs) -> list:
    """(notebook name, its verdict as HTML) for every run whose results state one (a string)."""
    render = mistune.create_markdown(escape=True)
    return [(run.name, markupsafe.Markup(render(run.figures[VERDICT_KEY])))
            for run in runs if isinstance(run.figures.get(VERDICT_KEY), str)]


def run_facts(runs, generated: str, seconds: float) -> dict:
    """What the runs were run with, for the top of the page: each of dataset, budget, seed, device
    and quick as the runs' parameters hold it (several values joined), the package version, the
    date and the total time."""
    facts = {}
    for key in ("dataset", "budget", "seed", "device", "quick"):
        values = dict.fromkeys(format_value(run.parameters[key]) for run in runs
                               if key in run.parameters)
        if values:
            facts[key] = ", ".join(values)
    if "True" in facts.get("quick", ""):
        facts["quick"] += f" ({QUICK_MEANS})"
    try:
        facts["distill_lab"] = importlib.metadata.version("distill-lab")
    except importlib.metadata.PackageNotFoundError:
        facts["distill_lab"] = "not installed (run from a source tree)"
    facts.update({"date": generated, "total time": f"{seconds:.1f} s"})
    return facts


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("distill_lab.reporting", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["python_value"] = format_value
    env.filters["headline"] = headline_figures
    env.filters["other_figures"] = other_figures
    return env


def render_index(runs, *, title="distill_lab report", unit="notebooks", links=()) -> str:
    """The page for `runs` (NotebookRun records, in order), with a summary line on top naming
    `len(runs)` `unit`s, and then `links`, (label, href) pairs to the report's other files."""
    done = sum(run.status in ("ok", "skipped") for run in runs)
    failed = sum(run.status == "failed" for run in runs)
    n_inapplicable = sum(run.status == "inapplicable" for run in runs)
    seconds, generated = sum(run.seconds for run in runs), time.strftime("%Y-%m-%d %H:%M")
    return _environment().get_template("index.html.j2").render(
        runs=runs, title=title, unit=unit, links=list(links), n_ok=done, n_failed=failed,
        n_inapplicable=n_inapplicable,
        n_unfinished=len(runs) - done - failed - n_inapplicable,  # running, or interrupted
        seconds=seconds, generated=generated, facts=run_facts(runs, generated, seconds),
        verdicts=verdicts(runs))
