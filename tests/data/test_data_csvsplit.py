"""csvsplit.piece_columns: pieces of a file parsed by pandas parsers that each read piece
after piece (their rows counted by line ends), in file order, on threads; a quote or a lone
carriage return hands the rest of the file to a serial reader."""

import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from chainrule.data import csvsplit, csvtable

HEADER = ["a", "b", "t"]
OPTIONS = dict(sep=",", skip_blank_lines=False, header=None, names=HEADER, encoding="utf-8")


def text_table(rows: int, line_end: str = "\n", last_end: bool = True) -> str:
    lines = [",".join(HEADER)] + [f"{i * 0.5},{-i},{i % 3}" for i in range(rows)]
    lines[7:7] = ["", ""]  # blank rows are rows too
    return line_end.join(lines) + (line_end if last_end else "")


class PublicReader:
    """pandas' reader with only its public get_chunk: a pandas whose internal engine
    cannot be read directly."""

    def __init__(self, reader) -> None:
        self.reader = reader

    def get_chunk(self, rows: int):
        return self.reader.get_chunk(rows)

    def close(self) -> None:
        self.reader.close()


def pieces(
    path,
    rows: int,
    workers: int,
    opened: list | None = None,
    serial: list | None = None,
    public: bool = False,
):
    """The pieces of piece_columns over `path`'s data rows, joined, with the parsers made
    (opened) and the offsets the serial reader began at (serial); public: through
    get_chunk only."""

    def open_parser(feed):
        if opened is not None:
            opened.append(threading.get_ident())
        reader = pd.read_csv(feed, iterator=True, low_memory=False, **OPTIONS)
        return PublicReader(reader) if public else reader

    def serial_from(offset: int):
        if serial is not None:
            serial.append(offset)
        return csvtable._serial_from(str(path), offset, rows, OPTIONS)

    start = csvsplit.data_offset(str(path), 1)
    parts = csvsplit.piece_columns(str(path), start, rows, workers, open_parser, serial_from)
    frames = [part if isinstance(part, pd.DataFrame) else pd.DataFrame(part) for part in parts]
    return pd.concat(frames, ignore_index=True)


def whole(path):
    return pd.read_csv(path, skip_blank_lines=False)


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize(
    "line_end, last_end", [("\n", True), ("\n", False), ("\r\n", True), ("\r\n", False)]
)
def test_pieces_give_the_whole_file_read(tmp_path, monkeypatch, workers, line_end, last_end):
    """Pieces of 17 lines read by one parser a thread (a 64-byte scan block, so that a
    \\r\\n often straddles two blocks): the rows of one read of the whole file, no serial
    reader, and no more parsers than threads."""
    monkeypatch.setattr(csvsplit, "SCAN_BLOCK", 64)
    path = tmp_path / "table.csv"
    path.write_bytes(text_table(300, line_end, last_end).encode())
    opened, serial = [], []
    got = pieces(path, 17, workers, opened, serial)
    pd.testing.assert_frame_equal(got, whole(path))
    assert serial == [] and 1 <= len(opened) <= workers


@pytest.mark.parametrize("workers", [1, 2])
def test_pieces_read_through_get_chunk_alone_are_the_same(tmp_path, workers):
    """Where pandas' reader has no internal engine to read from, its public get_chunk gives
    the pieces: the same rows."""
    path = tmp_path / "table.csv"
    path.write_text(text_table(300))
    got = pieces(path, 17, workers, public=True)
    pd.testing.assert_frame_equal(got, whole(path))


def test_a_piece_of_numbers_comes_as_the_arrays_pandas_parsed(tmp_path):
    """The installed pandas' parser is read directly: numeric columns come as NumPy arrays
    (no DataFrame made per piece, the fast road the benchmark measures), text as its
    pandas array."""
    path = tmp_path / "table.csv"
    path.write_text("a,b,t\n" + "".join(f"{i * 0.5},{i},x{i % 3}\n" for i in range(100)))
    start = csvsplit.data_offset(str(path), 1)
    parts = list(
        csvsplit.piece_columns(
            str(path), start, 30, 2,
            lambda feed: pd.read_csv(feed, iterator=True, low_memory=False, **OPTIONS),
            lambda offset: pytest.fail("no serial reader for a file without quotes"),
        )
    )  # fmt: skip
    assert sum(len(part["a"]) for part in parts) == 100
    for part in parts:
        assert isinstance(part["a"], np.ndarray) and part["a"].dtype == np.float64
        assert isinstance(part["b"], np.ndarray) and part["b"].dtype == np.int64
        assert not isinstance(part["t"], (np.ndarray, pd.Series))


