"""Notebooks 01's and 04's implement-exercises in isolation, without executing the notebook:
each solution passes its test cell (hidden tests included) silently, and the stub of the student
release fails it."""
import contextlib
import io

import nbformat
import pytest

from conftest import REPO_ROOT
from distill_lab.reporting.assignments import release_notebook

NOTEBOOK = REPO_ROOT / "notebooks" / "01_problem.ipynb"


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def exercise_ids(path):
    """The grade ids of the notebook's code solution cells (each has a test cell `<id>-test`)."""
    nb = nbformat.read(path, as_version=4)
    return [_grade_id(c) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def exercise_outcome(path, grade_id, *, release):
    """Run the parameters and imports cells, then the solution cell (the release's stub if
    `release`) and the instructor's test cell. Returns (exception or None, captured output)."""
    instructor = nbformat.read(path, as_version=4)
    source = release_notebook(instructor) if release else instructor
    code = [c for c in instructor.cells if c.cell_type == "code"]
    solution = next(c for c in source.cells if _grade_id(c) == grade_id)
    test = next(c for c in instructor.cells if _grade_id(c) == f"{grade_id}-test")
    namespace = {}
    exec(code[0].source, namespace)          # the parameters cell
    namespace["quick"] = False               # no process-wide thread limits inside pytest
    exec(code[1].source, namespace)          # the imports cell
    exec(solution.source, namespace)         # defines the function (or its stub)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(test.source, namespace)
    except Exception as error:  # noqa: BLE001 - any failure of the test cell is the outcome
        return error, out.getvalue()
    return None, out.getvalue()


# notebooks whose exercises depend only on the parameters and imports cells (04's too)
CASES = [(path, grade_id) for path in (NOTEBOOK, REPO_ROOT / "notebooks" / "04_representative.ipynb")
         for grade_id in exercise_ids(path)]


@pytest.mark.parametrize("path, grade_id", CASES, ids=[g for _, g in CASES])
def test_the_solution_passes_its_test_silently(path, grade_id):
    error, output = exercise_outcome(path, grade_id, release=False)
    assert error is None, f"{grade_id}: {error!r}"
    assert output == "", f"{grade_id}: a test cell must print nothing (nbgrader scores stderr as 0)"


@pytest.mark.parametrize("path, grade_id", CASES, ids=[g for _, g in CASES])
def test_the_released_stub_fails_its_test(path, grade_id):
    error, _ = exercise_outcome(path, grade_id, release=True)
    assert isinstance(error, NotImplementedError), f"{grade_id}: the stub gave {error!r}"


def test_the_notebook_has_its_three_implement_exercises():
    assert exercise_ids(NOTEBOOK) == ["01-brute-force-at-most", "01-lazy-greedy", "01-count-violations"]
