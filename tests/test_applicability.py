"""Which notebooks apply to a data set (issue 21, item 2): a notebook's declared requirements, the
data's facts, the run that skips an inapplicable notebook with its reason in the index, and
`--only` of one refused before any kernel starts. Also what makes the other notebooks work on a
table: the tabular protocol, `feature_rows`, `fit_classes`."""
import json
import shutil
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest

from distill_lab.data import DataFacts, describe, fit_classes, load
from distill_lab.reporting.applicability import requirements, unmet
from distill_lab.reporting.runner import plan_sequence, run_sequence

matplotlib.use("Agg")
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _needing(folder: Path, needs: dict) -> Path:
    """The passing fixture notebook, copied into `folder`, declaring `needs`."""
    folder.mkdir(exist_ok=True)
    nb = nbformat.read(FIXTURES / "01_pass.ipynb", as_version=4)
    nb.metadata["distill_lab"] = {"requires": needs}
    nbformat.write(nb, folder / "01_pass.ipynb")
    shutil.copy(FIXTURES / "03_noparams.ipynb", folder)
    return folder


def test_the_generative_notebooks_need_images_and_the_rest_declare_nothing_unknown():
    needs = {path.stem[:2]: requirements(path) for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))}
    assert needs["07"] == {"images": True} and needs["08"] == {"images": True}
    assert all(not needs[i].get("images") for i in ("00", "01", "02", "03", "04", "05", "06",
                                                    "09", "11"))


def test_an_unknown_requirement_is_an_error(tmp_path):
    path = _needing(tmp_path, {"gpu": True}) / "01_pass.ipynb"
    with pytest.raises(ValueError, match=r"01_pass.ipynb declares unknown requirement\(s\) "
                                         r"\['gpu'\].*known: \['images', 'min_per_class'\]"):
        requirements(path)


def test_facts_of_the_builtin_sets_need_no_files_and_a_table_is_read(tmp_path):
    from user_files import table

    assert describe("mnist", quick=False) == DataFacts("mnist", (1, 28, 28), 60000, 10, 5421, "5")
    quick = describe("fashion_mnist")
    assert quick.n_train == 1500 and quick.min_per_class == 150     # QUICK_N_TRAIN, 10 even classes
    assert quick.image_shape == (1, 16, 16)                         # resized to QUICK_MAX_SIDE
    digits = describe("digits")
    assert digits.kind == "images" and digits.n_classes == 10
    assert digits.min_per_class == np.bincount(load("digits").y_train).min()
    facts = describe(str(table(tmp_path / "t.csv", n_per_class=(9, 6, 12))))
    assert facts.kind == "table" and facts.n_classes == 3 and facts.smallest_class == "b"
    assert facts.min_per_class < 6  # after the stratified 20% hold-out


def test_unmet_names_the_requirement_and_the_class():
    table = DataFacts("wine", None, 142, 3, 38, "class_2")
    assert unmet({}, table) is None and unmet({"images": True}, None) is None
    assert unmet({"images": True}, table) == ("needs images (generative models and DSA work on "
                                              "pixels); 'wine' is a table")
    assert unmet({"min_per_class": 40}, table) == ("needs at least 40 training samples per "
                                                   "class; class 'class_2' of 'wine' has 38")
    assert unmet({"min_per_class": 38, "images": False}, table) is None


def test_a_run_on_a_table_skips_what_needs_images_with_its_reason(tmp_path):
    from user_files import table

    notebooks = _needing(tmp_path / "nbs", {"images": True})
    data = table(tmp_path / "t.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "01_pass.html").write_text("an earlier run's page, with other parameters")
    runs = {r.name: r for r in run_sequence(notebooks, out, parameters={"dataset": str(data)},
                                            allow_extra=True, verbose=False)}
    assert runs["01_pass"].status == "inapplicable" and "'t' is a table" in runs["01_pass"].reason
    assert runs["03_noparams"].status == "ok"
    assert not (out / "01_pass.html").exists() and not (out / "01_pass.ipynb").exists()
    index = (out / "index.html").read_text()
    assert "not applicable" in index and "needs images" in index
    assert "1 not applicable to the data" in index and 'href="01_pass.html"' not in index
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["01_pass"]["status"] == "inapplicable"
    # the same notebook on images runs
    runs = {r.name: r for r in run_sequence(notebooks, out, parameters={"dataset": "digits"},
                                            allow_extra=True, verbose=False)}
    assert runs["01_pass"].status == "ok"


def test_only_of_an_inapplicable_notebook_is_an_error_before_any_kernel(tmp_path, monkeypatch):
    from user_files import table

    from distill_lab.reporting import runner

    notebooks = _needing(tmp_path / "nbs", {"min_per_class": 50})
    data = table(tmp_path / "t.csv")
    monkeypatch.setattr(runner, "execute_notebook", lambda *a, **k: pytest.fail("a kernel ran"))
    with pytest.raises(ValueError, match=r"01_pass cannot run on dataset=.*t.csv': it needs at "
                                         r"least 50 training samples per class; class 'a' of 't' "
                                         r"has 4; leave it out of --only"):
        plan_sequence(notebooks, {"dataset": str(data)}, ["01"])
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="leave it out of --only"):
        run_sequence(notebooks, out, parameters={"dataset": str(data)}, only=["01"],
                     verbose=False)
    assert not out.exists()