def test_a_lone_carriage_return_hands_over_to_the_serial_reader(tmp_path):
    """pandas ends a line at a lone \\r, which the count of newlines would miss: the piece
    with one, and the rest of the file, go to the serial reader."""
    text = text_table(200).replace("\n", "\r", 1 + 150)  # lines up to row ~150 end in \r
    path = tmp_path / "old_mac.csv"
    path.write_bytes(text.replace("\r", "\n", 1).encode())  # the header line ends in \n
    serial = []
    got = pieces(path, 13, 2, serial=serial)
    pd.testing.assert_frame_equal(got, whole(path))
    assert serial == [len("a,b,t\n")]


def test_a_piece_a_slow_thread_holds_is_done_again_with_another_parser(tmp_path, monkeypatch):
    """A helper thread stuck in its first piece: the reading thread parses that piece again
    with its own parser (inorder.py, spare) and goes on: rows and order are the whole
    file's."""
    path = tmp_path / "table.csv"
    path.write_text(text_table(400))
    columns = csvsplit._Parser.columns
    stuck, by_reader = [], []
    helper_began = threading.Event()

    def slow_helper(parser, *cut):
        if threading.current_thread() is threading.main_thread():
            helper_began.wait(10)  # on a busy machine the helper may start late: wait
            by_reader.append(cut[1:])  # (start, end): each read opens the file anew
        elif not stuck:
            stuck.append(cut)
            helper_began.set()
            time.sleep(0.3)
        return columns(parser, *cut)

    monkeypatch.setattr(csvsplit._Parser, "columns", slow_helper)
    got = pieces(path, 20, 2)
    pd.testing.assert_frame_equal(got, whole(path))
    assert len(stuck) == 1 and stuck[0][1:] in by_reader  # the reader did it again


def test_rows_of_a_long_file_are_counted_exactly(tmp_path):
    """Pieces of about 1,000 lines of varied length (cuts fall anywhere): every cell where
    a single read puts it."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "a": rng.normal(0, 10**6, 20_000).round(rng.integers(0, 9)),
            "b": rng.integers(-9, 9, 20_000),
        }
    )
    frame["t"] = np.where(rng.random(20_000) < 0.1, np.nan, rng.random(20_000))
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    got = pieces(path, 1000, 2)
    pd.testing.assert_frame_equal(got, whole(path))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names descriptors by /proc")
def test_a_late_helper_reads_its_own_file_not_a_descriptor_reused_after_the_end(
    tmp_path, monkeypatch
):
    """A helper that starts a piece only after the reader has finished (closed the pieces)
    opens the table itself: it never reads whatever file took a closed descriptor's number;
    and it parses nothing (no parser made for a piece nobody needs)."""
    path, other = tmp_path / "table.csv", tmp_path / "other.csv"
    path.write_text(text_table(2000))
    other.write_text("OTHER FILE\n" * 10)
    read_from = []
    in_order = csvsplit.in_order

    def late_helpers(function, items, *args, **kwargs):
        def run(cut):
            if threading.current_thread() is not threading.main_thread():
                time.sleep(0.3)  # a helper without a core
            return function(cut)

        return in_order(run, items, *args, **kwargs)

    columns = csvsplit._Parsers.columns

    def noted(parsers, descriptor, *cut):
        read_from.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        return columns(parsers, descriptor, *cut)

    monkeypatch.setattr(csvsplit, "in_order", late_helpers)
    monkeypatch.setattr(csvsplit._Parsers, "columns", noted)
    start = csvsplit.data_offset(str(path), 1)
    opened_by = []

    def open_parser(feed):
        opened_by.append(threading.current_thread() is threading.main_thread())
        return pd.read_csv(feed, iterator=True, low_memory=False, **OPTIONS)

    frames = csvsplit.piece_columns(
        str(path), start, 50, 2, open_parser,
        lambda offset: csvtable._serial_from(str(path), offset, 50, OPTIONS),
    )  # fmt: skip
    next(frames)
    frames.close()
    descriptor = os.open(other, os.O_RDONLY)  # takes the lowest free number
    try:
        time.sleep(0.6)  # the late helper runs its piece now
    finally:
        os.close(descriptor)
    assert read_from and set(read_from) == {str(path)}
    assert opened_by == [True]  # the late helper parsed nothing: its piece was not needed
