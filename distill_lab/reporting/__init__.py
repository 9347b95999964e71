"""Reporting: run the notebook sequence headless into an HTML report (`runner`, with the page
rendered by `index` from `templates/`), the notebooks' headline figures (`figures`), and the
refresh of the committed notebooks' outputs (`refresh`). Science modules never import this layer.
"""
import importlib

from distill_lab.reporting.figures import read_results, write_results

# Every notebook imports write_results from here; the runner's modules pull in nbformat and its
# JSON-schema validator (about 2 s of imports per kernel), so they load on first use only.
_LAZY = {"QUICK_PARAMETERS": "notebooks", "find_notebooks": "notebooks", "source_hash": "notebooks",
         "refresh_notebooks": "refresh", "NotebookRun": "runner", "run_sequence": "runner"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["QUICK_PARAMETERS", "NotebookRun", "write_results", "read_results", "find_notebooks",
           "source_hash", "run_sequence", "refresh_notebooks"]
