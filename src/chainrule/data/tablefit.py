"""Column kinds inferred on a table's training rows, and each column's encoding fitted there.

A column is
- a date when it holds datetimes, or when most of its non-missing cells are text that parses
  as an ISO date (YYYY-MM-DD, optionally with a time);
- categorical when it holds booleans, or when most of its non-missing cells are not numbers
  (so a numeric column with a few stray words is an error naming the cell, not a category),
  or when it holds integers with at most `int_categories` distinct values (off by default);
- ID-like, and dropped with a notice, when it is categorical text and every one of its
  (at least ID_MIN_ROWS) training cells is distinct;
- numeric otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import Column, Where, _missing, category_texts, dates_of, numbers_of
from .errors import DataError

__all__ = ["TableOptions", "fit_columns", "infer_kind"]

ID_MIN_ROWS = 20
IMPUTE = ("median", "none")


@dataclass
class TableOptions:
    """ignore: columns left out; impute: "median" (missing numbers take the training rows'
    median plus an indicator, missing categories are a category) or "none" (refused);
    max_categories: one-hot features per column at most (rarer ones pooled into <other>);
    int_categories: integer columns with at most this many distinct values are categorical."""

    ignore: tuple = ()
    impute: str = "median"
    max_categories: int = 20
    int_categories: int = 0

    def __post_init__(self):
        if self.impute not in IMPUTE:
            raise DataError(f"impute must be one of {IMPUTE}, got {self.impute!r}")
        if int(self.max_categories) < 2:
            raise DataError(f"max_categories must be at least 2, got {self.max_categories}")
        self.ignore = tuple(self.ignore or ())


def _mostly(mask: np.ndarray) -> bool:
    return bool(len(mask)) and mask.mean() > 0.5


def infer_kind(series, int_categories: int = 0) -> str:
    """'numeric', 'categorical', 'date' or 'id' (module docstring) of training cells."""
    import pandas as pd

    kind = series.dtype.kind
    if kind == "b":
        return "categorical"
    if kind == "M":
        return "date"
    present = series.dropna()
    if kind in "iuf":
        if not int_categories or present.nunique() > int_categories:
            return "numeric"
        values = present.to_numpy()
        whole = kind in "iu" or bool(np.all(np.isfinite(values) & (np.mod(values, 1) == 0)))
        return "categorical" if whole else "numeric"
    texts = present.astype(str).str.strip()
    numbers = pd.to_numeric(texts, errors="coerce").notna().to_numpy()
    if len(numbers) and numbers.mean() >= 0.5:  # categorical only when most are not numbers
        return "numeric"
    dates = pd.to_datetime(texts, errors="coerce", format="ISO8601", utc=True)
    if _mostly(dates.notna().to_numpy()):
        return "date"
    if len(texts) >= ID_MIN_ROWS and texts.nunique() == len(series):
        return "id"
    return "categorical"


def _categories(texts: np.ndarray, max_categories: int) -> tuple[list[str], bool]:
    """The kept categories (sorted) and whether rarer ones were pooled into <other>."""
    import pandas as pd

    counts = pd.Series(texts[~np.equal(texts, None)]).value_counts()
    if len(counts) <= max_categories:
        return sorted(counts.index), False
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return sorted(name for name, _ in ranked[:max_categories - 1]), True


def fit_column(series, name: str, kind: str, options: TableOptions, where: Where) -> Column:
    """The encoding of column `name` fitted on its training cells `series`."""
    gaps = series.isna().to_numpy()
    if gaps.any() and options.impute == "none":
        raise _missing(where, gaps, name)
    column = Column(name, kind, missing=int(gaps.sum()))
    if kind == "categorical":
        column.categories, column.other = _categories(category_texts(series),
                                                      options.max_categories)
    elif kind == "numeric":
        values = numbers_of(series, name, where)
        column.fill = float(np.median(values[~gaps])) if (~gaps).any() else 0.0
    else:
        days = dates_of(series, name, where)[~gaps].astype("datetime64[D]").astype(np.int64)
        middle = int(np.median(days)) if len(days) else 0
        column.fill = str(np.datetime64(middle, "D"))
    if options.impute == "none":
        column.fill = None
    return column


def fit_columns(frame, names: list[str], options: TableOptions, where: Where):
    """(columns, notes): the encodings of `names` fitted on the training rows `frame`; notes
    say which columns were dropped as ID-like."""
    columns, notes = [], []
    for name in names:
        kind = infer_kind(frame[name], options.int_categories)
        if kind == "id":
            notes.append(f"column {name!r} dropped: every value is distinct text (an ID); "
                         "it cannot generalize to new rows")
            continue
        columns.append(fit_column(frame[name], name, kind, options, where))
    return columns, notes
