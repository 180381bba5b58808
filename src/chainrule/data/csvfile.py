"""load_csv and read_csv_features: table files to standardized arrays, with clear errors.

Any file read_table reads works (CSV/TSV, Parquet, JSON lines). Column kinds are inferred on
the training rows (tablefit.py); the Preprocessor fitted there is what predict applies.

Task inference (when task=None): the target is a classification target when one of its
cells is not a number, or when all of them are integers with at most 20 distinct values
(e.g. 0/1, or 1..5 ratings); otherwise it is a regression target. Pass task= to override.
Rows whose target is missing are dropped, and counted in `notes` (impute="none" refuses them).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from .cells import is_text
from .columns import DataWarning, Where, numbers_of
from .columnstore import ColumnStore
from .csvtable import open_chunks, read_table
from .errors import DataError
from .preprocessing import Preprocessor, _label_key
from .split import split_indices
from .tablefit import TableOptions, fit_table
from .validate import check_fraction

__all__ = ["CSVData", "load_csv", "read_csv_features"]

MAX_INTEGER_CLASSES = 20
CHUNK_CELLS = 1 << 18  # cells pandas parses at a time: its buffers stay small
TASKS = ("classification", "regression")


@dataclass
class CSVData:
    """Standardized splits of a table (X float32; y int64 classes or float32 targets).

    preprocessor: what was fitted on the training rows; store its to_dict() with the model.
    split_rows: the spreadsheet row numbers of each part ("train", "val", "test").
    notes: what was done to the data besides encoding (rows dropped, ID columns dropped).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    preprocessor: Preprocessor
    split_rows: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    feature_names = property(lambda self: self.preprocessor.feature_names)
    classes = property(lambda self: self.preprocessor.classes)
    target = property(lambda self: self.preprocessor.target)
    n_features = property(lambda self: self.preprocessor.n_features)


def _as_numbers(series):
    """The target's cells as numbers (float64), or None when one of them is not a number."""
    import pandas as pd  # type: ignore[import-untyped]

    if series.dtype.kind in "iufb":
        return series.to_numpy(dtype=np.float64)
    numbers = pd.to_numeric(series.astype(str).str.strip(), errors="coerce")
    return None if numbers.isna().any() else numbers.to_numpy(dtype=np.float64)


def infer_task(series) -> str:
    """The module docstring's rule, on the target's (non-missing) cells."""
    numbers = _as_numbers(series)
    if numbers is None or series.dtype.kind == "b":
        return "classification"
    if not np.isfinite(numbers).all():
        return "regression"  # "inf" is a number gone wrong; parsing names the cell
    slices = range(0, len(numbers), 1 << 16)  # small temporaries; most targets stop early
    if not all(np.all(np.mod(numbers[i : i + (1 << 16)], 1) == 0) for i in slices):
        return "regression"
    few = len(np.unique(numbers)) <= MAX_INTEGER_CLASSES
    return "classification" if few else "regression"


def class_names(series, file: str, target: str) -> list:
    """Sorted distinct labels: exact numbers (ints where whole) when every label is a number."""
    values = series.unique().tolist()
    if series.dtype.kind == "b":
        classes = sorted(str(v) for v in values)
    else:
        try:
            classes = sorted({_label_key(v) for v in values})
        except (ValueError, OverflowError):
            classes = sorted({str(v).strip() for v in values})
    if len(classes) < 2:
        raise DataError(
            f"the target has a single class {classes[0]!r} in all {len(series)} "
            "rows; classification needs at least two classes",
            file=file,
            column=target,
        )
    return classes


def encode_targets(series, preprocessor: Preprocessor, where: Where, name: str) -> np.ndarray:
    """y of target column `name`: int64 class indices or float32 numbers; DataError at an
    unknown label."""
    if preprocessor.task == "regression":
        return numbers_of(series, name, where).astype(np.float32)
    classes = preprocessor.classes
    if series.dtype.kind in "iu" and all(isinstance(c, int) for c in classes):
        keys = np.asarray(classes, dtype=object)
        positions = np.searchsorted(np.asarray(classes), series.to_numpy())
        positions = np.minimum(positions, len(classes) - 1)
        codes = np.where(keys[positions] == series.to_numpy(dtype=object), positions, -1)
    else:
        index = preprocessor.class_index
        codes = np.array([-1 if (i := index(v)) is None else i for v in series.tolist()])
    bad = np.flatnonzero(codes < 0)
    if len(bad):
        raise where.error(
            f"label {str(series.iloc[bad[0]]).strip()!r} is not one of the "
            f"model's classes {classes}",
            bad[0],
            name,
        )
    return codes.astype(np.int64)


def _feature_names(table, target: str, features, options: TableOptions) -> list[str]:
    for name in options.ignore:
        table.column_index(name, "column to ignore")
    if features is None:
        return [n for n in table.header if n != target and n not in options.ignore]
    for name in features:
        table.column_index(name, "feature column")
    if target in features:
        raise DataError(f"the target {target!r} is also listed as a feature", file=table.path)
    return [n for n in features if n not in options.ignore]


def _rows_with_target(table, target: str, impute: str):
    """The table without rows whose target is missing, and a note counting them."""
    gaps = table.frame[target].isna().to_numpy()
    if not gaps.any():
        return table, []
    first = int(table.row_numbers[np.argmax(gaps)])
    if impute == "none" or gaps.all():
        why = "every row" if gaps.all() else "--impute none"
        raise DataError(
            f"missing target value ({why}); every row needs one",
            file=table.path,
            row=first,
            column=target,
        )
    table.frame, table.row_numbers = (
        table.frame.loc[~gaps].reset_index(drop=True),
        table.row_numbers[~gaps],
    )
    return table, [f"{int(gaps.sum())} rows without a target value dropped (first: row {first})"]


