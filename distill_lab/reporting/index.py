"""The report's `index.html`: one row per notebook with its status, duration, parameters and
headline figures, rendered from the Jinja2 template `templates/index.html.j2` (self-contained: the
stylesheet is inline, values are HTML-escaped)."""
from __future__ import annotations

import functools
import json
import time

import jinja2

__all__ = ["render_index", "format_value"]


def format_value(value) -> str:
    """Python spelling (True, None, 'digits'), as in the notebooks' parameters cells."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("distill_lab.reporting", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["python_value"] = format_value
    return env


def render_index(runs, *, title="distill_lab report", unit="notebooks", links=()) -> str:
    """The page for `runs` (NotebookRun records, in order), with a summary line on top naming
    `len(runs)` `unit`s, and then `links`, (label, href) pairs to the report's other files."""
    failed = sum(run.status == "failed" for run in runs)
    return _environment().get_template("index.html.j2").render(
        runs=runs, title=title, unit=unit, links=list(links), n_ok=len(runs) - failed,
        n_failed=failed,
        seconds=sum(run.seconds for run in runs), generated=time.strftime("%Y-%m-%d %H:%M"))
