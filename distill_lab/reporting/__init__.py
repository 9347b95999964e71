"""Reporting: run the notebook sequence headless into an HTML report (`runner`, with the page
rendered by `index` from `templates/`), the notebooks' headline figures (`figures`), and the
refresh of the committed notebooks' outputs (`refresh`). Science modules never import this layer.
"""
from distill_lab.reporting.figures import read_results, write_results
from distill_lab.reporting.notebooks import QUICK_PARAMETERS, find_notebooks, source_hash
from distill_lab.reporting.refresh import refresh_notebooks
from distill_lab.reporting.runner import NotebookRun, run_sequence

__all__ = ["QUICK_PARAMETERS", "NotebookRun", "write_results", "read_results", "find_notebooks",
           "source_hash", "run_sequence", "refresh_notebooks"]
