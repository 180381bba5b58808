"""Reading a table file into a pandas DataFrame, with the spreadsheet row of every record.

The format follows the extension: .parquet/.pq (pyarrow), .jsonl/.ndjson (one JSON object a
line), anything else is delimited text (.tsv: tabs; otherwise the delimiter is sniffed among
, ; tab |). Text rows are numbered as a spreadsheet numbers them (the header is row 1); blank
lines, and rows whose cells are all empty, are skipped but still counted. Parquet and JSON-lines
records are numbered from 1. Cells listed in MISSING are read as missing (NaN).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from .cells import as_column, columns_of, is_numbers, kept, missing
from .columns import numbers_in_range
from .csvsplit import data_offset, piece_columns
from .errors import DataError
from .inorder import worker_count
from .linescan import check_cell_counts, first_bad_utf8, has_line_after, header_line

__all__ = ["MISSING", "Chunks", "Table", "open_chunks", "read_table", "require_pandas"]

# Cells that spreadsheets and data tools write for "no value" (compared case-insensitively).
MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
NA_VALUES = sorted(MISSING | {text.upper() for text in MISSING} | {"NaN", "N/A", "Null", "None"})
PARQUET, JSON_LINES = (".parquet", ".pq"), (".jsonl", ".ndjson")
DELIMITERS = ",;\t|"
CHUNK_ROWS_MIN = 64  # a chunk's rows at least, however wide the table
SAMPLE_BYTES = 1 << 20  # the file's first bytes, to tell about how many rows it has


@dataclass
class Table:
    path: str
    frame: Any  # pandas.DataFrame (untyped), columns named by the header
    row_numbers: np.ndarray  # the spreadsheet row (or record number) of each frame row

    @property
    def header(self) -> list[str]:
        return [str(name) for name in self.frame.columns]

    def column_index(self, name: str, role: str = "column") -> int:
        return column_index(self.path, self.header, name, role)


def column_index(path: str, header: list[str], name: str, role: str = "column") -> int:
    """The position of column `name`; DataError listing the columns when absent."""
    if name not in header:
        raise DataError(f"unknown {role} {name!r}; the columns are {header}", file=path)
    return header.index(name)


def require_pandas():
    try:
        import pandas  # type: ignore[import-untyped]
    except ImportError:
        raise DataError('reading tables needs pandas: pip install "chainrule[all]"') from None
    return pandas


def _check_header(path: str, row: int, header: list[str]) -> None:
    if not header:
        raise DataError("the header row has no column names", file=path, row=row)
    seen = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise DataError(
                f"header cell {position} is empty: every column needs a name", file=path, row=row
            )
        if name in seen:  # a set: linear in the number of columns
            raise DataError(f"the header names column {name!r} twice", file=path, row=row)
        seen.add(name)


def _sniff(path: str, first_line: str) -> str:
    if path.lower().endswith(".tsv"):
        return "\t"
    try:
        return csv.Sniffer().sniff(first_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or nothing to tell by


def _first_line(path: str, line: int) -> str:
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if number == line:
                return text[:1_000_000]
    return ""


def _stripped(series):
    """Text cells without surrounding spaces; " NA " and the like become missing (NaN).
    (Cheaper than read_csv's skipinitialspace, and only text columns pay for it.)"""
    pd = require_pandas()
    if isinstance(series.dtype, pd.StringDtype):  # text cells only: vectorized
        stripped = series.str.strip()
        gaps = stripped.str.lower().isin(MISSING).to_numpy(dtype=bool)
        return stripped.mask(gaps)  # compact (Arrow) text, not Python objects
    if series.dtype.kind in "OSU":  # text among other objects: cell by cell
        texts = series.astype(object).where(series.notna(), None)
        stripped = texts.map(lambda v: v.strip() if isinstance(v, str) else v)
        gaps = stripped.map(lambda v: isinstance(v, str) and v.lower() in MISSING)
        return stripped.mask(gaps.astype(bool))
    return series


def _open_text(path: str, delimiter: str | None) -> tuple[int, str, list[str]]:
    """(the header's line number, the delimiter, the header) of a delimited text file."""
    first = header_line(path)
    if first is None:
        raise DataError(
            "the file is empty: expected a header row of column names and data rows", file=path
        )
    header_text = _first_line(path, first)
    delimiter = delimiter or _sniff(path, header_text)
    header = [name.strip() for name in next(csv.reader([header_text], delimiter=delimiter))]
    _check_header(path, first, header)
    if not has_line_after(path, first):  # before pandas, which is slow on wide headers
        raise DataError("the file has a header but no data rows", file=path)
    return first, delimiter, header


@dataclass
class _Tidied:
    """A chunk as pandas parsed it, tidied on the thread that parsed it (_tidied)."""

    cells: dict  # name: NumPy array of numbers, or Series (text stripped); no blank rows
    parsed_rows: int  # rows pandas read, blank ones included
    blank: np.ndarray | None  # which of those were blank (None: none)
    last_missing: bool  # a missing cell in the last column (perhaps a short row)
    numbers: dict  # name: float64 cells of a numeric column within float32's range


def _tidied(parsed, columns: int, path: str, check: bool = True) -> _Tidied:
    """The per-chunk work that needs no row numbers (on the thread that parsed the chunk
    where _light says so). parsed: a DataFrame, or {name: array}; check: find the numeric
    columns' checked float64 cells (load_csv's store takes them, read_table does not)."""
    if not isinstance(parsed, dict):
        parsed = _csv_columns(parsed)
    if len(parsed) != columns:
        _malformed(path, columns, f"{len(parsed)} columns")
    cells = {name: as_column(values) for name, values in parsed.items()}
    last_missing = columns > 1 and bool(missing(list(cells.values())[-1]).any())
    cells = {name: v if is_numbers(v) else _stripped(v) for name, v in cells.items()}
    blank = _blank_rows(list(cells.values()))
    parsed_rows = len(blank)
    if blank.any():
        cells = {name: kept(v, ~blank) for name, v in cells.items()}
    numbers = {}
    for name, v in cells.items() if check else ():
        checked = numbers_in_range(v) if is_numbers(v) else None
        if checked is not None:
            numbers[name] = checked
    return _Tidied(cells, parsed_rows, blank if blank.any() else None, last_missing, numbers)


def _csv_columns(frame) -> dict:
    """{name: column} of a frame read_csv made; ParserError when its rows had a first cell
    more than the header names (pandas makes an index of it)."""
    pd = require_pandas()
    if not isinstance(frame.index, pd.RangeIndex):
        raise pd.errors.ParserError("the rows have more cells than the header names")
    return columns_of(frame)


def _light(parsed) -> bool:
    """Whether tidying these columns holds the GIL only briefly (numbers, booleans, pandas'
    Arrow text): only such chunks are tidied on a helper, which a busy machine may leave
    without a core while it holds the GIL (text among other objects is stripped cell by
    cell in Python)."""
    pd = require_pandas()
    return isinstance(parsed, dict) and all(
        (isinstance(v, np.ndarray) and v.dtype.kind in "iufb")
        or isinstance(getattr(v, "dtype", None), pd.StringDtype)
        for v in parsed.values()
    )


def _blank_rows(columns: list) -> np.ndarray:
    """Where every cell of a row is missing."""
    blank = missing(columns[0])
    for other in columns[1:]:
        if not blank.any():
            break
        blank[blank] = missing(kept(other, blank))
    return blank


def _parsed(
    path: str, delimiter: str, first: int, header: list[str], chunk_rows: int | None, text=()
):
    """The data rows as _Tidied chunks: one, or one per about chunk_rows rows (read lazily;
    on several threads where the machine has them, csvsplit.py); columns `text` as text."""
    pd = require_pandas()
    options = _options(delimiter)
    if text:
        options["dtype"] = {name: str for name in text if name in header}

    def tidy(parsed) -> _Tidied:
        return _tidied(parsed, len(header), path, check=chunk_rows is not None)

    def tidy_light(parsed):
        return tidy(parsed) if _light(parsed) else parsed

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # mixed columns: checked
            for parsed in _read(path, first, header, chunk_rows, options, tidy_light):
                yield parsed if isinstance(parsed, _Tidied) else tidy(parsed)
    except pd.errors.ParserError as exc:
        check_cell_counts(path, delimiter, len(header), first)  # names the row, if it can
        raise DataError(f"malformed CSV ({str(exc).strip()})", file=path) from None


def _options(delimiter: str) -> dict:
    """read_csv's options for every read of delimited text."""
    return dict(sep=delimiter, skip_blank_lines=False, na_values=NA_VALUES, keep_default_na=False)


def _whole(options: dict, first: int, header: list[str]) -> dict:
    """read_csv's options for the data rows from the file's start (the header on line first)."""
    return dict(options, skiprows=first - 1, header=0, names=header, encoding="utf-8-sig")


def _read(path: str, first: int, header: list[str], chunk_rows, options: dict, prepare):
    """pandas' reading of the data rows (_parsed): the whole file, chunks, or pieces
    (prepared on the thread that parsed them)."""
    pd = require_pandas()
    whole = _whole(options, first, header)
    rest = dict(options, header=None, names=header, encoding="utf-8")  # from a line's start
    if chunk_rows is None:
        yield pd.read_csv(path, **whole)
        return
    workers = worker_count()
    # pieces (os.pread: not on Windows), on one thread too: a parser reading piece after
    # piece keeps its buffers, where read_csv's chunks make them again
    start = data_offset(path, first) if hasattr(os, "pread") else None
    if start is None:
        with pd.read_csv(path, chunksize=chunk_rows, **whole) as reader:
            yield from reader
        return
    try:
        yield from piece_columns(
            path,
            start,
            max(2 * chunk_rows // workers, 1),  # a piece per thread: two chunks in all
            workers,
            lambda feed: pd.read_csv(feed, iterator=True, low_memory=False, **rest),
            lambda offset: _serial_from(path, offset, chunk_rows, rest),
            prepare,
        )
    except pd.errors.ParserError:
        # pandas counts rows from the start of a piece: a serial read from the header, whose
        # error (if it finds one) counts them from the file's
        with pd.read_csv(path, chunksize=chunk_rows, **whole) as reader:
            for _ in reader:
                pass
        raise


def _serial_from(path: str, offset: int, chunk_rows: int, options: dict):
    """pandas' frames of chunk_rows rows of the file from byte `offset` (a line's start) on."""
    pd = require_pandas()
    with open(path, "rb") as handle:
        handle.seek(offset)
        with pd.read_csv(handle, chunksize=chunk_rows, **options) as reader:
            yield from reader


def _text_chunks(path: str, opened: tuple[int, str, list[str]], chunk_rows: int | None, text=()):
    """(cells, row numbers, checked numbers) of each chunk of a delimited text file (opened:
    _open_text's answer; Chunks says what they are); blank rows dropped; columns `text` read
    as text (not as numbers where they look like them)."""
    first, delimiter, header = opened
    offset, counted = first + 1, False  # the row of the chunk's first record
    for chunk in _parsed(path, delimiter, first, header, chunk_rows, text):
        if not counted and chunk.last_missing:
            # pandas pads a short row with NaN: a missing last cell may be one
            check_cell_counts(path, delimiter, len(header), first)
            counted = True
        rows = np.arange(offset, offset + chunk.parsed_rows)
        offset += chunk.parsed_rows
        if chunk.blank is not None:
            rows = rows[~chunk.blank]
        yield chunk.cells, rows, chunk.numbers
    if offset == first + 1:  # e.g. a lone \r splitting the header
        _malformed(path, len(header), "no rows")


def _malformed(path: str, columns: int, read: str) -> NoReturn:
    raise DataError(
        f"malformed CSV: the header names {columns} columns, pandas read {read}", file=path
    )


def _read_records(path: str) -> Table:
    pd = require_pandas()
    try:
        if path.lower().endswith(PARQUET):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True, dtype=False)
    except ImportError as exc:
        raise DataError(
            f'reading {path} needs pyarrow ({exc}): pip install "chainrule[all]"'
        ) from None
    except (ValueError, TypeError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        bad = None if path.lower().endswith(PARQUET) else _bad_json_line(path)
        if bad is not None:
            raise DataError(bad[1], file=path, row=bad[0]) from None
        raise DataError(f"cannot read the file ({str(exc).strip()[:200]})", file=path) from None
    frame.columns = [str(name).strip() for name in frame.columns]
    _check_header(path, 1, list(frame.columns))
    return Table(path, frame, np.arange(1, len(frame) + 1))


def _bad_json_line(path: str) -> tuple[int, str] | None:
    """(line number, what is wrong) of a JSON-lines file's first line that is not one JSON
    object (blank lines pass); None when every line is one."""
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text.strip())
            except json.JSONDecodeError as exc:
                return number, f"invalid JSON ({exc.msg} at character {exc.colno})"
            if not isinstance(value, dict):
                return number, f"not a JSON object but {type(value).__name__} {text.strip()[:40]!r}"
    return None


@dataclass
class Chunks:
    """A table file's header and its rows as chunks, read lazily: ({name: column} (cells.py:
    NumPy arrays of numbers, Series of anything else), row numbers, {name: float64 cells}
    of the numeric columns already checked as columns.numbers_of checks)."""

    path: str
    header: list[str]
    parts: Iterator[tuple[dict, np.ndarray, dict]]
    rows_hint: int  # about how many rows the file holds (at least 1)
    delimiter: str | None = None  # of delimited text (None: records, read in one chunk)
    header_line: int = 1

    def column_index(self, name: str, role: str = "column") -> int:
        return column_index(self.path, self.header, name, role)

    def text_of(self, name: str, rows: np.ndarray):
        """Column `name` of the given spreadsheet rows as text, stripped (missing: NaN),
        read again from the file: for a column whose chunks came as numbers in some and as
        text in others, as a read of the whole file gives it."""
        pd = require_pandas()
        assert self.delimiter is not None  # records come in one chunk: never mixed
        options = _whole(_options(self.delimiter), self.header_line, self.header)
        read = functools.partial(pd.read_csv, self.path, usecols=[name], dtype=str, **options)
        frame = _translated(self.path, read)
        records = np.asarray(rows) - (self.header_line + 1)
        return _stripped(frame[name].iloc[records].reset_index(drop=True))


def _translated(path: str, action):
    """action() with the errors of reading a file as DataErrors naming it."""
    try:
        return action()
    except UnicodeDecodeError as exc:  # whose position counts from where pandas began
        reason, byte, line = first_bad_utf8(path) or (exc.reason, exc.start, None)
        where = f"at byte {byte}" + ("" if line is None else f", line {line}")
        raise DataError(f"not UTF-8 text ({reason} {where})", file=path) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise DataError(f"cannot read the file ({exc.strerror})", file=path) from None


def _rows_in(path: str) -> int:
    """About how many lines the file holds, from the length of those in its first MiB."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    lines = sample.count(b"\n") + 1
    if len(sample) < SAMPLE_BYTES:
        return lines
    return int(os.path.getsize(path) * lines / len(sample) * 1.1) + 16


def open_chunks(
    path, delimiter: str | None = None, chunk_cells: int | None = None, text=()
) -> Chunks:
    """The table in `path` in chunks of about chunk_cells cells (None: one chunk); the header
    is checked now, the rows as they are read (DataError as read_table's); delimited text's
    columns `text` read as text."""
    path = os.fspath(path)
    if path.lower().endswith(PARQUET + JSON_LINES):
        table = _translated(path, lambda: _read_records(path))
        chunk: tuple[dict, np.ndarray, dict] = (columns_of(table.frame), table.row_numbers, {})
        return Chunks(path, table.header, iter([chunk]), max(len(table.frame), 1))
    first, delimiter, header = _translated(path, lambda: _open_text(path, delimiter))
    rows = None if chunk_cells is None else max(CHUNK_ROWS_MIN, chunk_cells // len(header))
    parts = _text_chunks(path, (first, delimiter, header), rows, text)

    def read():
        while (chunk := _translated(path, lambda: next(parts, None))) is not None:
            yield chunk

    rows_hint = _translated(path, lambda: _rows_in(path))
    return Chunks(path, header, read(), rows_hint, delimiter, first)


def read_table(path, delimiter: str | None = None, text=()) -> Table:
    """The table in `path`; DataError for an empty file, a header without rows, a record with
    more or fewer cells than the header, or a file that is not of its kind. Columns `text`
    of delimited text are read as text ("007" stays "007", where pandas would make it 7)."""
    chunks = open_chunks(path, delimiter, None, text)
    [(cells, rows, _)] = list(chunks.parts)  # to its end: the reader's last checks run
    frame = require_pandas().DataFrame(cells, copy=False)
    if not len(frame):
        raise DataError("the file has a header but no data rows", file=chunks.path)
    return Table(chunks.path, frame, rows)
