"""Linear scans of a delimited text file's raw bytes: where the header is, and which line has
more or fewer cells than the header (pandas pads short rows with NaN without a word).

The scan reads the file in blocks of whole lines and counts delimiters with NumPy, so its time
and memory are linear in the file and bounded per block. A file with quote characters is not
checked cell by cell (a quoted cell may hold the delimiter); pandas still refuses long rows.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError

__all__ = ["check_cell_counts", "header_line"]

BLOCK = 1 << 22  # bytes read at a time
NEWLINE, QUOTE = ord("\n"), ord('"')
BOM = b"\xef\xbb\xbf"


def header_line(path: str) -> int | None:
    """The number of the first line that holds more than white space (None: no such line)."""
    with open(path, "rb") as handle:
        for number, text in enumerate(handle, start=1):
            if text.replace(BOM, b"").strip():
                return number
    return None


class _Quoted(Exception):
    pass


def _check_block(path: str, block: bytes, first: int, header: int, delimiter: int,
                 n_columns: int) -> int:
    """DataError at the first line after the header whose cell count is not n_columns."""
    buf = np.frombuffer(block, dtype=np.uint8)
    if (buf == QUOTE).any():
        raise _Quoted
    ends = np.flatnonzero(buf == NEWLINE)
    counts = np.diff(np.cumsum(buf == delimiter, dtype=np.int64)[ends], prepend=0)
    numbers = first + np.arange(len(ends))
    starts = np.concatenate([[0], ends[:-1] + 1])
    for i in np.flatnonzero((counts != n_columns - 1) & (numbers > header)):
        if counts[i] == 0 and not block[starts[i]:ends[i]].strip():
            continue  # a blank line: skipped, not short
        raise DataError(f"has {counts[i] + 1} cells but the header has {n_columns} columns",
                        file=path, row=int(numbers[i]))
    return first + len(ends)


def check_cell_counts(path: str, delimiter: str, n_columns: int, header: int) -> None:
    """DataError naming the first line after line `header` with more or fewer cells than
    n_columns."""
    code, line, rest = ord(delimiter), 1, b""
    try:
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(BLOCK)
                data = rest + chunk
                cut = len(data) if not chunk else data.rfind(b"\n") + 1
                if not chunk and data and not data.endswith(b"\n"):
                    data, cut = data + b"\n", len(data) + 1
                line = _check_block(path, data[:cut], line, header, code, n_columns)
                rest = data[cut:]
                if not chunk:
                    return
    except _Quoted:
        return
