"""Column kinds inferred on a table's training rows, and each column's encoding fitted there.

A column is
- a date when it holds datetimes, or when most of its non-missing cells are text that parses
  as a date in one of DATE_FORMATS (ISO 8601 first: YYYY-MM-DD, optionally with a time);
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

from .cells import is_text
from .columns import Column, Where, _missing, guess_date_format, parse_cells
from .errors import DataError
from .inorder import give_back_freed_memory, in_order, worker_count

__all__ = ["TableOptions", "fit_column", "fit_table", "infer_kind"]

ID_MIN_ROWS = 20
IMPUTE = ("median", "none")
SLICE_ROWS = 1 << 14  # rows standardized at a time
FIT_WORKERS = 2  # threads fitting columns (or gathering X) at most: each adds to the peak


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


def infer_kind(series, int_categories: int = 0) -> tuple[str, str | None]:
    """(kind, date format): kind 'numeric', 'categorical', 'date' or 'id' (module docstring)
    of training cells; the format in which text dates parse (else None)."""
    import pandas as pd  # type: ignore[import-untyped]

    kind = series.dtype.kind
    if kind in "bM":
        return ("categorical" if kind == "b" else "date"), None
    if kind in "iuf":
        if not int_categories:
            return "numeric", None
        values = series.dropna().to_numpy()
        whole = kind in "iu" or bool(np.all(np.isfinite(values) & (np.mod(values, 1) == 0)))
        few = len(np.unique(values)) <= int_categories
        return ("categorical" if whole and few else "numeric"), None
    texts = series.dropna().astype(str).str.strip()
    numbers = pd.to_numeric(texts, errors="coerce").notna().to_numpy()
    if len(numbers) and numbers.mean() >= 0.5:  # categorical only when most are not numbers
        return "numeric", None
    date_format = guess_date_format(texts)
    if date_format:
        return "date", date_format
    if len(texts) >= ID_MIN_ROWS and texts.nunique() == len(series):
        return "id", None
    return "categorical", None


def _categories(texts: np.ndarray, max_categories: int) -> tuple[list[str], bool]:
    """The kept categories (sorted) and whether rarer ones were pooled into <other>."""
    import pandas as pd

    counts = pd.Series(texts[~np.equal(texts, None)]).value_counts()  # type: ignore[call-overload]  # numpy's stubs take no None
    if len(counts) <= max_categories:
        return sorted(counts.index), False
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return sorted(name for name, _ in ranked[: max_categories - 1]), True


def fit_column(
    values: np.ndarray,
    name: str,
    kind: str,
    options: TableOptions,
    where: Where,
    scratch: bool = False,
) -> Column:
    """The encoding of column `name` fitted on its training cells, parsed (parse_cells);
    with scratch, the cells may be reordered (no copy for the median)."""
    gaps = (
        np.equal(values, None)  # type: ignore[call-overload]  # numpy's stubs take no None
        if kind == "categorical"
        else (np.isnan(values) if kind == "numeric" else np.isnat(values))
    )
    if gaps.any() and options.impute == "none":
        raise _missing(where, gaps, name)
    column = Column(name, kind, missing=int(gaps.sum()))
    if kind == "categorical":
        column.categories, column.other = _categories(values, options.max_categories)
    elif options.impute == "none":
        column.fill = None
    elif kind == "numeric":
        present = values if scratch and not column.missing else values[~gaps]  # reordered
        column.fill = float(_median(present)) if len(present) else 0.0
    else:
        days = values[~gaps].astype("datetime64[D]").astype(np.int64)
        column.fill = str(np.datetime64(int(_median(days)) if len(days) else 0, "D"))
    return column


def _median(values: np.ndarray):
    """np.median(values), bit for bit, reordering `values`: one partition and a max, where
    np.median partitions at two places (several times slower)."""
    half = len(values) // 2
    values.partition(half)
    if len(values) % 2:
        return values[half]
    return np.mean([values[:half].max(), values[half]])


def _fit_and_encode(
    values,
    train,
    column_args: tuple[str, str, TableOptions],
    where: Where,
    train_where: Where,
    owned: bool = False,
):
    """(column, float32 standardized features in file order, mean, scale) of parsed values;
    column_args: (name, kind, options); owned: `values` may be reordered once used."""
    # numbers within float32's range sum to NaN only if a cell is missing (never inf - inf)
    total = np.add.reduce(values) if column_args[1] == "numeric" else np.nan
    if not np.isnan(total):  # no missing cell: the features are the values
        whole = bool(train.all())
        fitted = values if whole else values[train]  # the latter a copy
        mean = np.full((1, 1), total / len(values)) if whole else None  # np.mean's bits
        mean, spread = _statistics(fitted[:, None], mean)
        block = _standardized(values[:, None], mean, spread)
        if fitted is values and not owned:
            fitted = values.copy()  # the median reorders its cells
        column = fit_column(fitted, *column_args, train_where, scratch=True)
        return column, block, mean, spread
    train_values = values[train]
    column = fit_column(train_values, *column_args, train_where)
    del train_values  # before the features are made: columns are fitted a few at once
    features = column.features(values, where)
    mean, spread = _statistics(features[train])
    return column, _standardized(features, mean, spread), mean, spread


def _statistics(fitted: np.ndarray, mean: np.ndarray | None = None):
    """(mean, standard deviation) of each column, bit for bit np.mean's and np.std's: std
    is handed the mean (numpy computes the same sum inside std), one pass less; mean: the
    columns' means (keepdims), when already known."""
    if mean is None:
        mean = fitted.mean(axis=0, keepdims=True)
    spread = fitted.std(axis=0, mean=mean)
    spread[spread == 0] = 1.0  # a constant feature is only centred
    return mean[0], spread


