"""The notebooks as a course (docs/assignments.md): the student release, written with nbgrader's own
preprocessors (solutions replaced by stubs, hidden tests removed), and autograding of a submission
against the instructor version (nbgrader's cell metadata and its rule for a test cell's points)."""
from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from distill_lab._io import atomic_write_text
from distill_lab.reporting.notebooks import find_notebooks, ipc_kernel_config

__all__ = ["Exercise", "Grade", "exercises", "release_notebook", "write_release",
           "restore_tests", "grade_executed", "grade_notebook", "solution_lines"]

_BEGIN, _END = "BEGIN SOLUTION", "END SOLUTION"


@dataclass(frozen=True)
class Exercise:
    """One graded cell: `kind` is "autograded" (a code test cell) or "manual" (a written answer)."""
    notebook: str
    grade_id: str
    points: float
    kind: str


@dataclass
class Grade:
    """A graded notebook: points per exercise (None: left to the instructor), and the cells that
    raised outside the test cells (a release must have none)."""
    notebook: str
    scores: dict = field(default_factory=dict)       # grade_id -> (score or None, max points)
    other_errors: list = field(default_factory=list)  # (cell index, "Ename: value")

    @property
    def autograded(self) -> tuple:
        done = [s for s in self.scores.values() if s[0] is not None]
        return sum(s for s, _ in done), sum(m for _, m in done)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises(nb, name: str = "") -> list[Exercise]:
    """The graded cells of a notebook, in order."""
    found = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if meta.get("grade"):
            kind = "autograded" if cell.cell_type == "code" and not meta.get("solution") else "manual"
            found.append(Exercise(name, meta["grade_id"], float(meta.get("points", 0)), kind))
    return found


def release_notebook(nb):
    """The student version of an instructor notebook: nbgrader's ClearSolutions (stubs in place of
    every solution region), ClearHiddenTests and ClearMarkScheme; the outputs of the solution
    and test cells cleared; every other cell, its outputs included, unchanged."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

    nb = copy.deepcopy(nb)
    resources = {}
    for step in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
        nb, resources = step.preprocess(nb, resources)
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            cell.outputs, cell.execution_count = [], None
    nb.metadata.get("distill_lab", {}).pop("source_hash", None)  # the code changed: no longer fresh
    nb.metadata.setdefault("distill_lab", {})["release"] = "student"
    return nb


def solution_lines(instructor, release) -> list[str]:
    """Lines of the instructor's solution regions that the release still holds (should be none)."""
    secret, public = set(), set()
    for cell in instructor.cells:
        for inside, line in _regions(cell.source):
            if not inside:
                public.add(line.strip())
            elif line.strip() and not line.strip().startswith("#"):
                secret.add(line.strip())
    shown = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    return sorted((secret & shown) - public)  # a line also written outside a region is public


def _regions(source: str):
    """(inside a solution or hidden-test region, line) for every line but the markers."""
    inside = False
    for line in source.splitlines():
        if _BEGIN in line or "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif _END in line or "END HIDDEN TESTS" in line:
            inside = False
        else:
            yield inside, line


def write_release(notebooks_dir, out, only=None) -> list[Path]:
    """Write the student release of every notebook (or `only` those ids) into the folder `out`."""
    sources = find_notebooks(notebooks_dir, only)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; pass a folder for the student notebooks")
    released = [(source, release_notebook(nbformat.read(source, as_version=4))) for source in sources]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source, nb in released:  # every notebook converted before the first is written
        written.append(atomic_write_text(out / source.name, nbformat.writes(nb) + "\n"))
    return written


def restore_tests(submission, instructor):
    """The submission with every test cell's source put back from the instructor version (hidden
    tests included), matched by nbgrader's grade_id: what a student changed there does not count."""
    tests = {_nbgrader(c)["grade_id"]: c for c in instructor.cells
             if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")}
    nb = copy.deepcopy(submission)
    seen = set()
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in tests:
            cell.source = tests[grade_id].source
            cell.metadata["nbgrader"] = copy.deepcopy(tests[grade_id].metadata["nbgrader"])
            seen.add(grade_id)
    missing = sorted(set(tests) - seen)
    if missing:
        raise ValueError(f"the submission lacks the test cell(s) {missing}; start again from the "
                         "released notebook (test cells must stay in place)")
    return nb


def grade_executed(nb, name: str = "") -> Grade:
    """Points of an executed notebook by nbgrader's rule: a test cell that raised (or wrote to
    stderr) scores 0, otherwise its points; a written answer is left to the instructor (None)."""
    from nbgrader.utils import determine_grade

    grade = Grade(name)
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if meta.get("grade"):
            score, points = determine_grade(cell)
            grade.scores[meta["grade_id"]] = (None if meta.get("solution") else score, points)
        elif cell.cell_type == "code":
            grade.other_errors += [(index, f"{o.get('ename')}: {o.get('evalue')}")
                                   for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return grade


def grade_notebook(submission, instructor, *, timeout: int = 1200, kernel_name: str = "python3") -> Grade:
    """Grade the notebook file `submission` against the instructor notebook file: restore the test
    cells, execute it top to bottom in a scratch folder (errors do not stop the run), score it."""
    from nbclient import NotebookClient

    nb = restore_tests(nbformat.read(submission, as_version=4),
                       nbformat.read(instructor, as_version=4))
    with tempfile.TemporaryDirectory(prefix="dl-grade-") as cwd, ipc_kernel_config() as options:
        NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                       resources={"metadata": {"path": cwd}}, **options).execute()  # results/ in cwd
    return grade_executed(nb, Path(submission).name)
