"""The report's `index.html`: one row per notebook with its status, duration, parameters and
headline figures, rendered from the Jinja2 template `templates/index.html.j2` (self-contained: the
stylesheet is inline, values are HTML-escaped)."""
from __future__ import annotations

import functools
import importlib.metadata
import json
import time

import jinja2

__all__ = ["render_index", "format_value", "headline_figures", "run_facts"]


def format_value(value) -> str:
    """Python spelling (True, None, 'digits'), as in the notebooks' parameters cells."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value)


def headline_figures(figures: dict, n: int = 6) -> dict:
    """The first `n` numbers of a notebook's results, their names in words ("n selected")."""
    numbers = [(key, value) for key, value in figures.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return {key.replace("_", " "): value for key, value in numbers[:n]}


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
    return env


def render_index(runs, *, title="distill_lab report", unit="notebooks", links=()) -> str:
    """The page for `runs` (NotebookRun records, in order), with a summary line on top naming
    `len(runs)` `unit`s, and then `links`, (label, href) pairs to the report's other files."""
    done = sum(run.status in ("ok", "skipped") for run in runs)
    failed = sum(run.status == "failed" for run in runs)
    seconds, generated = sum(run.seconds for run in runs), time.strftime("%Y-%m-%d %H:%M")
    return _environment().get_template("index.html.j2").render(
        runs=runs, title=title, unit=unit, links=list(links), n_ok=done, n_failed=failed,
        n_unfinished=len(runs) - done - failed,  # running, or interrupted
        seconds=seconds, generated=generated, facts=run_facts(runs, generated, seconds))