def _standardized(features: np.ndarray, mean: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """float32 (features - mean) / spread, transposed (one row per feature), computed in
    float64 a slice of rows at a time (small temporaries, kept in cache)."""
    out = np.empty(features.shape[::-1], np.float32)
    for start in range(0, len(features), SLICE_ROWS):
        part = features[start : start + SLICE_ROWS] - mean  # features may be read-only
        part /= spread
        out[:, start : start + SLICE_ROWS] = part.T
    return out


class _Picked(Where):
    """The Where of the rows that `mask` picks, numbered only when an error names one."""

    def __init__(self, where: Where, mask: np.ndarray) -> None:
        super().__init__(where.file, where.rows)
        self.mask = mask

    def error(self, message: str, index: int, column: str) -> DataError:
        return super().error(message, int(np.flatnonzero(self.mask)[index]), column)


def _kind_and_values(cells, name: str, where: Where, train_rows, options: TableOptions):
    """(kind, date format, parsed values or None for an ID column) of a column's cells: a
    pandas Series, or a float64 array of numbers already checked (columnstore.py)."""
    if isinstance(cells, np.ndarray):
        return "numeric", None, cells
    kind, date_format = infer_kind(
        cells if cells.dtype.kind in "iufbM" else cells.iloc[train_rows], options.int_categories
    )
    if kind == "id":
        return kind, None, None
    return kind, date_format, parse_cells(cells, kind, name, where, date_format)


def _in_order(function, items: list, workers: int) -> list:
    """[function(item) for item in items] on `workers` threads, a few items at a time
    (inorder.py: answers and the first error in the order of `items`)."""
    try:
        return list(in_order(function, items, workers, workers))
    finally:
        if workers > 1:
            give_back_freed_memory()  # what the threads freed, before X is allocated


def _side_by_side(blocks, rows: int) -> np.ndarray:
    """X: the blocks (one row per feature, a column per table row) side by side, float32,
    transposed a slice of rows at a time (slices on threads)."""
    X = np.empty((rows, sum(len(block) for block in blocks)), np.float32)

    def fill(start: int) -> None:
        part = [block[:, start : start + SLICE_ROWS] for block in blocks]
        X[start : start + SLICE_ROWS] = np.concatenate(part).T

    _in_order(fill, list(range(0, rows, SLICE_ROWS)), min(worker_count(), FIT_WORKERS))
    return X


def fit_table(cells: dict, where: Where, parts, names: list[str], options: TableOptions):
    """(columns, X, mean, scale, notes): the encodings of columns `names` fitted on the rows
    parts[0] (training) of `cells` (name: Series, or float64 array of checked numbers);
    X, float32 standardized features of the rows in the order of the parts; notes say which
    columns were dropped as ID-like. Takes each column out of `cells` as it encodes it, so
    that the raw table shrinks while the features grow (a table of numbers only is fitted
    a few columns at once, on threads: errors and answers as one at a time would give).
    The float64 arrays are given up to it: their cells may be reordered."""
    train = np.zeros(len(where.rows), dtype=bool)
    train[parts[0]] = True  # a mask: compacting in file order is quicker than gathering
    train_where = _Picked(where, train)
    order = np.concatenate(parts)  # X's rows: training rows first

    def fit(name: str):
        given = cells.pop(name)
        kind, date_format, values = _kind_and_values(given, name, where, parts[0], options)
        if values is None:
            return None
        owned = isinstance(given, np.ndarray)  # the store's numbers, given up to the fit
        column_args = (name, kind, options)
        column, block, mean, spread = _fit_and_encode(
            values, train, column_args, where, train_where, owned
        )
        column.format = date_format
        column.as_text = kind == "categorical" and bool(is_text(given))
        # in the parts' order while the block is in cache: far quicker than gathering later
        return column, block.take(order, axis=1), mean, spread

    fitted, notes = [], []
    # numbers (the store's arrays) two at a time (each column in flight costs memory);
    # text columns one at a time: pandas' text handling holds the GIL
    numbers = all(isinstance(cells[name], np.ndarray) for name in names)
    workers = min(worker_count(), FIT_WORKERS) if numbers else 1
    for name, result in zip(names, _in_order(fit, names, workers)):
        if result is None:
            notes.append(
                f"column {name!r} dropped: every value is distinct text (an ID); "
                "it cannot generalize to new rows"
            )
        else:
            fitted.append(result)
    if not fitted:
        return [], np.empty((len(order), 0), np.float32), np.zeros(0), np.zeros(0), notes
    columns, blocks, means, scales = zip(*fitted)
    X = _side_by_side(blocks, len(order))
    return list(columns), X, np.concatenate(means), np.concatenate(scales), notes
