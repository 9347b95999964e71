"""Notebook 04's implement-exercises (greedy k-center, herding): each solution passing its test
and each released stub failing it is checked in tests/test_ex_01.py, with 01's."""
from conftest import REPO_ROOT
from test_ex_01 import exercise_ids

NOTEBOOK = REPO_ROOT / "notebooks" / "04_representative.ipynb"


def test_the_notebook_has_its_two_implement_exercises():
    assert exercise_ids(NOTEBOOK) == ["04-kcenter", "04-herding"]
