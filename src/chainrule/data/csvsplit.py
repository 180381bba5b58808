"""A delimited text file's data rows parsed by pandas on several threads, in file order.

The bytes after the header are cut at line ends into pieces of about as many rows as a
chunk; each piece is read a buffer at a time (os.pread) and parsed by pandas.read_csv, whose
C parser lets go of the GIL while it tokenizes and converts (pandas' own read_csv of a whole
file reads in parallel the same way). The reading thread parses pieces itself, helped by
threads of the lowest priority (inorder.py, spare): on a busy machine the helpers get no
core and the reader does nearly all of it, as one thread would; on an idle one the pieces
spread over the cores. The frames come back in file order, a piece per thread in flight.
A cut can fall inside a quoted cell only after a quote character: from the first piece
that holds one on, the rest of the file is read by one serial chunked reader, starting at
that piece's first line. pandas parses each piece as it parses a chunk of the serial reader
(the same options), so the cells are the same; only where the chunks end differs, which
the ColumnStore ignores."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

from .inorder import give_back_freed_memory, in_order

__all__ = ["data_offset", "piece_frames"]

SAMPLE_BYTES = 1 << 20  # the first data bytes, to size the pieces
AHEAD = 0  # pieces begun beyond one per thread
PIECE_BUFFER = 1 << 18  # bytes of a piece read at a time


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


class _Piece(io.RawIOBase):
    """Bytes start:end of an open file (os.pread: no shared file position), read a buffer at
    a time, so that a piece is never held whole; it ends early at a quote character
    (quoted: then its frame is not used)."""

    def __init__(self, descriptor: int, start: int, end: int) -> None:
        super().__init__()
        self.descriptor, self.position, self.end, self.quoted = descriptor, start, end, False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), self.end - self.position)
        data = (
            os.pread(self.descriptor, size, self.position) if size > 0 and not self.quoted else b""
        )
        if b'"' in data:
            self.quoted, data = True, b""
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def piece_frames(
    path: str,
    start: int,
    rows: int,
    workers: int,
    parse: Callable[[io.BufferedReader], object],
    serial_from: Callable[[int], Iterator],
) -> Iterator:
    """parse(a reader of its bytes) of each piece of about `rows` lines from byte `start` on,
    in file order, on `workers` threads (inorder.py); from the first piece with a quote
    character on, serial_from(its offset)."""
    descriptor = os.open(path, os.O_RDONLY)

    def read(cut: tuple[int, int]):
        piece = _Piece(os.dup(descriptor), *cut)  # its own: a dropped piece may outlive ours
        try:
            frame = parse(io.BufferedReader(piece, PIECE_BUFFER))
        except Exception:
            if not piece.quoted:
                raise
        finally:
            os.close(piece.descriptor)
        return cut, None if piece.quoted else frame

    pieces = in_order(read, _cuts(path, start, rows), workers, workers + AHEAD, spare=True)
    try:
        for cut, frame in pieces:
            if frame is None:  # a quote: a cut may fall inside a quoted cell from here on
                pieces.close()
                yield from serial_from(cut[0])
                return
            yield frame
    finally:
        pieces.close()
        os.close(descriptor)
        give_back_freed_memory()