def test_the_cli_refuses_only_of_an_inapplicable_notebook(tmp_path, capsys):
    from user_files import table

    from distill_lab import cli

    notebooks = _needing(tmp_path / "nbs", {"images": True})
    data = table(tmp_path / "t.csv")
    out = tmp_path / "out"
    assert cli.main(["run", "--only", "01", "-p", "dataset", str(data), "--notebooks",
                     str(notebooks), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "01_pass cannot run on dataset=" in err and "needs images" in err
    assert not out.exists()


def test_fit_classes_keeps_the_wanted_classes_or_takes_the_first():
    assert fit_classes([0, 1, 7], 10) == [0, 1, 7]
    assert fit_classes([0, 1, 7], 3) == [0, 1, 2]
    assert fit_classes([3], 2) == [0] and fit_classes([0, 1, 7], 2) == [0, 1]


def test_a_table_is_evaluated_by_the_mlp_and_refuses_the_paper_protocol(tmp_path):
    from user_files import table

    from distill_lab.evaluation.protocol import TABULAR_CONFIG, default_protocol

    ds = load(str(table(tmp_path / "t.csv")))
    protocol = default_protocol(ds, seeds=(0,))
    assert protocol.model == "mlp" and protocol.config == TABULAR_CONFIG
    with pytest.raises(ValueError, match=r"protocol='paper' evaluates ConvNet-3 with DSA on "
                                         r"images; data set 't' is a table"):
        default_protocol(ds, protocol="paper")
    assert default_protocol(load("digits")).model == "logreg"


def test_a_tables_samples_are_drawn_as_feature_rows():
    import matplotlib.pyplot as plt

    from distill_lab import plots

    X = np.array([[0.0, 5.0, -5.0], [1.0, -1.0, 0.5]], dtype=np.float32)
    fig, ax = plt.subplots()
    plots.image_grid(X, None, labels=["a", "b"], ax=ax, title="t")
    image = ax.get_images()[0].get_array()
    assert image.shape == (2, 3) and image.max() == 3.0 and image.min() == -3.0  # clipped at 3 std
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match=r"labels must hold one entry per sample \(2\), got 1"):
        plots.feature_rows(X, labels=["a"])
    plt.close(fig)


def test_a_sweep_over_data_sets_marks_the_cells_a_data_set_does_not_fit(tmp_path):
    from user_files import table

    from distill_lab.reporting.sweep import plan_sweep

    notebooks = _needing(tmp_path / "nbs", {"images": True})
    data = table(tmp_path / "t.csv")
    cells = plan_sweep({"notebooks": ["01"], "grid": {"dataset": ["digits", str(data)],
                                                      "seed": [0, 1]}}, notebooks)
    reasons = {(Path(c.injected["dataset"]).stem, c.injected["seed"]): c.reason for c in cells}
    assert reasons[("digits", 0)] is None and reasons[("digits", 1)] is None
    assert "'t' is a table" in reasons[("t", 0)] and reasons[("t", 1)] == reasons[("t", 0)]


def test_every_notebook_that_loads_data_declares_the_data_options():
    """`-p label_column species` or `-p image_shape [3,32,32]` reach every notebook that loads the
    data set (the explorer, 10, opens tables with their default label column only)."""
    from distill_lab.reporting.notebooks import declared_parameters

    for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        declared = declared_parameters(path)
        if "dataset" in declared and not path.stem.startswith("10"):
            assert {"label_column", "image_shape"} <= set(declared), path.name
            assert declared["label_column"] == declared["image_shape"] == "None"  # papermill: text
            source = "".join(c.source for c in nbformat.read(path, as_version=4).cells)
            assert "label_column=label_column, image_shape=image_shape" in source, path.name


def test_usable_budgets_and_sizes_per_class_keep_what_a_small_data_set_allows():
    from distill_lab.evaluation import usable_budgets, usable_per_class

    small = load("digits")  # 1,347 training images, 10 classes
    assert usable_budgets([0.1, 0.01, 0.005], small) == ([0.1, 0.01], [0.005])  # 7 < 10 classes
    assert usable_budgets([0.1, 0.005], small, keep=0.005) == ([0.1, 0.005], [])
    smallest = int(np.bincount(small.y_train).min())
    assert usable_per_class([10, smallest, smallest + 1], small) == ([10, smallest],
                                                                     [smallest + 1])


def test_quick_per_class_keeps_one_size_on_large_images_only():
    from types import SimpleNamespace

    from distill_lab.evaluation import quick_per_class

    mnist_like = SimpleNamespace(image_shape=(1, 16, 16))   # MNIST in quick mode
    digits_like = SimpleNamespace(image_shape=(1, 8, 8))
    table = SimpleNamespace(image_shape=None)
    assert quick_per_class([10, 50], mnist_like, quick=True) == ([10], [50])
    assert quick_per_class([10, 50], mnist_like, quick=False) == ([10, 50], [])
    assert quick_per_class([10, 50], digits_like, quick=True) == ([10, 50], [])
    assert quick_per_class([10, 50], table, quick=True) == ([10, 50], [])
    assert quick_per_class([10], mnist_like, quick=True) == ([10], [])
