"""The notebooks as a course (docs/assignments.md): the student release holds no solution, runs to
the end with only its test cells failing and scores 0 on every autograded exercise; the instructor
versions score full points; the exercises follow nbgrader's conventions."""
import ast
import json

import nbformat
import pytest

from distill_lab.cli import main
from distill_lab.reporting.assignments import (exercises, grade_executed, grade_notebook,
                                               release_notebook, restore_tests, solution_lines,
                                               write_release)

from conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "assignment"
TINY = FIXTURES / "01_tiny.ipynb"
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MIN_IMPLEMENT_EXERCISES = 12


def _read(path):
    return nbformat.read(path, as_version=4)


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


# ----------------------------------------------------------------------------- on a tiny notebook
def test_the_release_replaces_solutions_and_drops_hidden_tests():
    instructor = _read(TINY)
    release = release_notebook(instructor)
    assert len(release.cells) == len(instructor.cells)
    solution = next(c for c in release.cells if _meta(c).get("grade_id") == "01-mean-squares")
    assert "raise NotImplementedError()" in solution.source and "squared" not in solution.source
    test = next(c for c in release.cells if _meta(c).get("grade_id") == "01-mean-squares-test")
    assert test.source == "assert mean_of_squares([3.0]) == 9.0"  # the visible check stays
    answer = next(c for c in release.cells if _meta(c).get("grade_id") == "01-why-answer")
    assert answer.source == "YOUR ANSWER HERE"
    assert solution_lines(instructor, release) == []
    assert solution_lines(instructor, instructor)  # the check can fail: it finds them in the source


def test_the_release_changes_nothing_else():
    instructor = _read(TINY)
    release = release_notebook(instructor)
    for before, after in zip(instructor.cells, release.cells):
        if not _meta(before):
            assert after.source == before.source and after.get("outputs") == before.get("outputs")
    assert _read(TINY).cells[4].source == instructor.cells[4].source  # the input is not mutated


def test_grading_gives_full_points_to_the_instructor_and_zero_to_the_stub(kernel_env, tmp_path):
    (student,) = write_release(FIXTURES, tmp_path)
    full = grade_notebook(TINY, TINY)
    empty = grade_notebook(student, TINY)
    assert full.scores == {"01-mean-squares-test": (2.0, 2.0), "01-why-answer": (None, 1.0)}
    assert empty.scores["01-mean-squares-test"] == (0, 2.0)
    assert full.other_errors == [] and empty.other_errors == []


def test_a_student_cannot_pass_by_editing_the_test_cell(kernel_env, tmp_path):
    (student,) = write_release(FIXTURES, tmp_path)
    nb = _read(student)
    test = next(c for c in nb.cells if _meta(c).get("grade_id") == "01-mean-squares-test")
    test.source = "pass"
    nbformat.write(nb, student)
    assert grade_notebook(student, TINY).scores["01-mean-squares-test"] == (0, 2.0)


def test_restore_names_a_missing_test_cell():
    nb = _read(TINY)
    nb.cells = [c for c in nb.cells if _meta(c).get("grade_id") != "01-mean-squares-test"]
    with pytest.raises(ValueError, match="01-mean-squares-test"):
        restore_tests(nb, _read(TINY))


def test_the_commands_write_a_release_and_grades(kernel_env, tmp_path, capsys):
    assert main(["assignments", str(tmp_path / "release"), "--notebooks", str(FIXTURES)]) == 0
    assert "1 autograded exercises (2 points)" in capsys.readouterr().out
    student = tmp_path / "release" / TINY.name
    assert main(["grade", str(student), "--notebooks", str(FIXTURES),
                 "--json", str(tmp_path / "grades.json")]) == 0
    grades = json.loads((tmp_path / "grades.json").read_text())[TINY.name]
    assert grades["autograded"] == {"score": 0, "points": 2.0}
    assert main(["grade", str(tmp_path / "missing.ipynb"), "--notebooks", str(FIXTURES)]) == 2
    assert "missing.ipynb" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the real notebooks
def _all_exercises():
    return [e for path in NOTEBOOKS for e in exercises(_read(path), path.name)]


def test_at_least_twelve_implement_exercises_with_points():
    auto = [e for e in _all_exercises() if e.kind == "autograded"]
    assert len(auto) >= MIN_IMPLEMENT_EXERCISES, [e.grade_id for e in auto]
    assert all(e.points > 0 for e in _all_exercises())
    ids = [e.grade_id for e in _all_exercises()]
    assert len(ids) == len(set(ids)), "grade ids must be unique across the course"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_exercise_is_a_solution_then_a_test_with_hidden_tests(path):
    nb = _read(path)
    for i, cell in enumerate(nb.cells):
        meta = _meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            assert "BEGIN SOLUTION" in cell.source, f"{path.name} cell {i}: no solution region"
            assert "NBVAL_CHECK_OUTPUT" not in cell.source, f"{path.name} cell {i}"
        if cell.cell_type == "code" and meta.get("grade"):
            assert "BEGIN HIDDEN TESTS" in cell.source, f"{path.name} cell {i}: no hidden tests"
            assert meta.get("locked") and meta.get("points", 0) > 0
            assert "NBVAL_CHECK_OUTPUT" not in cell.source, f"{path.name} cell {i}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_release_holds_no_solution_and_no_solution_output(path):
    instructor = _read(path)
    release = release_notebook(instructor)
    assert solution_lines(instructor, release) == []
    text = json.dumps(release)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
        assert marker not in text, f"{path.name}: {marker} left in the release"
    for cell in release.cells:
        if cell.cell_type == "code" and _meta(cell):
            assert not cell.outputs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_invariants_never_use_a_solution(path):
    nb = _read(path)
    defined = set()  # what a solution cell binds at the top level: its functions and variables
    for cell in nb.cells:
        if cell.cell_type == "code" and _meta(cell).get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    defined.add(node.name)
                else:
                    defined |= {n.id for n in ast.walk(node)
                                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    after = [c for c in nb.cells if c.cell_type == "code" and not _meta(c)]
    names = [n for n in ast.walk(ast.parse(after[-1].source)) if isinstance(n, ast.Name)]
    used = {n.id for n in names if isinstance(n.ctx, ast.Load)} - \
        {n.id for n in names if isinstance(n.ctx, ast.Store)}
    assert not (used & defined), f"{path.name}: the invariants use {sorted(used & defined)}"


# ----------------------------------------------------------------------------- executed (slow)
@pytest.mark.slow
def test_the_instructor_notebooks_score_full_points(quick_report):
    _, out, _ = quick_report
    for path in NOTEBOOKS:
        grade = grade_executed(_read(out / path.name), path.name)
        lost = {k: v for k, v in grade.scores.items() if v[0] is not None and v[0] != v[1]}
        assert not lost, f"{path.name}: the instructor version loses points on {lost}"


@pytest.mark.slow
def test_the_untouched_release_runs_to_the_end_and_scores_zero(kernel_env, tmp_path):
    """Every student notebook executed as released (stubs untouched, hidden tests restored for
    grading): only test cells fail, and every autograded exercise scores 0."""
    written = write_release(REPO_ROOT / "notebooks", tmp_path)
    for student in written:
        instructor = REPO_ROOT / "notebooks" / student.name
        if not exercises(_read(instructor)):
            continue
        grade = grade_notebook(student, instructor)
        assert grade.other_errors == [], f"{student.name}: cells outside the tests failed"
        scored = {k: s for k, (s, _) in grade.scores.items() if s is not None}
        assert all(s == 0 for s in scored.values()), f"{student.name}: {scored}"
