"""A table read chunk by chunk into one store per column, so that loading a big file never
holds pandas' parse of all of it (pandas' peak is about 7 times the float32 array's size).

A feature column whose chunks hold numbers goes into a float64 array as they arrive, each
chunk checked on arrival (numbers_of: an infinity or a float32 overflow is named by file, row
and column). A column with anything else in a chunk (text, booleans, dates) keeps its chunks
as pandas Series, joined at the end, so that tablefit infers its kind on the training rows as
for a whole table; a numeric column that meets text in a later chunk turns into one of those
(its numbers so far become its first Series). The target keeps pandas' dtype: in an array
while every chunk has the same numeric dtype, else as Series. Rows without a target value are
dropped as they come, and counted. The numbers stay float64 (twice the float32 features) so
that the training rows' statistics, and so the features, are what a whole-table read gives.
"""

from __future__ import annotations

import numpy as np

from .cells import as_series, is_numbers, is_text, kept, missing
from .columns import Where, numbers_of
from .errors import DataError

__all__ = ["ColumnStore"]

GROWTH = 1.5  # capacity grows by this factor when the file holds more rows than estimated


class ColumnStore:
    """The cells of columns `names` and of `target`, added chunk by chunk (add), then taken
    (finish). capacity: the rows expected; reserved, untouched memory costs nothing."""

    def __init__(self, path: str, names, target: str, capacity: int, options) -> None:
        self.path, self.target, self.impute = path, target, options.impute
        self.size, self.capacity = 0, max(int(capacity), 1)
        self.rows = np.empty(self.capacity, np.int32)  # 2**31 rows are more than a CSV holds
        numeric = () if options.int_categories else names  # integer categories: whole columns
        self.numbers = {name: np.empty(self.capacity) for name in numeric}
        # the target's cells as pandas reads them, while every chunk has one numeric dtype
        self.raw: dict[str, np.ndarray | None] = {target: None}
        self.pieces: dict[str, list] = {name: [] for name in names if name not in numeric}
        self.dropped, self.first_dropped = 0, 0
        # columns whose chunks came as text in some and as numbers or booleans in others
        # (finish): the text pandas read as numbers is lost ("007" as 7), so they are read
        # again as text
        self.mixed: list[str] = []

    def add(self, cells: dict, rows: np.ndarray, checked: dict | None = None) -> None:
        """Store the chunk `cells` ({name: column}, cells.py) whose spreadsheet rows are
        `rows`; checked: the float64 cells of some of its numeric columns, already checked
        as numbers_of checks."""
        cells, rows, checked = self._with_target(cells, rows, checked or {})
        end = self.size + len(rows)
        if end > self.capacity:
            self._grow(end)
        where = Where(self.path, rows)
        for name in list(self.numbers):
            values = checked.get(name)
            if values is None:
                column = cells[name]
                if column.dtype.kind not in "iuf":
                    self._keep_whole(name, self.numbers)
                    continue
                values = numbers_of(as_series(column), name, where)
            self.numbers[name][self.size : end] = values
        for name, array in list(self.raw.items()):
            column = cells[name]
            if array is None and not self.size and is_numbers(column):
                array = self.raw[name] = np.empty(self.capacity, column.dtype)
            if array is not None and column.dtype == array.dtype:
                array[self.size : end] = column
            else:
                self._keep_whole(name, self.raw)
        for name, pieces in self.pieces.items():
            pieces.append(as_series(cells[name]))
        self.rows[self.size : end] = rows
        self.size = end

    def finish(self) -> tuple[dict, np.ndarray, list[str]]:
        """(cells by name: float64 arrays or pandas Series of every stored row, the rows'
        spreadsheet numbers, notes); the store gives them up."""
        import pandas as pd  # type: ignore[import-untyped]

        if self.dropped and not self.size:
            raise DataError(
                "missing target value (every row); every row needs one",
                file=self.path,
                row=self.first_dropped,
                column=self.target,
            )
        cells: dict = {name: array[: self.size] for name, array in self.numbers.items()}
        for name, array in self.raw.items():
            cells[name] = pd.Series(array[: self.size] if array is not None else [], copy=False)
        for name, pieces in self.pieces.items():
            cells[name] = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
            if {is_text(piece) for piece in pieces} >= {True, False}:  # None: no cells
                self.mixed.append(name)
        self.numbers, self.raw, self.pieces = {}, {}, {}
        notes = []
        if self.dropped:
            notes.append(
                f"{self.dropped} rows without a target value dropped "
                f"(first: row {self.first_dropped})"
            )
        return cells, self.rows[: self.size], notes

    def _with_target(self, cells: dict, rows: np.ndarray, checked: dict):
        """The chunk's rows that have a target value."""
        gaps = missing(cells[self.target])
        if not gaps.any():
            return cells, rows, checked
        first = int(rows[np.argmax(gaps)])
        if self.impute == "none":
            raise DataError(
                "missing target value (--impute none); every row needs one",
                file=self.path,
                row=first,
                column=self.target,
            )
        self.first_dropped = self.first_dropped or first
        self.dropped += int(gaps.sum())
        keep = ~gaps
        cells = {name: kept(v, keep) for name, v in cells.items()}
        return cells, rows[keep], {name: v[keep] for name, v in checked.items()}

    def _keep_whole(self, name: str, store: dict) -> None:
        """Column `name` from now on kept as Series (its cells so far the first one)."""
        import pandas as pd

        array = store.pop(name)
        so_far = [] if array is None or not self.size else [pd.Series(array[: self.size].copy())]
        self.pieces[name] = so_far

    def _grow(self, needed: int) -> None:
        self.capacity = max(needed, int(self.capacity * GROWTH))
        self.rows = self._moved(self.rows)
        for store in (self.numbers, self.raw):
            for name, array in store.items():  # one column at a time: little more memory
                store[name] = None if array is None else self._moved(array)  # type: ignore[assignment]

    def _moved(self, old: np.ndarray) -> np.ndarray:
        new = np.empty(self.capacity, old.dtype)
        new[: self.size] = old[: self.size]
        return new
