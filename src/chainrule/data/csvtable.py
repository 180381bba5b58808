"""Reading a CSV file into checked cells: a header and rows of equal length.

Rows are numbered as a spreadsheet numbers them (the header is row 1); blank lines, and rows
whose cells are all empty, are skipped but still counted. Spaces around a cell's text are ignored.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass

import numpy as np

from .errors import DataError

__all__ = ["CSVTable", "parse_numbers", "read_table"]

# Cells that spreadsheets and data tools write for "no value".
MISSING = {"", "na", "n/a", "null", "none", "?"}


@dataclass
class CSVTable:
    path: str
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]  # the spreadsheet row of each entry of rows

    def column_index(self, name: str, role: str = "column") -> int:
        """The position of column `name`; DataError listing the columns when absent."""
        if name not in self.header:
            raise DataError(f"unknown {role} {name!r}; the columns are {self.header}",
                            file=self.path)
        return self.header.index(name)


def _records(path: str, delimiter: str):
    """(row number, stripped cells) of each non-blank record."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            row = 0
            try:
                for row, record in enumerate(reader, start=1):
                    if any(cell and not cell.isspace() for cell in record):
                        yield row, record
            except csv.Error as exc:
                raise DataError(f"malformed CSV ({exc})", file=path, row=row + 1) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                        file=path) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise DataError(f"cannot read the file ({exc.strerror})", file=path) from None


def _check_header(path: str, row: int, header: list[str]) -> None:
    for position, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"header cell {position} is empty: every column needs a name",
                            file=path, row=row)
        if header.index(name) != position - 1:
            raise DataError(f"the header names column {name!r} twice", file=path, row=row)


def read_table(path, delimiter: str = ",") -> CSVTable:
    """Header and data rows of a CSV file; DataError for an empty file, a header without
    rows, or a row with more or fewer cells than the header."""
    path = os.fspath(path)
    records = _records(path, delimiter)
    first = next(records, None)
    if first is None:
        raise DataError("the file is empty: expected a header row of column names and "
                        "data rows", file=path)
    header_row, header = first[0], [name.strip() for name in first[1]]
    _check_header(path, header_row, header)
    rows, row_numbers = [], []
    for row, cells in records:
        if len(cells) != len(header):
            raise DataError(f"has {len(cells)} cells but the header has {len(header)} "
                            f"columns {header}", file=path, row=row)
        rows.append(cells)
        row_numbers.append(row)
    if not rows:
        raise DataError("the file has a header but no data rows", file=path)
    return CSVTable(path, header, rows, row_numbers)


def _cell_number(text: str) -> float:
    """The number in a cell; DataError (without location) saying why there is none."""
    text = text.strip()
    if text.lower() in MISSING:
        shown = "an empty cell" if not text else repr(text)
        raise DataError(f"missing value ({shown}); fill or drop rows with missing values")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"non-numeric value {text!r}; this column must hold numbers "
                        "(encode categories as numbers first)") from None
    if math.isnan(value):
        raise DataError(f"NaN value {text!r}; fill or drop rows with missing values")
    if math.isinf(value):
        raise DataError(f"infinite value {text!r}")
    return value


def parse_numbers(table: CSVTable, columns: list[int]) -> np.ndarray:
    """The given columns as a float64 (rows, columns) array; DataError naming the file,
    row and column of the first bad cell in reading order."""
    cells = [[row[j] for j in columns] for row in table.rows]
    try:
        values = np.array(cells, dtype=np.float64).reshape(len(cells), len(columns))
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass  # find the culprit cell by cell, below
    values = np.empty((len(cells), len(columns)))
    for i, row in enumerate(cells):
        for k, text in enumerate(row):
            try:
                values[i, k] = _cell_number(text)
            except DataError as exc:
                raise DataError(exc.args[0], file=table.path, row=table.row_numbers[i],
                                column=table.header[columns[k]]) from None
    return values
