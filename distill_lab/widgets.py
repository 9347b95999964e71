"""An ipywidgets explorer of selection methods: pick a data set, method, budget and seed; see the
selected samples as an image grid, their place in a 2-D PCA embedding of the training set, and the
test accuracy a model trained on them reaches under the default protocol (one seed).

The state lives in `Explorer` (no global state), so it can be driven headless: set the widgets'
values (each change calls `redraw()`) or call `update()`, then read `indices_` and `accuracy_`, or
`render_static()` for a figure. Displayed (`explorer` as a cell's last line), it shows the live
controls in a Jupyter front end and a PNG of the current view everywhere else (an HTML report, a
notebook viewer), never the widgets' raw repr.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from distill_lab import data
from distill_lab.evaluation import default_protocol, distilled_steps, train_and_score
from distill_lab.plots import image_grid, mosaic
from distill_lab.selectors.registry import SELECTORS, make_selector
from distill_lab.training import steps_per_epoch

__all__ = ["Explorer", "available_datasets", "BUDGETS"]

BUDGETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
_MAX_BACKGROUND = 3000  # training points drawn behind the selection in the embedding plot


def available_datasets(data_dir=None) -> list:
    """digits always; mnist, fashion_mnist and kmnist only when their four IDX files are already
    on disk (no download here)."""
    folder = data.default_data_dir() if data_dir is None else Path(data_dir)
    files = {"mnist": data.MNIST_FILES, "fashion_mnist": data.FASHION_MNIST_FILES,
             "kmnist": data.KMNIST_FILES}
    return ["digits"] + [name for name in data.IDX_DATASETS
                         if all((folder / name / f).is_file() for f in files[name])]


def _dataset_options(dataset, data_dir) -> list:
    """The dropdown's (label, value) pairs: the data sets on disk, and `dataset` (a user's path,
    labelled by its file or folder name) when it is not one of them."""
    names = available_datasets(data_dir)
    options = [(name, name) for name in names]
    if dataset not in names:
        options.append((Path(str(dataset)).stem, dataset))
    return options


class Explorer:
    """Dataset, method, budget and seed controls; `update()` fits the selector and scores it.

    Fitted state after `update()`: `indices_` (selection order), `accuracy_` (test accuracy in
    [0, 1] of `protocol.model` trained on the picks for T_full / r steps), `selection_seconds_`.
    """

    def __init__(self, dataset="digits", method="kcenter", budget=0.1, seed=0, device="cpu",
                 data_dir=None, n_show=40, auto_update=True, quick=True, label_column=None,
                 image_shape=None):
        import ipywidgets as widgets

        # quick: data.quick_subset of any data set (QUICK_N_TRAIN / QUICK_N_TEST samples, seed 0),
        # so that a change redraws in seconds on MNIST too; quick=False explores the whole set
        self.device, self.data_dir, self.n_show, self.quick = device, data_dir, n_show, quick
        # how to read a user's file (a table's label column, a flat .npz's image shape): used for
        # data sets given by path, never for the built-in ones
        self.label_column, self.image_shape = label_column, image_shape
        self._cache = {}  # dataset name -> (Dataset, (n, 2) PCA embedding)
        self.dataset_w = widgets.Dropdown(options=_dataset_options(dataset, data_dir),
                                          value=dataset, description="dataset")
        self.method_w = widgets.Dropdown(options=sorted(SELECTORS), value=method,
                                         description="method")
        self.budget_w = widgets.SelectionSlider(options=[(f"{100 * b:g}%", b) for b in BUDGETS],
                                                value=budget, description="budget",
                                                continuous_update=False)
        self.seed_w = widgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.widget = widgets.VBox([widgets.HBox([self.dataset_w, self.method_w]),
                                    widgets.HBox([self.budget_w, self.seed_w]),
                                    self.status, self.output])
        self.indices_ = self.accuracy_ = self.selection_seconds_ = None
        self.auto_update = auto_update
        if auto_update:
            for w in self._controls():
                w.observe(self.redraw, names="value")

    def _controls(self):
        return (self.dataset_w, self.method_w, self.budget_w, self.seed_w)

    # ------------------------------------------------------------------ state
    def _load(self, name):
        """The data set and its 2-D PCA embedding, computed once per data set."""
        if name not in self._cache:
            from sklearn.decomposition import PCA

            user = {} if name in data.DATASETS else dict(label_column=self.label_column,
                                                         image_shape=self.image_shape)
            ds = data.load(name, data_dir=self.data_dir, download=False, **user)
            ds = data.quick_subset(ds, self.quick, random_state=0)
            emb = PCA(n_components=2, random_state=0).fit_transform(ds.X_train)  # (n, 2)
            self._cache[name] = (ds, emb)
        return self._cache[name]

    def current_dataset(self):
        """The Dataset the dataset control points at (loaded once)."""
        return self._load(self.dataset_w.value)[0]

    def _selector(self, ds):
        params = {"budget": self.budget_w.value, "random_state": self.seed_w.value}
        accepted = SELECTORS[self.method_w.value]().get_params()
        # model-based selectors take the image shape and the device; random takes neither
        params.update({k: v for k, v in (("image_shape", ds.image_shape),
                                         ("device", self.device)) if k in accepted})
        return make_selector(self.method_w.value, **params)

    def update(self):
        """Fit the selector for the current controls, train on its picks, and store the result."""
        ds, _ = self._load(self.dataset_w.value)
        start = time.perf_counter()
        selector = self._selector(ds).fit(ds.X_train, ds.y_train)
        self.selection_seconds_ = time.perf_counter() - start
        self.indices_, self.weights_ = selector.indices_, selector.weights_
        protocol = default_protocol(ds, seeds=(self.seed_w.value,), device=self.device)
        # the full run's length (E epochs of D), without running it; the protocol's step rule
        # then gives the distilled set its steps (T_full / r under `compute`)
        full_steps = round(protocol.config.epochs *
                           steps_per_epoch(len(ds.y_train), protocol.config.batch_size))
        self.accuracy_, _, self.steps_ = train_and_score(
            ds, ds.X_train[self.indices_], ds.y_train[self.indices_], protocol, self.seed_w.value,
            steps=distilled_steps(protocol, full_steps, len(self.indices_)),
            sample_weight=self.weights_)
        self.status.value = self._summary(ds)
        return self

    def _summary(self, ds) -> str:
        return (f"<b>{self.method_w.value}</b> kept {len(self.indices_)} of {len(ds.y_train)} "
                f"training images; selection took {self.selection_seconds_:.2f} s; "
                f"{self.steps_} training steps give test accuracy <b>{self.accuracy_:.1%}</b>")

    def redraw(self, change=None):
        """Widget callback (and first draw): `update()`, then show `render_static()` in the output
        area; an error is shown in the status line instead, so the user can pick other settings."""
        import matplotlib.pyplot as plt

        self.status.value = "<i>selecting and training...</i>"
        try:
            self.update()
        except Exception as exc:  # noqa: BLE001 (shown to the user, who can pick other settings)
            self.status.value = f"<b>error:</b> {type(exc).__name__}: {exc}"
            return
        fig = self.render_static()
        # Set the Output widget's outputs directly (no `with output:` capture): nothing leaks into
        # the running cell's output when no front end renders widgets (papermill, nbval).
        self.output.outputs = ()
        self.output.append_display_data(fig)
        plt.close(fig)

    def sweep_seeds(self, seeds, *, method=None, budget=None) -> dict:
        """Accuracy and class coverage of `method` at `budget` (default: the controls') for each
        seed: {"seed": (s,), "accuracy": (s,) in [0, 1], "classes_covered": (s,) ints}.

        Runs `update()` per seed without redrawing; the controls and the fitted state are
        restored afterwards, so the view still shows what the controls say."""
        saved_values = [w.value for w in self._controls()]
        saved_state = (self.indices_, getattr(self, "weights_", None), self.accuracy_,
                       self.selection_seconds_, getattr(self, "steps_", None), self.status.value)
        if self.auto_update:
            for w in self._controls():
                w.unobserve(self.redraw, names="value")
        accs, covered = [], []
        try:
            self.method_w.value = self.method_w.value if method is None else method
            self.budget_w.value = self.budget_w.value if budget is None else budget
            for s in seeds:
                self.seed_w.value = int(s)
                self.update()
                accs.append(self.accuracy_)
                covered.append(len(np.unique(self.current_dataset().y_train[self.indices_])))
        finally:
            for w, value in zip(self._controls(), saved_values):
                w.value = value
            (self.indices_, self.weights_, self.accuracy_, self.selection_seconds_, self.steps_,
             self.status.value) = saved_state
            if self.auto_update:
                for w in self._controls():
                    w.observe(self.redraw, names="value")
        return {"seed": np.asarray(list(seeds), dtype=np.int64), "accuracy": np.asarray(accs),
                "classes_covered": np.asarray(covered, dtype=np.int64)}

    # ------------------------------------------------------------------ view
    def _repr_mimebundle_(self, include=None, exclude=None):
        """The live controls (widget view) where a front end renders widgets, and a PNG of the
        current view for everything else: nbconvert's HTML skips a widget view whose state was
        not saved and takes the PNG; a plain-text reader gets a one-line summary."""
        import base64
        import io

        import matplotlib.pyplot as plt

        fig = self.render_static()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = base64.b64encode(buf.getvalue()).decode("ascii")
        bundle["text/plain"] = (f"Explorer({self.dataset_w.value}, {self.method_w.value}, budget "
                                f"{self.budget_w.value:g}, seed {self.seed_w.value}): "
                                f"k={len(self.indices_)}, test accuracy {self.accuracy_:.1%}")
        return bundle

    def render_static(self):
        """A matplotlib figure of the current state: image grid and embedding (after `update()`)."""
        import matplotlib.pyplot as plt

        if self.indices_ is None:
            self.update()
        ds, emb = self._load(self.dataset_w.value)
        fig, (ax_img, ax_emb) = plt.subplots(1, 2, figsize=(11, 4.8),
                                             gridspec_kw={"width_ratios": [1, 1.2]})
        self.plot_images(ds, ax_img)
        self.plot_embedding(ds, emb, ax_emb)
        fig.suptitle(f"{ds.name}: {self.method_w.value}, budget {100 * self.budget_w.value:g}% "
                     f"(k={len(self.indices_)}), seed {self.seed_w.value}: test accuracy "
                     f"{self.accuracy_:.1%}")
        fig.tight_layout()
        return fig

    def plot_images(self, ds, ax):
        shown = self.indices_[:self.n_show]
        if ds.image_shape is None:  # a table: the picks' standardized features, one row each
            image_grid(ds.X_train[shown], None, ax=ax,
                       labels=[ds.label_names[c] for c in ds.y_train[shown]],
                       title=f"first {len(shown)} of {len(self.indices_)} picks (selection order)")
            return ax
        ax.imshow(mosaic(ds.X_train[shown], ds.image_shape, n_cols=8), cmap="gray_r",
                  vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel("labels, row by row: " + " ".join(
            "".join(map(str, ds.y_train[shown][i:i + 8])) for i in range(0, len(shown), 8)),
            fontsize="small")
        ax.set_title(f"first {len(shown)} of {len(self.indices_)} picks (selection order)")
        return ax

    def plot_embedding(self, ds, emb, ax):
        rng = np.random.default_rng(0)  # a fixed background sample, the same for every method
        back = rng.permutation(len(emb))[:_MAX_BACKGROUND]
        ax.scatter(emb[back, 0], emb[back, 1], s=4, color="lightgrey", label="training set")
        pts = ax.scatter(emb[self.indices_, 0], emb[self.indices_, 1], s=18,
                         c=ds.y_train[self.indices_], cmap="tab10", vmin=-0.5, vmax=9.5,
                         edgecolors="black", linewidths=0.4, label="selected (colour = label)")
        ax.figure.colorbar(pts, ax=ax, ticks=range(ds.n_classes), label="class label")
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_title("where the picks lie (PCA of the "
                     f"{'features' if ds.image_shape is None else 'pixels'})")
        ax.legend(fontsize="small", loc="best")
        return ax
