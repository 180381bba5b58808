"""DataError: every bad-input error of chainrule.data, naming where the problem is."""

from __future__ import annotations

import os

from ..engine.tensor import ChainruleError

__all__ = ["DataError", "location"]


def location(file=None, row=None, column=None) -> str:
    """'houses.csv, row 7, column 'area'' — the parts that are known, in that order.

    Rows are numbered as a spreadsheet numbers them: the header is row 1, the first data
    row is row 2.
    """
    parts = []
    if file is not None:
        parts.append(os.fspath(file))
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


class DataError(ChainruleError, ValueError):
    """Bad input data: the message names the file, row, column, shape or value at fault.

    The parts are also kept as attributes (`file`, `row`, `column`) for programs.
    """

    def __init__(self, message: str, *, file=None, row=None, column=None):
        self.file = None if file is None else os.fspath(file)
        self.row = row
        self.column = column
        where = location(file, row, column)
        super().__init__(f"{where}: {message}" if where else message)
