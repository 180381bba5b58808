"""Raw tables as a model's inputs: what cr.predict and cr.evaluate do with a pandas DataFrame
or a table file instead of arrays.

A model that cr.load read from a file written by `chainrule train` carries that run's
preprocessing as `model.preprocessor` (None when the file has none). A table goes through it
as in `chainrule predict` / `chainrule evaluate`: the input columns found by name (others
ignored), missing cells filled, categories one-hot, dates split, then standardized; target
labels (a column name, or the labels themselves) become class indices or float32 numbers.
A model without preprocessing takes a DataFrame of numbers only, as its array (what
scikit-learn does with one). Arrays are never transformed: they are the model's inputs.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from .columns import DataWarning, Where
from .errors import DataError

__all__ = ["is_table", "table_arrays"]

NO_PREPROCESSING = (
    "this model has no preprocessing (cr.load attaches it as model.preprocessor only for "
    "a file written by `chainrule train`)"
)


def is_table(data) -> bool:
    """Whether `data` is a pandas DataFrame or the path of a table file."""
    if isinstance(data, (str, os.PathLike)):
        return True
    pandas = sys.modules.get("pandas")  # not imported: data cannot be a DataFrame
    return pandas is not None and isinstance(data, pandas.DataFrame)


def table_arrays(model, table, y=None, with_target: bool = False):
    """(X, y) for `model` from `table` (is_table): X its inputs; with with_target, y the
    encoded targets of y (labels, or a column name; None: the training target's column)."""
    preprocessor = getattr(model, "preprocessor", None)
    if isinstance(table, (str, os.PathLike)):
        return _file_arrays(preprocessor, table, y, with_target)
    if preprocessor is None:
        return _numbers(table), y
    if not with_target:
        return preprocessor.transform_table(table), None
    labels = _labels(preprocessor, table, y)
    table, labels = _rows_with_labels(preprocessor, table, labels)
    where = Where(None, table.index.to_numpy())
    return preprocessor.transform_table(table), _encoded(preprocessor, labels, where, y)


def _file_arrays(preprocessor, path, y, with_target: bool):
    from .csvfile import read_csv_features

    if preprocessor is None:
        raise DataError(f"{NO_PREPROCESSING}; give it arrays to predict from", file=path)
    if y is not None and not isinstance(y, str):
        raise DataError(
            "with a table file, y names the target column "
            f"(default: the training target {preprocessor.target!r})",
            file=os.fspath(path),
        )
    target = (y or preprocessor.target) if with_target else None
    return read_csv_features(path, preprocessor, target=target)


def _numbers(frame) -> np.ndarray:
    """A DataFrame of numbers as a float64 array; DataError naming a column of anything else."""
    for name, dtype in frame.dtypes.items():
        if dtype.kind not in "iufb":
            raise DataError(
                f"column {name!r} holds {dtype} values, not numbers; {NO_PREPROCESSING}, "
                "so a DataFrame must hold numbers only, in the order of the model's inputs"
            )
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def _labels(preprocessor, frame, y):
    """The targets `y` (labels, a column name, or None: the training target's column) of the
    rows of `frame`, as a Series in the rows' order."""
    import pandas as pd  # type: ignore[import-untyped]

    if y is None or isinstance(y, str):
        name = preprocessor.target if y is None else y
        if name not in frame.columns:
            raise DataError(
                f"no target column {name!r} among the columns {list(frame.columns)}; "
                "give the targets as y"
            )
        return frame[name].reset_index(drop=True)
    labels = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    if len(labels) != len(frame):
        raise DataError(f"X has {len(frame)} rows but y has {len(labels)} labels")
    return labels.reset_index(drop=True)


def _rows_with_labels(preprocessor, frame, labels):
    """The rows that have a target, as a table file's are kept (a DataWarning counts the
    others; refused when the model was trained with impute="none")."""
    gaps = labels.isna().to_numpy()
    if not gaps.any():
        return frame, labels
    first = int(np.argmax(gaps))
    if preprocessor.impute == "none" or gaps.all():
        why = "every row" if gaps.all() else 'impute="none"'
        raise DataError(f"missing target value at row index {frame.index[first]!r} ({why})")
    warnings.warn(
        f"{int(gaps.sum())} rows without a target value dropped "
        f"(first: row index {frame.index[first]!r})",
        DataWarning,
        stacklevel=4,
    )
    return frame.iloc[~gaps], labels[~gaps].reset_index(drop=True)


def _encoded(preprocessor, labels, where, y):
    from .csvfile import encode_targets

    name = preprocessor.target if y is None else y if isinstance(y, str) else "y"
    return encode_targets(labels, preprocessor, where, name)
