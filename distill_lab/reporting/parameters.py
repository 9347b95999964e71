"""The parameters the notebooks share (`dataset`, `budget`, `seed`, `device`, `quick`): one schema,
checked once in the runner's own process before any kernel starts, so that a bad value fails in
a second instead of once per notebook; and the rule for names no selected notebook declares.
A `dataset` that is a path is read and checked whole here too (`distill_lab.data.check_dataset`),
so bad data stops a run before its report folder exists."""
from __future__ import annotations

import numbers
import warnings

__all__ = ["DEVICES", "check_parameters", "check_dataset", "check_declared"]

DEVICES = ("auto", "cpu", "cuda", "mps")


def _dataset(value) -> str | None:
    from distill_lab.data import DATASETS  # lazy: data.py imports scikit-learn
    from distill_lab.user_data import FILE_SUFFIXES, looks_like_path

    if (isinstance(value, str) and value in DATASETS) or looks_like_path(value):
        return None
    return (f"one of {list(DATASETS)}, or a path to a {', '.join(FILE_SUFFIXES)} file or to a "
            "folder with one sub-folder of images per class")


def _budget(value) -> str | None:
    from distill_lab._validation import is_int  # lazy: _validation imports scikit-learn

    fraction = (isinstance(value, numbers.Real) and not isinstance(value, bool)
                and not is_int(value) and 0 < value <= 1)
    if (is_int(value) and value >= 1) or fraction:
        return None
    return "an int >= 1 (a number of samples) or a float in (0, 1] (a fraction of the training set)"


def _seed(value) -> str | None:
    from distill_lab._validation import is_int  # lazy: _validation imports scikit-learn

    # numpy's RandomState, behind every random_state, takes 0 <= seed < 2**32
    return None if is_int(value) and 0 <= value < 2**32 else "an int in [0, 2**32)"


def _device(value) -> str | None:
    return None if isinstance(value, str) and value in DEVICES else f"one of {list(DEVICES)}"


def _quick(value) -> str | None:
    return None if isinstance(value, bool) else "true or false"


_SCHEMA = {"dataset": _dataset, "budget": _budget, "seed": _seed, "device": _device,
           "quick": _quick}


def check_parameters(parameters: dict, *, where: str = "", check_devices: bool = True,
                     check_data: bool = True) -> dict:
    """Raise a ValueError naming the first shared parameter whose value the schema refuses, and,
    with check_devices, a `device` ('cuda', 'mps') this machine does not have. Other names pass:
    only the notebooks declaring them know what they take. `where` prefixes the message.

    With check_data, a `dataset` path is read and checked (`check_dataset`). Returns the
    parameters to inject: a copy, with a `dataset` path made absolute (notebooks run in the
    report folder, where a relative path would point elsewhere)."""
    for name, allowed in _SCHEMA.items():
        if name in parameters and (rule := allowed(parameters[name])) is not None:
            raise ValueError(f"{where}parameter {name}={parameters[name]!r} is not allowed: "
                             f"{name} must be {rule}")
    if check_devices and parameters.get("device") in ("cuda", "mps"):
        # lazy: only a run that asks for a GPU pays for importing torch
        from distill_lab._validation import resolve_device

        try:
            resolve_device(parameters["device"])
        except ValueError as exc:  # it names the value and the devices found
            raise ValueError(f"{where}parameter {exc}") from None
    checked = dict(parameters)
    if check_data and "dataset" in parameters:  # last: it may read a whole file
        checked["dataset"] = check_dataset(parameters, where=where)
    return checked


def check_dataset(parameters: dict, *, where: str = "") -> str:
    """Read and check the `dataset` of `parameters` (with its `label_column` and `image_shape`,
    when given) before any kernel starts; return the value to inject (a path made absolute)."""
    from distill_lab.data import check_dataset as check  # lazy: data.py imports scikit-learn

    value = parameters["dataset"]
    try:
        return check(value, label_column=parameters.get("label_column"),
                     image_shape=parameters.get("image_shape"))
    except ValueError as exc:
        raise ValueError(f"{where}parameter dataset={value!r} cannot be used: {exc}") from None


def check_declared(names, declared: dict, *, allow_extra: bool = False) -> None:
    """Refuse the `names` (given parameters) that no notebook declares in its parameters cell,
    most likely a typo; with allow_extra they are only warned about (and not injected).
    `declared` maps each selected notebook's name to the names it declares."""
    unknown = sorted(set(names) - set().union(*declared.values()))
    if not unknown:
        return
    message = f"parameter(s) {unknown} are declared by none of the notebooks {list(declared)}"
    if not allow_extra:
        raise ValueError(f"{message}; check the spelling, or pass --allow-extra (allow_extra=True) "
                         "to ignore them")
    warnings.warn(f"{message}; they are ignored", UserWarning, stacklevel=4)