def _read_cells(chunks, names: list[str], target: str, options: TableOptions):
    """(cells by column, spreadsheet rows, notes) of the rows with a target value: chunk by
    chunk, so that memory stays near the size of the numbers (columnstore.py)."""
    store = ColumnStore(chunks.path, names, target, chunks.rows_hint, options)
    rows_read = 0
    for cells, rows, checked in chunks.parts:
        store.add(cells, rows, checked)
        rows_read += len(rows)
    if not rows_read:
        raise DataError("the file has a header but no data rows", file=chunks.path)
    cells, rows, notes = store.finish()
    for name in store.mixed:  # as text, as a read of the whole file gives it
        cells[name] = chunks.text_of(name, rows)
    return cells, rows, notes


def load_csv(
    path,
    target: str,
    task: str | None = None,
    val_split: float = 0.0,
    test_split: float = 0.2,
    seed: int = 0,
    features=None,
    delimiter=None,
    ignore=(),
    impute: str = "median",
    max_categories: int = 20,
    int_categories: int = 0,
) -> CSVData:
    """Read a table file with a header row; `target` names the column to predict.

    Features are all other columns but `ignore` (or those named in `features`); their kinds
    and encodings are fitted on the training rows (see TableOptions for impute,
    max_categories and int_categories). Rows are split into train/val/test with
    np.random.default_rng(seed), stratified by class for classification. Every problem raises
    DataError naming the file, the row (the header is row 1) and the column.
    """
    if task not in (None, *TASKS):
        raise DataError(f"task must be one of {TASKS} or None, got {task!r}")
    check_fraction(val_split, "val_split")
    check_fraction(test_split, "test_split")
    options = TableOptions(ignore, impute, max_categories, int_categories)
    chunks = open_chunks(path, delimiter, CHUNK_CELLS)
    chunks.column_index(target, "target column")
    names = _feature_names(chunks, target, features, options)
    cells, row_numbers, notes = _read_cells(chunks, names, target, options)
    where = Where(chunks.path, row_numbers)
    series = cells.pop(target)
    task = task or infer_task(series)
    labels_as_text = task == "classification" and bool(is_text(series))
    classes = class_names(series, chunks.path, target) if task == "classification" else None
    labels = Preprocessor([], [], [], task, target, classes)  # labels only, no features yet
    y = encode_targets(series, labels, where, target)
    del series
    parts = split_indices(
        len(y), [val_split, test_split], seed, labels=y if task == "classification" else None
    )
    columns, X, mean, scale, dropped = fit_table(cells, where, parts, names, options)
    if not columns:
        raise DataError(f"no feature columns besides the target {target!r}", file=chunks.path)
    feature_names = [f for column in columns for f in column.feature_names()]
    preprocessor = Preprocessor(
        feature_names, mean, scale, task, target, classes, columns, impute, labels_as_text
    )
    bounds = np.cumsum([len(part) for part in parts])[:-1]
    X_train, X_val, X_test = np.split(X, bounds)
    y_train, y_val, y_test = np.split(y[np.concatenate(parts)], bounds)
    return CSVData(
        X_train,
        y_train,
        X_val,
        y_val,
        X_test,
        y_test,
        task=task,
        preprocessor=preprocessor,
        notes=notes + dropped,
        split_rows={  # int64, as the row numbers of read_table
            name: row_numbers[part].astype(np.int64)
            for name, part in zip(("train", "val", "test"), parts)
        },
    )


def _warn_of_blank_rows(table) -> None:
    """A DataWarning naming the blank rows among the data (no cell: no prediction), after
    which the predictions no longer line up with the file's rows."""
    rows = table.row_numbers
    gaps = np.flatnonzero(np.diff(rows) > 1)
    if len(gaps):
        blank = [row for gap in gaps[:3] for row in range(rows[gap] + 1, rows[gap + 1])][:3]
        count = int((np.diff(rows) - 1).sum())
        warnings.warn(
            f"{table.path}: {count} rows among the data have no cell (blank, or only missing "
            f"markers; first: rows {', '.join(map(str, blank))}) and get no prediction: "
            f"{len(rows)} predictions for the file's rows {rows[0]}-{rows[-1]}",
            DataWarning,
            stacklevel=3,
        )


def read_csv_features(path, preprocessor: Preprocessor, target: str | None = None, delimiter=None):
    """(X, y) of a table file for predict or evaluate, transformed as in training.

    The file must have every input column the preprocessor was fitted on (found by name,
    in any order; other columns are ignored). y is None unless `target` is given; class
    labels must be among the preprocessor's classes; rows without a target are skipped
    with a DataWarning (refused when the preprocessor was fitted with impute="none").
    """
    text = [column.name for column in preprocessor.columns if column.as_text]
    if target is not None and preprocessor.target_as_text:
        text.append(target)
    table = read_table(path, delimiter, text)  # those columns as training read them
    needed = preprocessor.input_columns
    missing = [name for name in needed if name not in table.header]
    if missing:
        raise DataError(
            f"missing feature columns {missing}: the model was trained on "
            f"{len(needed)} columns {needed}; the file has columns "
            f"{table.header}",
            file=os.fspath(path),
            row=1,
        )
    if target is not None:
        table.column_index(target, "target column")
        table, notes = _rows_with_target(table, target, preprocessor.impute)
        for note in notes:
            warnings.warn(f"{table.path}: {note}", DataWarning, stacklevel=2)
    else:
        _warn_of_blank_rows(table)
    where = Where(table.path, table.row_numbers)
    X = preprocessor.transform_table(table.frame, where)
    if target is None:
        return X, None
    return X, encode_targets(table.frame[target], preprocessor, where, target)
