"""Linear scans of a delimited text file's raw bytes: where the header is, whether data lines
follow, and which line has more or fewer cells than the header (pandas pads short rows with
NaN without a word, so the reader scans when the last column has a missing cell).

The scan reads the file in blocks of whole lines and counts delimiters with NumPy, so its time
and memory are linear in the file and bounded per block. A file with quote characters is not
checked cell by cell (a quoted cell may hold the delimiter); pandas still refuses long rows.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError

__all__ = ["check_cell_counts", "first_bad_utf8", "has_line_after", "header_line"]

BLOCK = 1 << 22  # bytes read at a time
NEWLINE = ord("\n")
BOM = b"\xef\xbb\xbf"


def _lines(path: str):
    """The file's lines, ended by \\n, \\r\\n or a lone \\r (as pandas ends them), each byte
    a character (latin-1: no decoding error)."""
    return open(path, encoding="latin-1", newline=None)


def header_line(path: str) -> int | None:
    """The number of the first line that holds more than white space (None: no such line).
    Lines end at \\n here: a file whose lines end in a lone \\r is one line, whose first part
    is taken as the header (a blank one refused), which is where pandas' skiprows counts
    from."""
    with open(path, "rb") as handle:
        for number, text in enumerate(handle, start=1):
            if text.replace(BOM, b"").strip():
                return number
    return None


def has_line_after(path: str, line: int) -> bool:
    """Whether a line after line `line` holds more than white space (reads up to it)."""
    with _lines(path) as lines:
        for number, text in enumerate(lines, start=1):
            if number > line and text.strip():
                return True
    return False


class _Quoted(Exception):
    pass


def _check_block(
    path: str, block: bytes, first: int, header: int, delimiter: int, n_columns: int
) -> tuple[int, int]:
    """(the next line's number, lines with content after the header) of a block of whole
    lines; DataError at the first line after the header whose cell count is not n_columns."""
    buf = np.frombuffer(block, dtype=np.uint8)
    if b'"' in block:  # memchr: quicker than a NumPy pass
        raise _Quoted
    ends = np.flatnonzero(buf == NEWLINE)
    # Delimiters before each line's end, less those before the previous line's end.
    counts = np.diff(np.searchsorted(np.flatnonzero(buf == delimiter), ends), prepend=0)
    numbers = first + np.arange(len(ends))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    after = numbers > header
    for i in np.flatnonzero((counts != n_columns - 1) & after):
        if counts[i] == 0 and not block[starts[i] : ends[i]].strip():
            continue  # a blank line: skipped, not short
        raise DataError(
            f"has {counts[i] + 1} cells but the header has {n_columns} columns",
            file=path,
            row=int(numbers[i]),
        )
    carriage = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == ord("\r"))
    content = (ends - starts - carriage) > 0
    return first + len(ends), int(np.count_nonzero(content & after))


def check_cell_counts(path: str, delimiter: str, n_columns: int, header: int) -> int | None:
    """The number of lines with content after line `header` (None for a file with quotes or
    lone carriage returns); DataError naming the first of them with more or fewer cells than
    n_columns."""
    code, line, rest, lines = ord(delimiter), 1, b"", 0
    try:
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(BLOCK)
                data = rest + chunk
                body = data[:-1] if chunk and data.endswith(b"\r") else data  # \r\n may be cut
                if body.count(b"\r") != body.count(b"\r\n"):
                    return None  # a lone carriage return ends a line for pandas, not here
                cut = len(data) if not chunk else data.rfind(b"\n") + 1
                if not chunk and data and not data.endswith(b"\n"):
                    data, cut = data + b"\n", len(data) + 1
                line, found = _check_block(path, data[:cut], line, header, code, n_columns)
                lines, rest = lines + found, data[cut:]
                if not chunk:
                    return lines
    except _Quoted:
        return None


def first_bad_utf8(path: str) -> tuple[str, int, int] | None:
    """(what is wrong, byte offset, line number) of the file's first byte sequence that is
    not UTF-8, read a block at a time (None: the whole file is UTF-8)."""
    done, line, rest = 0, 1, b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(BLOCK)
            data = rest + block
            try:
                data.decode("utf-8")
                good = len(data)
            except UnicodeDecodeError as exc:
                if block and exc.reason == "unexpected end of data":
                    good = exc.start  # a character cut at the block's end: read on
                else:
                    return exc.reason, done + exc.start, line + data.count(b"\n", 0, exc.start)
            if not block:
                return None
            done, line, rest = done + good, line + data.count(b"\n", 0, good), data[good:]
