"""Refresh the committed notebooks (a development tool): re-execute each source notebook in quick
mode and copy only its outputs back, with the source hash that tests/test_notebooks.py checks to
catch outputs that are stale relative to the code."""
from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from distill_lab._io import atomic_write_text
from distill_lab.reporting.notebooks import (QUICK_PARAMETERS, declared_parameters, describe_error,
                                             execute_notebook, find_notebooks, injected_parameters,
                                             source_hash)
from distill_lab.reporting.parameters import check_parameters

__all__ = ["refresh_notebooks"]


def refresh_notebooks(notebooks_dir, only=None, *, kernel_name="python3", verbose=True) -> list[Path]:
    """Re-execute source notebooks in place in quick mode and store their source hash (dev tool).

    Only outputs and execution counts are copied back, so the committed sources stay clean (no
    injected cell, no papermill metadata). tests/test_notebooks.py compares the stored hash with
    `source_hash(nb, QUICK_PARAMETERS)` to catch outputs that are stale relative to the code.
    """
    plan = []
    for source in find_notebooks(notebooks_dir, only):  # every check before the first kernel
        injected = injected_parameters(source, QUICK_PARAMETERS, declared_parameters(source))
        check_parameters(injected, where=f"{source.name}: ")
        plan.append((source, injected))
    refreshed = []
    for source, injected in tqdm(plan, desc="refresh", unit="nb", disable=not verbose):
        with tempfile.TemporaryDirectory() as tmp:  # cwd: nothing lands beside the sources
            executed = Path(tmp) / source.name
            try:
                execute_notebook(source, executed, injected, tmp, kernel_name)
            except Exception as exc:
                raise RuntimeError(f"{source.name} failed in quick mode, left unchanged: "
                                   f"{describe_error(exc)}") from exc
            run_nb = nbformat.read(executed, as_version=4)
        nb = nbformat.read(source, as_version=4)
        _copy_outputs(run_nb, nb)
        nb.metadata.setdefault("distill_lab", {})["source_hash"] = source_hash(nb, QUICK_PARAMETERS)
        atomic_write_text(source, nbformat.writes(nb) + "\n")
        refreshed.append(source)
    return refreshed


def _copy_outputs(executed, nb) -> None:
    """Copy outputs cell by cell (skipping papermill's injected cell) and renumber executions."""
    cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if len(cells) != len(nb.cells):
        raise RuntimeError(f"executed notebook has {len(cells)} cells, the source {len(nb.cells)}")
    count = 0
    for ran, cell in zip(cells, nb.cells):
        if cell.cell_type != "code":
            continue
        count += ran.execution_count is not None
        cell.execution_count = count if ran.execution_count is not None else None
        cell.outputs = ran.outputs
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = cell.execution_count
