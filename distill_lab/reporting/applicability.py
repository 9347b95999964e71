"""Which notebooks apply to a data set. A notebook declares what it needs in its metadata,
`{"distill_lab": {"requires": {...}}}`:

- `"images": true` — image data (C, H, W); a table's rows have no pixels to generate or augment;
- `"min_per_class": N` — at least N training samples in every class of the split the notebook
  works on (in quick mode, the quick subset).

`distill-lab run` skips a notebook that does not apply, its reason shown in the index, and
refuses `--only` of one before any kernel starts."""
from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["REQUIREMENTS", "requirements", "unmet", "data_facts"]

REQUIREMENTS = ("images", "min_per_class")


def requirements(source) -> dict:
    """A notebook's declared requirements ({} when it declares none); unknown keys are an error."""
    nb = nbformat.read(Path(source), as_version=4)
    needs = dict(nb.metadata.get("distill_lab", {}).get("requires", {}))
    unknown = sorted(set(needs) - set(REQUIREMENTS))
    if unknown:
        raise ValueError(f"{Path(source).name} declares unknown requirement(s) {unknown} in its "
                         f"metadata; known: {list(REQUIREMENTS)}")
    return needs


def data_facts(parameters: dict):
    """The facts (`distill_lab.data.DataFacts`) of the data set the notebooks will get, or None
    when `parameters` names none."""
    if "dataset" not in parameters:
        return None
    from distill_lab.data import describe  # lazy: data.py imports scikit-learn

    return describe(parameters["dataset"], quick=bool(parameters.get("quick", True)),
                    label_column=parameters.get("label_column"),
                    image_shape=parameters.get("image_shape"))


def unmet(needs: dict, facts) -> str | None:
    """Why a notebook needing `needs` cannot run on data `facts` (one sentence), or None."""
    if facts is None:
        return None
    if needs.get("images") and facts.image_shape is None:
        return (f"needs images (generative models and DSA work on pixels); {facts.name!r} is a "
                "table")
    least = needs.get("min_per_class")
    if least and facts.min_per_class < least:
        return (f"needs at least {least} training samples per class; class "
                f"{facts.smallest_class!r} of {facts.name!r} has {facts.min_per_class}")
    return None
