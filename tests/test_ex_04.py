"""Notebook 04's implement-exercises (greedy k-center, herding) in isolation: each solution passes
its test cell silently, the released stub fails it (helpers in tests/test_ex_01.py)."""
import pytest

from conftest import REPO_ROOT
from test_ex_01 import exercise_ids, exercise_outcome

NOTEBOOK = REPO_ROOT / "notebooks" / "04_representative.ipynb"


@pytest.mark.parametrize("grade_id", exercise_ids(NOTEBOOK))
def test_the_solution_passes_its_test_silently(grade_id):
    error, output = exercise_outcome(NOTEBOOK, grade_id, release=False)
    assert error is None, f"{grade_id}: {error!r}"
    assert output == "", f"{grade_id}: a test cell must print nothing (nbgrader scores stderr as 0)"


@pytest.mark.parametrize("grade_id", exercise_ids(NOTEBOOK))
def test_the_released_stub_fails_its_test(grade_id):
    error, _ = exercise_outcome(NOTEBOOK, grade_id, release=True)
    assert isinstance(error, NotImplementedError), f"{grade_id}: the stub gave {error!r}"


def test_the_notebook_has_its_two_implement_exercises():
    assert exercise_ids(NOTEBOOK) == ["04-kcenter", "04-herding"]
