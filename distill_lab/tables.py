"""A user's table as numbers: a .csv (read with the standard library, parsed chunk by chunk) or a
.parquet file (with pyarrow, the optional `distill-lab[parquet]`), with one label column, named
by `label_column` or else `label` or `target`, and every other column a numeric feature.
"""
from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np

__all__ = ["LABEL_COLUMNS", "read_table"]

LABEL_COLUMNS = ("label", "target")  # a table's label column when `label_column` is not given
_CSV_CHUNK = 50_000  # rows parsed at a time: text is turned into floats chunk by chunk


def _label_name(path: Path, columns: list, label_column) -> str:
    wanted = [label_column] if label_column is not None else list(LABEL_COLUMNS)
    found = [name for name in wanted if name in columns]
    if not found:
        shown = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
        what = f"no column {label_column!r}" if label_column is not None else \
            f"neither a {LABEL_COLUMNS[0]!r} nor a {LABEL_COLUMNS[1]!r} column"
        raise ValueError(f"{path} has {what} to take the labels from (its columns: {shown}); "
                         "rename the label column, or pass label_column=<its name>")
    if len(columns) < 2:
        raise ValueError(f"{path} has only the label column {found[0]!r}; add feature columns")
    return found[0]


def read_table(path: Path, label_column=None) -> tuple:
    """(feature names, X (n, d) float64 with NaN for empty cells, labels as text) of a .csv or
    .parquet table; a ValueError names a missing label column, non-numeric feature columns, an
    empty label, a row of the wrong width or a table without rows."""
    read = _read_parquet if path.suffix.lower() == ".parquet" else _read_csv
    names, features, labels, bad = read(path, label_column)
    if bad:
        listed = "; ".join(f"{name!r} (row {row}: {value!r})" for name, (value, row) in bad.items())
        raise ValueError(f"{path}: feature column(s) {listed} are not numeric; every column but "
                         "the label must hold numbers: encode those columns (e.g. one-hot) or "
                         "drop them")
    if len(labels) == 0:
        raise ValueError(f"{path} has a header but no data rows; add samples")
    empty = np.flatnonzero(np.char.str_len(np.char.strip(labels.astype(str))) == 0)
    if len(empty):
        raise ValueError(f"{path}: {len(empty)} row(s) have no label (the first is row "
                         f"{empty[0] + 1}); fill them in or drop those rows")
    return names, np.column_stack(features), labels


def _read_csv(path: Path, label_column):
    """(feature names, float64 columns, labels as text, {non-numeric column: (value, row)})."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [name.strip() for name in next(reader, [])]
        if not header:
            raise ValueError(f"{path} is empty; a .csv needs a header row and data rows")
        label = _label_name(path, header, label_column)
        j = header.index(label)
        names = [name for k, name in enumerate(header) if k != j]
        parts, labels, bad, start = {name: [] for name in names}, [], {}, 0
        rows = (row for row in reader if row)  # blank lines are no samples
        while chunk := list(itertools.islice(rows, _CSV_CHUNK)):
            wrong = next((i for i, row in enumerate(chunk) if len(row) != len(header)), None)
            if wrong is not None:
                raise ValueError(f"{path}: row {start + wrong + 1} has {len(chunk[wrong])} fields "
                                 f"but the header has {len(header)}; fix that row")
            columns = list(zip(*chunk))
            labels.extend(columns[j])
            for name, values in zip(names, columns[:j] + columns[j + 1:]):
                if name not in bad:
                    parsed = _floats(values)
                    if isinstance(parsed, tuple):
                        bad[name] = (parsed[0], start + parsed[1] + 1)
                    else:
                        parts[name].append(parsed)
            start += len(chunk)
    features = [np.concatenate(parts[n]) if parts[n] else np.empty(0) for n in names
                if n not in bad]
    return names, features, np.asarray(labels, dtype=str), bad


def _floats(values):
    """Text cells -> float64 (an empty cell is NaN), or (the first non-number, its index)."""
    cells = [value if value.strip() else "nan" for value in values]
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        for i, cell in enumerate(cells):
            try:
                float(cell)
            except ValueError:
                return cell, i
        raise


def _read_parquet(path: Path, label_column):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"{path}: reading .parquet needs pyarrow, which is not installed; "
                         "pip install 'distill-lab[parquet]', or save the table as .csv") from None
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"{path} is not a readable Parquet file ({exc}); write it again, e.g. "
                         "with pandas.DataFrame.to_parquet") from None
    label = _label_name(path, table.column_names, label_column)
    names = [name for name in table.column_names if name != label]
    features, bad = [], {}
    for name in names:
        column, kind = table.column(name), table.schema.field(name).type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
                or pa.types.is_decimal(kind):
            features.append(column.cast(pa.float64()).to_numpy())  # a null becomes NaN
        else:
            values = column.to_pylist()
            row = next((i for i, v in enumerate(values) if v is not None), 0)
            bad[name] = (values[row] if values else None, row + 1)
    labels = np.array(["" if v is None else str(v) for v in table.column(label).to_pylist()])
    return names, features, labels, bad
