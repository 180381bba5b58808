"""load_csv and read_csv_features: CSV files to standardized arrays, with clear errors.

Task inference (when task=None): the target is a classification target when one of its
cells is not a number, or when all of them are integers with at most 20 distinct values
(e.g. 0/1, or 1..5 ratings); otherwise it is a regression target. Pass task= to override.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .csvtable import MISSING, CSVTable, parse_numbers, read_table
from .errors import DataError
from .preprocessing import Preprocessor
from .split import split_indices
from .validate import check_fraction

__all__ = ["CSVData", "load_csv", "read_csv_features"]

MAX_INTEGER_CLASSES = 20
TASKS = ("classification", "regression")


@dataclass
class CSVData:
    """Standardized splits of a CSV file (X float32; y int64 classes or float32 targets).

    preprocessor: what was fitted on the training rows; store its to_dict() with the model.
    split_rows: the spreadsheet row numbers of each part ("train", "val", "test").
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

    feature_names = property(lambda self: self.preprocessor.feature_names)
    classes = property(lambda self: self.preprocessor.classes)
    target = property(lambda self: self.preprocessor.target)
    n_features = property(lambda self: self.preprocessor.n_features)


def _as_number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _label_cells(table: CSVTable, column: int) -> list[str]:
    """The target column's cells; DataError at the first missing one."""
    cells = [row[column].strip() for row in table.rows]
    for i, text in enumerate(cells):
        if text.lower() in MISSING:
            raise DataError(f"missing target value ({text!r}); every row needs one",
                            file=table.path, row=table.row_numbers[i],
                            column=table.header[column])
    return cells


def infer_task(cells: list[str]) -> str:
    """The module docstring's rule."""
    if not all(_is_float(text) for text in cells):
        return "classification"
    numbers = [float(text) for text in cells]
    if not all(math.isfinite(value) for value in numbers):
        return "regression"  # "nan"/"inf" are numbers gone wrong; parsing names the cell
    integers = all(value.is_integer() for value in numbers)
    few = len(set(numbers)) <= MAX_INTEGER_CLASSES
    return "classification" if integers and few else "regression"


def class_names(table: CSVTable, cells: list[str], target: str) -> list:
    """Sorted distinct labels: numbers (ints where whole) when every label is a number."""
    numbers = [_as_number(text) for text in cells]
    if all(value is not None for value in numbers):
        classes = sorted(set(numbers))
        classes = [int(c) if c.is_integer() else c for c in classes]
    else:
        classes = sorted(set(cells))
    if len(classes) < 2:
        raise DataError(f"the target has a single class {classes[0]!r} in all {len(cells)} "
                        "rows; classification needs at least two classes",
                        file=table.path, column=target)
    return classes


def _encode(table: CSVTable, cells: list[str], column: int, preprocessor: Preprocessor):
    codes = np.empty(len(cells), dtype=np.int64)
    for i, text in enumerate(cells):
        index = preprocessor.class_index(text)
        if index is None:
            raise DataError(f"label {text!r} is not one of the model's classes "
                            f"{preprocessor.classes}", file=table.path,
                            row=table.row_numbers[i], column=table.header[column])
        codes[i] = index
    return codes


def _targets(table, column, task, preprocessor):
    """y of every row: class indices or float32 numbers."""
    cells = _label_cells(table, column)
    if task == "classification":
        return _encode(table, cells, column, preprocessor)
    return parse_numbers(table, [column])[:, 0].astype(np.float32)


def _feature_columns(table: CSVTable, target: str, features) -> list[int]:
    if features is None:
        return [j for j, name in enumerate(table.header) if name != target]
    columns = [table.column_index(name, "feature column") for name in features]
    if target in features:
        raise DataError(f"the target {target!r} is also listed as a feature", file=table.path)
    return columns


def load_csv(path, target: str, task: str | None = None, val_split: float = 0.0,
             test_split: float = 0.2, seed: int = 0, features=None,
             delimiter: str = ",") -> CSVData:
    """Read a CSV file with a header row; `target` names the column to predict.

    Features are all other columns (or those named in `features`) and must be numbers.
    Rows are split into train/val/test with np.random.default_rng(seed), stratified by class
    for classification; standardization is fitted on the training rows only. Every problem
    raises DataError naming the file, the row (the header is row 1) and the column.
    """
    if task not in (None, *TASKS):
        raise DataError(f"task must be one of {TASKS} or None, got {task!r}")
    check_fraction(val_split, "val_split")
    check_fraction(test_split, "test_split")
    table = read_table(path, delimiter)
    target_column = table.column_index(target, "target column")
    columns = _feature_columns(table, target, features)
    if not columns:
        raise DataError(f"no feature columns besides the target {target!r}", file=table.path)
    X = parse_numbers(table, columns)
    cells = _label_cells(table, target_column)
    task = task or infer_task(cells)
    classes = class_names(table, cells, target) if task == "classification" else None
    encoder = Preprocessor([], [], [], task, target, classes)  # labels only, no features yet
    y = _targets(table, target_column, task, encoder)
    parts = split_indices(len(X), [val_split, test_split], seed,
                          labels=y if task == "classification" else None)
    train, val, test = parts
    names = [table.header[j] for j in columns]
    preprocessor = Preprocessor.fit(X[train], names, task, target, classes)
    rows = np.asarray(table.row_numbers)
    return CSVData(
        *(array for part in parts for array in (preprocessor.transform(X[part]), y[part])),
        task=task, preprocessor=preprocessor,
        split_rows={"train": rows[train], "val": rows[val], "test": rows[test]})


def read_csv_features(path, preprocessor: Preprocessor, target: str | None = None,
                      delimiter: str = ","):
    """(X, y) of a CSV file for predict or evaluate, transformed as in training.

    The file must have every feature column the preprocessor was fitted on (found by name,
    in any order; other columns are ignored). y is None unless `target` is given; class
    labels must be among the preprocessor's classes.
    """
    table = read_table(path, delimiter)
    missing = [name for name in preprocessor.feature_names if name not in table.header]
    if missing:
        raise DataError(f"missing feature columns {missing}: the model was trained on "
                        f"{preprocessor.n_features} features {preprocessor.feature_names}; "
                        f"the file has columns {table.header}", file=os.fspath(path), row=1)
    columns = [table.header.index(name) for name in preprocessor.feature_names]
    X = preprocessor.transform(parse_numbers(table, columns))
    if target is None:
        return X, None
    column = table.column_index(target, "target column")
    return X, _targets(table, column, preprocessor.task, preprocessor)
