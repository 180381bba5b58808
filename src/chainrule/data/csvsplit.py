"""A delimited text file's data rows parsed by pandas on several threads, in file order.

The bytes after the header are cut at line ends into pieces of about as many rows as a
chunk, parsed by pandas' C parser, which lets go of the GIL while it tokenizes and converts
(pandas' own read_csv of a whole file reads in parallel the same way). One parser reads
piece after piece (exactly the piece's rows, counted by its line ends in a scan before), so
its buffers are made, and faulted in, once rather than once a piece. The
reading thread parses pieces itself, helped by threads of the lowest priority (inorder.py,
spare): on a busy machine the helpers get no core and the reader does nearly all of it, as
one thread would; on an idle one the pieces spread over the cores. Each parser is lent to
one thread at a time. A piece comes back as its columns, prepared (for instance checked) on
the thread that parsed it, in file order, a piece per thread and AHEAD more in flight.
A cut can fall inside a quoted cell only after a quote character, and pandas ends a line at
a lone carriage return, which the count would miss: from the first piece that holds either,
the rest of the file is read by one serial chunked reader, starting at that piece's first
line. pandas parses each piece as it parses a chunk of the serial reader (the same
options), so the cells are the same; only where the chunks end differs, which the
ColumnStore ignores."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .inorder import give_back_freed_memory, in_order

__all__ = ["data_offset", "piece_columns"]

SAMPLE_BYTES = 1 << 20  # the first data bytes, to size the pieces
AHEAD = 1  # pieces begun beyond one per thread (a helper need not wait while the reader stores)
SCAN_BLOCK = 1 << 18  # bytes of a piece scanned at a time


def data_offset(path: str, header_line: int) -> int | None:
    """The byte offset just after line `header_line`, or None when a lone carriage return
    (a line end to pandas, not to a byte scan for newlines) comes before it."""
    with open(path, "rb") as handle:
        preamble = b"".join(handle.readline() for _ in range(header_line))
    if b"\r" in preamble.replace(b"\r\n", b""):
        return None
    return len(preamble)


def _cuts(path: str, start: int, rows: int) -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges of about `rows` lines each, from `start` to the file's end,
    every one ending just after a newline (or at the end of the file)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        sample = os.pread(handle.fileno(), SAMPLE_BYTES, start)
        line_bytes = len(sample) / max(sample.count(b"\n"), 1)
        length = max(int(rows * line_bytes), 1)
        while start < size:
            end = _line_end(handle, min(start + length, size))
            yield start, end
            start = end


def _line_end(handle, offset: int) -> int:
    """The offset just after the first newline at or after `offset` (or the file's end)."""
    window = os.pread(handle.fileno(), 1 << 16, offset)
    found = window.find(b"\n")
    if found >= 0:
        return offset + found + 1
    handle.seek(offset)  # a line longer than the window (or the last one)
    handle.readline()
    return handle.tell()


class _Feed(io.RawIOBase):
    """The pieces one pandas parser reads, one after another: each piece is scanned first
    (its rows counted by its line ends, a block at a time into a buffer kept for the next),
    then handed to the parser a read at a time (os.pread: no shared file position)."""

    def __init__(self) -> None:
        super().__init__()
        self.block = bytearray(SCAN_BLOCK)  # the scan's buffer and scratch, made once
        self.marks = np.empty(SCAN_BLOCK, bool)
        self.descriptor, self.position, self.end, self.tail = -1, 0, 0, b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.end - self.position if size < 0 else min(size, self.end - self.position)
        if size <= 0:
            tail, self.tail = self.tail, b""
            return tail
        data = os.pread(self.descriptor, size, self.position)
        self.position += len(data)
        if not data:  # the file shrank
            self.end = self.position
        return data

    def load(self, descriptor: int, start: int, end: int) -> int | None:
        """Bytes start:end as the next piece: its row count, or None when it holds a quote
        character or a lone carriage return (a line end to pandas, not to the count)."""
        lines, returns, last, block = 0, 0, ord("\n"), self.block
        with memoryview(block) as view:
            for offset in range(start, end, SCAN_BLOCK):
                size = os.preadv(descriptor, [view[: min(SCAN_BLOCK, end - offset)]], offset)
                if not size:
                    break
                returns += _lone_returns(block, size, last == ord("\r"))
                last = block[size - 1]
                if block.find(b'"', 0, size) >= 0 or returns > (last == ord("\r")):
                    return None
                text = np.frombuffer(block, np.uint8, size)
                lines += int(np.count_nonzero(np.equal(text, ord("\n"), out=self.marks[:size])))
        if returns:
            return None
        self.descriptor, self.position, self.end = descriptor, start, end
        self.tail = b"" if last == ord("\n") else b"\n"  # the file's last line, ended
        return lines + len(self.tail)

    def done(self) -> bool:
        """Whether the parser has read the whole piece."""
        return self.position >= self.end and not self.tail


def _lone_returns(block: bytearray, size: int, after_return: bool) -> int:
    """How many carriage returns block[:size] holds that no newline follows (after_return:
    the block before ended with one, which a newline here follows)."""
    if block.find(b"\r", 0, size) < 0:
        return -1 if after_return and block.startswith(b"\n") else 0
    lone = block.count(b"\r", 0, size) - block.count(b"\r\n", 0, size)
    return lone - (after_return and block.startswith(b"\n"))


class _Parser:
    """One pandas parser (open_parser(feed): a reader with get_chunk) for piece after piece:
    its buffers are made once and kept between pieces."""

    def __init__(self, open_parser: Callable[[io.RawIOBase], Any]) -> None:
        self.open_parser, self.feed = open_parser, _Feed()
        self.reader: Any = None  # pandas' TextFileReader, made on the first piece

    def columns(self, descriptor: int, start: int, end: int):
        """The columns of bytes start:end (_read_columns), or None when a quote or lone
        \\r is among them."""
        rows = self.feed.load(descriptor, start, end)
        if rows is None:
            return None
        if self.reader is None:  # made on a first piece, whose first row it reads now
            self.reader = self.open_parser(self.feed)
            _keep_buffers(self.reader)
        columns = _read_columns(self.reader, rows)
        read = len(next(iter(columns.values()), ())) if isinstance(columns, dict) else len(columns)
        if read != rows or not self.feed.done():
            raise RuntimeError(f"pandas read {read} rows of bytes {start}:{end}, not {rows}")
        return columns

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()  # pandas frees its parser's buffers
        self.reader = None


def _read_columns(reader, rows: int):
    """The next `rows` rows: {name: array}, the arrays pandas' parser made (its internal
    engine's read, whose columns get_chunk wraps in a DataFrame: a tenth of the parse for a
    table of numbers) where the engine has it, else get_chunk's DataFrame."""
    read = getattr(getattr(reader, "_engine", None), "read", None)
    if read is None:
        return reader.get_chunk(rows)
    index, _, columns = read(rows)
    if index is not None:  # pandas made an index of a first cell the header does not name
        import pandas as pd  # type: ignore[import-untyped]

        raise pd.errors.ParserError("the rows have more cells than the header names")
    return columns


def _keep_buffers(reader) -> None:
    """pandas (3.1 on) can keep its tokenizer's buffers between reads instead of shrinking
    them after each (then growing them, page by page, for the next piece): 10 % of the
    parse, and most of its page faults. An option of pandas' internal reader: where it is
    absent, nothing changes but the speed."""
    internal: Any = getattr(getattr(reader, "_engine", None), "_reader", None)
    if hasattr(internal, "trim_after_read"):
        internal.trim_after_read = False


class _Parsers:
    """The parsers the reading threads borrow, one a thread at a time (so no more of them
    than threads at once); closed at the end, or by its borrower when it comes back late.
    No lock: list.pop and list.append are atomic, and a helper of the lowest priority
    holding a lock while it gets no core would stall the reading thread."""

    def __init__(self, open_parser: Callable[[io.RawIOBase], Any]) -> None:
        self.open_parser, self.closed = open_parser, False
        self.idle: list[_Parser] = []

    def columns(self, descriptor: int, start: int, end: int):
        if self.closed:  # a helper come late to a piece the reader has done again: unneeded
            return None
        try:
            parser = self.idle.pop()
        except IndexError:
            parser = _Parser(self.open_parser)
        failed = True
        try:
            columns, failed = parser.columns(descriptor, start, end), False
            return columns
        finally:
            if failed:  # a parser that failed may be mid-row
                parser.close()
            else:
                self.idle.append(parser)
                if self.closed:  # closed while it was out: close what is idle now
                    self.close()

    def close(self) -> None:
        self.closed = True
        while True:
            try:
                self.idle.pop().close()
            except IndexError:
                return


def piece_columns(
    path: str,
    start: int,
    rows: int,
    workers: int,
    open_parser: Callable[[io.RawIOBase], Any],
    serial_from: Callable[[int], Iterator],
    prepare: Callable[[Any], Any] = lambda columns: columns,
) -> Iterator:
    """prepare(columns) of each piece of about `rows` lines from byte `start` on, in file
    order, on `workers` threads (inorder.py; prepare runs on the thread that parsed the
    piece), each parser (open_parser(a stream): pandas' reader with get_chunk, header=None)
    reading piece after piece (columns: {name: array}, or a DataFrame where pandas' parser
    cannot be read directly); from the first piece with a quote character or a lone carriage
    return on, serial_from(its offset)."""
    parsers = _Parsers(open_parser)

    def read(cut: tuple[int, int]):
        if parsers.closed:  # a helper come late to a piece the reader has done again
            return cut, None
        # The file opened for this piece alone: a helper's dropped piece may still be read
        # after this generator has ended.
        own = os.open(path, os.O_RDONLY)
        try:
            columns = parsers.columns(own, *cut)
        finally:
            os.close(own)
        return cut, None if columns is None else prepare(columns)

    pieces = in_order(read, _cuts(path, start, rows), workers, workers + AHEAD, spare=True)
    try:
        for cut, prepared in pieces:
            if prepared is None:  # a cut may fall inside a quoted cell from here on
                pieces.close()
                yield from serial_from(cut[0])
                return
            yield prepared
    finally:
        pieces.close()
        parsers.close()
        give_back_freed_memory()
