"""A chunk's columns as the reading code passes them on: numbers (pandas' integer and float
columns) as NumPy arrays, which is how pandas' parser makes them, and any other column as a
pandas Series. NumPy's operations on a chunk's arrays cost microseconds where pandas' own
cost a tenth of a millisecond or more, which for a table of numbers is a tenth of its parse.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_column", "as_series", "columns_of", "is_numbers", "is_text", "kept", "missing"]


def is_numbers(values) -> bool:
    """Whether `values` is a NumPy array of integers or floats."""
    return isinstance(values, np.ndarray) and values.dtype.kind in "iuf"


def is_text(values) -> bool | None:
    """Whether a column's present cells are all text (None: it has none): a column of
    booleans with gaps, which pandas keeps as objects, is not."""
    import pandas as pd  # type: ignore[import-untyped]

    if missing(values).all():
        return None
    return not is_numbers(values) and pd.api.types.infer_dtype(values, skipna=True) == "string"


def as_column(values):
    """`values` (an array pandas made, or a Series) as a NumPy array when it holds numbers in
    a NumPy dtype, else as a Series."""
    if is_numbers(values):
        return values
    series = as_series(values)
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        return series.to_numpy()  # no copy
    return series


def columns_of(frame) -> dict:
    """{name: column} of a DataFrame (as_column's kinds; a Series numbered from 0)."""
    columns = {}
    for name in frame.columns:
        column = as_column(frame[name])
        columns[name] = column if is_numbers(column) else column.reset_index(drop=True)
    return columns


def as_series(values):
    """`values` as a pandas Series (no copy), numbered from 0 when it is not one already."""
    import pandas as pd

    return values if isinstance(values, pd.Series) else pd.Series(values, copy=False)


def missing(values) -> np.ndarray:
    """A new boolean array: where the column's cells are missing."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iufb":
        return np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool)
    return np.array(as_series(values).isna().to_numpy(), dtype=bool)


def kept(values, keep: np.ndarray):
    """The column's cells where `keep` is true (a Series numbered from 0 again)."""
    if isinstance(values, np.ndarray):
        return values[keep]
    return as_series(values)[keep].reset_index(drop=True)
