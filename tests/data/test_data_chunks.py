"""load_csv reads delimited text in chunks (columnstore.py): the result does not depend on
the chunk size, and a bad cell in a later chunk is named by its own row."""

import json
import threading

import numpy as np
import pandas as pd
import pytest
from penguin_table import penguins

from chainrule.data import (
    DataError,
    columnstore,
    csvfile,
    csvsplit,
    csvtable,
    load_csv,
    tablefit,
)


@pytest.fixture(autouse=True, params=[1, 2], ids=["serial", "threads"])
def workers(request, monkeypatch):
    """Every test twice: pandas reading the pieces one after the other and the columns
    fitted one by one, and both on two threads (csvsplit.py, inorder.py), whatever this
    machine's CPUs."""
    monkeypatch.setattr(csvtable, "worker_count", lambda: request.param)
    monkeypatch.setattr(tablefit, "worker_count", lambda: request.param)
    return request.param


FIELDS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def load_in_chunks(monkeypatch, path, target, rows, **options):
    """load_csv with chunks of `rows` rows (None: the whole file as one chunk)."""
    with monkeypatch.context() as patch:
        patch.setattr(csvtable, "CHUNK_ROWS_MIN", 1)
        header = pd.read_csv(path, nrows=0).columns
        patch.setattr(csvfile, "CHUNK_CELLS", None if rows is None else rows * len(header))
        return load_csv(path, target, **options)


def assert_same(a, b):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype
    assert json.dumps(a.preprocessor.to_dict()) == json.dumps(b.preprocessor.to_dict())
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(a.split_rows[part], b.split_rows[part])
    assert a.notes == b.notes


def spreadsheet(frame, path, blank_lines=()):
    """frame written as CSV with NA cells, and empty lines after the given data rows."""
    lines = frame.to_csv(index=False, na_rep="NA").splitlines()
    for row in sorted(blank_lines, reverse=True):
        lines.insert(row + 1, "")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("rows", [1, 7, 50])
def test_every_chunk_size_gives_the_whole_table_result(tmp_path, monkeypatch, rows):
    frame = penguins(300)  # every column kind, NA cells, an ID, a row without a target
    path = spreadsheet(frame, tmp_path / "penguins.csv", blank_lines=(40, 41, 200))
    whole = load_in_chunks(monkeypatch, path, "species", None, val_split=0.1, seed=5)
    chunked = load_in_chunks(monkeypatch, path, "species", rows, val_split=0.1, seed=5)
    assert_same(chunked, whole)
    assert any("'tag' dropped" in note for note in chunked.notes)
    assert {c.kind for c in chunked.preprocessor.columns} == {"numeric", "categorical", "date"}


def test_numeric_regression_table_is_the_same_in_chunks(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(100, 5, (400, 4)).round(4), columns=list("abcd"))
    frame["n"] = rng.integers(-5, 5, 400)
    frame.loc[[3, 250, 399], "b"] = np.nan
    frame.loc[[17, 333], "d"] = np.nan  # the target: rows dropped and counted
    path = spreadsheet(frame, tmp_path / "numbers.csv")
    whole = load_in_chunks(monkeypatch, path, "d", None, test_split=0.25)
    chunked = load_in_chunks(monkeypatch, path, "d", 13, test_split=0.25)
    assert_same(chunked, whole)
    assert chunked.task == "regression" and "b_missing" in chunked.feature_names
    assert chunked.notes == ["2 rows without a target value dropped (first: row 19)"]
    train = frame.iloc[chunked.split_rows["train"] - 2]  # spreadsheet rows: header is 1
    np.testing.assert_allclose(chunked.preprocessor.columns[1].fill, train["b"].median())


def test_a_column_of_words_after_numbers_is_fitted_as_a_whole(tmp_path, monkeypatch):
    """Numbers in the first chunks, words (most cells) later: categorical, as one chunk says;
    a column empty in the first chunks then text: categorical too."""
    n = 120
    frame = pd.DataFrame(
        {
            "code": [str(i % 3) for i in range(20)] + ["red", "blue"] * 50,
            "late": [None] * 60 + ["x", "y"] * 30,
            "v": np.arange(n) / 7,
            "t": np.arange(n) % 2,
        }
    )
    path = spreadsheet(frame, tmp_path / "late.csv")
    whole = load_in_chunks(monkeypatch, path, "t", None, test_split=0.0)
    chunked = load_in_chunks(monkeypatch, path, "t", 10, test_split=0.0)
    assert_same(chunked, whole)
    kinds = {c.name: c.kind for c in chunked.preprocessor.columns}
    assert kinds == {"code": "categorical", "late": "categorical", "v": "numeric"}


def test_big_integer_labels_stay_exact_across_chunks(tmp_path, monkeypatch):
    big = 2**53
    frame = pd.DataFrame({"x": np.arange(60.0), "id": [big, big + 1, big + 2] * 20})
    path = spreadsheet(frame, tmp_path / "big.csv")
    data = load_in_chunks(monkeypatch, path, "id", 7, test_split=0.0)
    assert data.classes == [big, big + 1, big + 2]
    assert np.bincount(data.y_train).tolist() == [20, 20, 20]


def bad_table(tmp_path, cell, column="b", row=150, n=200):
    """An n-row numeric CSV whose data row `row` (spreadsheet numbering) holds `cell` in
    `column`, with two blank lines early on (they count as rows)."""
    lines = ["a,b,d,t"] + [f"{i},{i * 0.5},2020-01-{1 + i % 28:02d},{i % 2}" for i in range(n)]
    lines[5:5] = ["", ""]  # rows 6 and 7 blank
    cells = lines[row - 1].split(",")
    cells["abdt".index(column[0])] = cell
    lines[row - 1] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


LATER_CHUNK_ERRORS = {  # (cell, column, message)
    "stray_word": ("x7", "b", "row 150, column 'b': non-numeric value 'x7'"),
    "infinite": ("-inf", "b", "row 150, column 'b': infinite value '-inf'"),
    "float32_overflow": ("1e39", "a", "row 150, column 'a': value beyond float32's range"),
    "bad_date": ("soon", "d", "row 150, column 'd': 'soon' is not a date in the format"),
    "target_overflow": ("1e39", "t", "row 150, column 't': value beyond float32's range"),
}


@pytest.mark.parametrize("case", sorted(LATER_CHUNK_ERRORS))
@pytest.mark.parametrize("rows", [None, 9])
def test_a_bad_cell_in_a_later_chunk_names_its_row(tmp_path, monkeypatch, case, rows):
    cell, column, message = LATER_CHUNK_ERRORS[case]
    path = bad_table(tmp_path, cell, column)
    task = "regression" if column == "t" else None
    with pytest.raises(DataError) as info:
        load_in_chunks(monkeypatch, path, "t", rows, task=task, test_split=0.0)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


@pytest.mark.parametrize("rows", [None, 9])
def test_missing_target_and_short_row_in_a_later_chunk(tmp_path, monkeypatch, rows):
    path = bad_table(tmp_path, "", "t")
    with pytest.raises(DataError, match=r"row 150, column 't': missing target value"):
        load_in_chunks(monkeypatch, path, "t", rows, impute="none", test_split=0.0)
    data = load_in_chunks(monkeypatch, path, "t", rows, test_split=0.0)
    assert data.notes == ["1 rows without a target value dropped (first: row 150)"]
    short = tmp_path / "short.csv"
    lines = bad_table(tmp_path, "0", "t").read_text().splitlines()
    lines[170] = "1,2,2020-01-01"  # row 171: three cells
    short.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"row 171: has 3 cells but the header has 4 columns"):
        load_in_chunks(monkeypatch, short, "t", rows, test_split=0.0)
    lines[170] = "1,2,2020-01-01,0,7"  # row 171: five cells (pandas' parser stops there)
    short.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"row 171: has 5 cells but the header has 4 columns"):
        load_in_chunks(monkeypatch, short, "t", rows, test_split=0.0)


def test_more_rows_than_the_first_mebibyte_suggests(tmp_path, monkeypatch):
    """Long lines first, short ones after: the row estimate is low and the store grows."""
    monkeypatch.setattr(csvtable, "SAMPLE_BYTES", 4096)
    text = "a,b,t\n" + "".join(f"{'x' * 200},{i},{i % 2}\n" for i in range(40))
    text += "".join(f"y,{i % 5},{i % 2}\n" for i in range(3000))
    path = tmp_path / "uneven.csv"
    path.write_text(text)
    data = load_in_chunks(monkeypatch, path, "t", 64, test_split=0.0)
    whole = load_in_chunks(monkeypatch, path, "t", None, test_split=0.0)
    assert len(data.y_train) == 3040
    assert_same(data, whole)


def test_no_piece_larger_than_two_chunks_is_parsed(tmp_path, monkeypatch, workers):
    """load_csv hands pandas' columns to the store a piece at a time, two chunks' worth of
    rows among the threads (the benchmark measures what that does to the peak memory:
    benchmarks/load_table.py)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "numbers.csv"
    np.savetxt(
        path,
        rng.normal(size=(5000, 10)),
        fmt="%.5f",
        delimiter=",",
        header=",".join(f"c{j}" for j in range(10)),
        comments="",
    )
    sizes = []
    add = columnstore.ColumnStore.add

    def counted(store, cells, rows, checked):
        sizes.append(len(rows))
        assert all(len(column) == len(rows) for column in cells.values())
        add(store, cells, rows, checked)

    monkeypatch.setattr(columnstore.ColumnStore, "add", counted)
    monkeypatch.setattr(csvfile, "CHUNK_CELLS", 3000)  # 300 rows of 10 cells
    data = load_csv(path, "c9", test_split=0.0)
    assert len(data.y_train) == 5000 and sum(sizes) == 5000
    # pieces of two chunks' worth of bytes (from the mean line) in all, one per thread
    lines = 600 // workers
    assert max(sizes) <= 1.04 * lines and abs(len(sizes) - 5000 / lines) <= 1


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1001, 4000])
def test_median_is_numpys_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for values in (np.round(rng.normal(50, 20, n), 3), rng.integers(-9, 9, n)):
        expected = np.median(values)
        got = tablefit._median(values.copy())
        assert np.float64(got).tobytes() == np.float64(expected).tobytes()


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (1001, 1), (4000, 5), (70_001, 2)])
def test_statistics_are_numpys_mean_and_std_bit_for_bit(shape):
    """std is handed the mean numpy computes inside it: the same bits as np.mean, np.std."""
    rng = np.random.default_rng(shape[0])
    values = rng.normal(3, 1e4, shape).round(5)
    values[0, 0] = 3e38 if shape[0] > 1 else values[0, 0]  # float32's edge: sums far off
    mean, spread = tablefit._statistics(values)
    expected = values.std(axis=0)
    expected[expected == 0] = 1.0
    assert mean.tobytes() == values.mean(axis=0).tobytes()
    assert spread.tobytes() == expected.tobytes()


@pytest.mark.parametrize("n", [1, 7, 8, 9, 127, 129, 8193, 100_001, 400_000])
def test_a_columns_sum_over_its_length_is_np_mean_bit_for_bit(n):
    """The fit takes a complete column's mean from the sum that showed it complete: the
    same bits as np.mean of the column (as _statistics computes it)."""
    rng = np.random.default_rng(n)
    for scale in (1e-5, 1.0, 1e30):
        values = rng.standard_normal(n) * scale
        mean = values[:, None].mean(axis=0, keepdims=True)
        assert np.full((1, 1), np.add.reduce(values) / n).tobytes() == mean.tobytes()


def test_a_missing_cell_outside_the_training_rows_takes_the_fill(tmp_path):
    """A numeric column complete in its training rows, with a missing cell in a test row:
    that cell takes the training median (not a NaN feature), and no indicator is added."""
    rows = [f"{i * 0.5},{i % 2}" for i in range(200)]
    path = tmp_path / "gap.csv"
    path.write_text("a,t\n" + "\n".join(rows) + "\n")
    split = load_csv(path, "t", test_split=0.25, seed=1).split_rows
    test_row = int(split["test"][0])
    rows[test_row - 2] = f",{(test_row - 2) % 2}"  # spreadsheet row 2 is rows[0]
    path.write_text("a,t\n" + "\n".join(rows) + "\n")
    data = load_csv(path, "t", test_split=0.25, seed=1)
    assert np.isfinite(data.X_test).all() and data.X_test.shape[1] == 1
    column = data.preprocessor.columns[0]
    position = list(data.split_rows["test"]).index(test_row)
    expected = (column.fill - data.preprocessor.mean[0]) / data.preprocessor.scale[0]
    assert data.X_test[position, 0] == np.float32(expected)


@pytest.mark.parametrize("before", [0, 100])
def test_a_quoted_cell_with_a_line_end_is_read_as_in_one_chunk(tmp_path, monkeypatch, before):
    """A quoted cell holding the delimiter and 40 line ends after `before` plain rows: from
    the piece with the first quote on, one serial reader goes on (cuts fall in the cell)."""
    plain = [f"{i},x{i % 3},{i % 2}" for i in range(before)]
    quoted = '5,"x1, and' + "\nmore" * 40 + '",1'
    lines = ["a,b,t", *plain, quoted, *[f"{i},x{i % 3},{i % 2}" for i in range(90)]]
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines) + "\n")
    chunked = load_in_chunks(monkeypatch, path, "t", 7, test_split=0.0)
    whole = load_in_chunks(monkeypatch, path, "t", None, test_split=0.0)
    assert_same(chunked, whole)
    assert len(chunked.y_train) == before + 91
    assert "x1, and" + "\nmore" * 40 in chunked.preprocessor.columns[1].categories


def test_of_two_bad_columns_the_first_is_named(tmp_path, monkeypatch):
    """The error is the first column's, though the later column's bad cell comes earlier in
    the file (and in an earlier piece)."""
    path = bad_table(tmp_path, "x7", "b", row=20)
    lines = path.read_text().splitlines()
    cells = lines[149].split(",")
    lines[149] = ",".join(["y8", *cells[1:]])  # row 150, column 'a'
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"row 150, column 'a': non-numeric value 'y8'"):
        load_in_chunks(monkeypatch, path, "t", 9, test_split=0.0)


NUMERIC_LATE_ERRORS = {  # (cell, column, message) at row 400 of an all-numeric file
    "stray_word": ("x7", "b", "row 400, column 'b': non-numeric value 'x7'"),
    "infinite": ("inf", "b", "row 400, column 'b': infinite value 'inf'"),
    "float32_overflow": ("-1e39", "a", "row 400, column 'a': value beyond float32's range"),
    "target_overflow": ("1e39", "t", "row 400, column 't': value beyond float32's range"),
}


@pytest.mark.parametrize("case", sorted(NUMERIC_LATE_ERRORS))
def test_a_clean_numeric_file_with_one_bad_cell_late_names_it(tmp_path, monkeypatch, case):
    """Every chunk before row 400 is float64 and passes the quick range check (fmax/fmin);
    the bad cell's chunk is checked cell by cell, which names the cell, its row counted
    across the blank lines."""
    cell, column, message = NUMERIC_LATE_ERRORS[case]
    lines = ["a,b,c,t"] + [f"{i * 0.25},{i * 0.5},{-i},{i * 0.125}" for i in range(500)]
    lines[10:10] = ["", ""]  # rows 11 and 12 blank
    cells = lines[399].split(",")
    cells["abct".index(column)] = cell
    lines[399] = ",".join(cells)
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        load_in_chunks(monkeypatch, path, "t", 13, task="regression", test_split=0.0)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_threads_give_what_one_thread_gives(tmp_path, monkeypatch):
    """Pieces parsed and columns fitted on two threads: the same arrays, preprocessing,
    split and notes as one thread (every column kind, NA cells, blank lines)."""
    path = spreadsheet(penguins(400), tmp_path / "penguins.csv", blank_lines=(30, 31, 250))
    answers = []
    for workers in (1, 2):
        monkeypatch.setattr(csvtable, "worker_count", lambda workers=workers: workers)
        monkeypatch.setattr(tablefit, "worker_count", lambda workers=workers: workers)
        answers.append(load_in_chunks(monkeypatch, path, "species", 11, val_split=0.2, seed=2))
    assert_same(*answers)


def numbers_table(tmp_path, rows: int = 300):
    lines = ["a,b,t"] + [f"{i * 0.5},{i},{i % 2}" for i in range(rows)]
    return lines, tmp_path / "table.csv"


def test_a_bad_utf8_byte_in_a_later_piece_is_named_by_its_place_in_the_file(
    tmp_path, monkeypatch
):
    """pandas counts a decoding error's byte from where its parser began (a piece): the
    message names the byte and line in the file."""
    lines, path = numbers_table(tmp_path)
    text = ("\n".join(lines) + "\n").encode()
    offset = text.index(b"\n100.0,200,0\n") + 1  # the start of line 202 (row 202)
    path.write_bytes(text[:offset] + b"\xe9t\xe9" + text[offset + 3 :])
    with pytest.raises(DataError) as info:
        load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    assert str(info.value) == (
        f"{path}: not UTF-8 text (invalid continuation byte at byte {offset}, line 202)"
    )


def test_an_unclosed_quote_in_a_later_piece_is_named_as_a_serial_read_names_it(
    tmp_path, monkeypatch
):
    """The serial reader that takes over at the first quote counts rows from its start:
    the message is that of a read of the whole file."""
    lines, path = numbers_table(tmp_path)
    lines[250] = '"248.5,249,1'
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    with pytest.raises(pd.errors.ParserError) as whole:
        pd.read_csv(path)
    assert str(info.value) == f"{path}: malformed CSV ({str(whole.value).strip()})"


@pytest.mark.parametrize("rows", [None, 20])
def test_a_cell_more_than_the_header_in_every_row_is_refused(tmp_path, monkeypatch, rows):
    """pandas makes an index of a first cell the header does not name, silently shifting
    every column: refused, naming the first row."""
    lines, path = numbers_table(tmp_path, 100)
    path.write_text("\n".join(lines[:1] + [f"7,{line}" for line in lines[1:]]) + "\n")
    message = r"row 2: has 4 cells but the header has 3 columns"
    with pytest.raises(DataError, match=message):
        load_in_chunks(monkeypatch, path, "t", rows, test_split=0.0)
    with pytest.raises(DataError, match=message):
        csvtable.read_table(path)


def test_text_among_other_objects_is_stripped_by_the_reading_thread(tmp_path, monkeypatch):
    """A chunk with a column of Python objects (booleans with gaps) is tidied on the reading
    thread (stripping them holds the GIL, which a helper without a core would keep); chunks
    of numbers and Arrow text are tidied where they were parsed. Same data either way."""
    rows = [f"{i},{['True', 'False', ''][i % 3]},x{i % 4},{i % 2}" for i in range(400)]
    path = tmp_path / "objects.csv"
    path.write_text("n,flag,text,t\n" + "\n".join(rows) + "\n")
    tidied_on = []
    tidied = csvtable._tidied

    def noted(parsed, *args, **kwargs):
        chunk = tidied(parsed, *args, **kwargs)
        flag = chunk.cells["flag"]
        tidied_on.append((threading.current_thread() is threading.main_thread(), flag.dtype))
        return chunk

    monkeypatch.setattr(csvtable, "_tidied", noted)
    data = load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    whole = load_in_chunks(monkeypatch, path, "t", None, test_split=0.0)
    assert_same(data, whole)
    assert tidied_on and all(main for main, dtype in tidied_on if dtype == object)


def test_numbers_are_checked_once_also_in_a_chunk_with_missing_targets(tmp_path, monkeypatch):
    """A chunk that loses rows without a target keeps its checked numbers (the reading
    thread does not check them again)."""
    lines, path = numbers_table(tmp_path)
    for row in range(5, 300, 7):
        lines[row] = lines[row].rsplit(",", 1)[0] + ","
    path.write_text("\n".join(lines) + "\n")
    checked_again = []
    numbers_of = columnstore.numbers_of
    monkeypatch.setattr(
        columnstore, "numbers_of", lambda *args: checked_again.append(args[1]) or numbers_of(*args)
    )
    data = load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    assert checked_again == [] and len(data.y_train) == 300 - len(range(5, 300, 7))


def test_read_table_checks_no_numbers(tmp_path, monkeypatch):
    """read_table (predict, evaluate) never uses checked float64 copies: none are made."""
    lines, path = numbers_table(tmp_path)
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(csvtable, "numbers_in_range", lambda values: pytest.fail("checked"))
    table = csvtable.read_table(path)
    assert table.frame.shape == (300, 3) and list(table.frame.dtypes) == [
        np.float64,
        np.int64,
        np.int64,
    ]


def test_a_text_column_whose_first_chunks_hold_only_numbers_keeps_its_texts(
    tmp_path, monkeypatch
):
    """pandas reads a chunk in which a text column holds only numbers as numbers ('007' as
    7, '1.0' as 1.0); the column is read again as text, so its categories (and a target's
    classes) are those of a read of the whole file, which predict makes."""
    codes = ["007", "1.0", "2"]
    rows = [
        f"{i * 0.25},{codes[i % 3] if i < 90 else 'abc'[i % 3]},{i % 2 if i < 90 else 'xy'[i % 2]}"
        for i in range(300)
    ]
    path = tmp_path / "codes.csv"
    path.write_text("a,code,t\n" + "\n".join(rows) + "\n")
    data = load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    whole = load_in_chunks(monkeypatch, path, "t", None, test_split=0.0)
    assert_same(data, whole)
    code = next(column for column in data.preprocessor.columns if column.name == "code")
    assert code.categories == ["007", "1.0", "2", "a", "b", "c"]
    assert data.preprocessor.classes == ["0", "1", "x", "y"]
    X, _ = csvfile.read_csv_features(path, data.preprocessor)
    order = np.argsort(data.split_rows["train"])
    np.testing.assert_array_equal(X, data.X_train[order])


def test_a_file_whose_lines_end_in_lone_carriage_returns_is_read(tmp_path, monkeypatch):
    """Classic Mac OS line ends (a lone \\r): the rows pandas reads, numbered as in a file
    with \\n line ends (header row 1), in chunks and whole alike."""
    lines = ["a,b,t"] + [f"{i * 0.5},{i % 7},{i % 2}" for i in range(200)]
    mac, unix = tmp_path / "mac.csv", tmp_path / "unix.csv"
    mac.write_bytes(("\r".join(lines) + "\r").encode())
    unix.write_text("\n".join(lines) + "\n")
    for rows in (None, 20):
        assert_same(
            load_in_chunks(monkeypatch, mac, "t", rows, test_split=0.25),
            load_in_chunks(monkeypatch, unix, "t", rows, test_split=0.25),
        )
    table = csvtable.read_table(mac)
    assert table.frame.shape == (200, 3) and list(table.row_numbers[[0, -1]]) == [2, 201]


def test_booleans_with_gaps_are_not_text_and_blank_chunks_change_nothing(tmp_path, monkeypatch):
    """A column of true/false with gaps (pandas keeps it as objects) is not text: predict
    reads it as pandas does. A chunk in which a text column is all blank does not make the
    column be read again, and the categories do not depend on the chunk size."""
    flags = ["true", "false", ""]
    rows = [f"{i},{flags[i % 3] if i < 100 or i >= 140 else ''},{i % 2}" for i in range(300)]
    path = tmp_path / "flags.csv"
    path.write_text("a,flag,t\n" + "\n".join(rows) + "\n")
    data = load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    assert_same(data, load_in_chunks(monkeypatch, path, "t", None, test_split=0.0))
    flag = data.preprocessor.columns[1]
    assert flag.kind == "categorical" and not flag.as_text
    assert flag.categories == ["False", "True"]
    reread = []
    monkeypatch.setattr(csvtable.Chunks, "text_of", lambda *args: reread.append(args))
    load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    assert reread == []


def test_booleans_then_text_are_read_again_as_text(tmp_path, monkeypatch):
    """Chunks of true/false, then one with another word: the column is text, its
    categories those of a whole read."""
    rows = [f"{i},{['true', 'false'][i % 2] if i < 200 else 'maybe'},{i % 2}" for i in range(300)]
    path = tmp_path / "flags.csv"
    path.write_text("a,flag,t\n" + "\n".join(rows) + "\n")
    data = load_in_chunks(monkeypatch, path, "t", 20, test_split=0.0)
    assert_same(data, load_in_chunks(monkeypatch, path, "t", None, test_split=0.0))
    assert data.preprocessor.columns[1].categories == ["false", "maybe", "true"]


def test_a_lone_carriage_return_file_with_a_blank_line_first_is_refused(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"\rA,B\r1,x\r2,y\r3,z\r")
    with pytest.raises(DataError, match="header"):
        csvtable.read_table(path)


def test_evaluate_reads_text_labels_as_text(tmp_path):
    """Classes from a text target ('007', 'abc') match an evaluate file whose labels all look
    like numbers."""
    labels = ["007", "008", "abc"]
    path = tmp_path / "codes.csv"
    path.write_text("a,t\n" + "".join(f"{i},{labels[i % 3]}\n" for i in range(90)))
    data = load_csv(path, "t", test_split=0.0)
    assert data.preprocessor.classes == labels and data.preprocessor.target_as_text
    new = tmp_path / "new.csv"
    new.write_text("a,t\n1,008\n0,007\n")
    _, y = csvfile.read_csv_features(new, data.preprocessor, target="t")
    assert y.tolist() == [1, 0]


def test_cell_counts_are_not_checked_in_a_file_of_lone_carriage_returns(tmp_path, monkeypatch):
    """Checked in one pass (a file of lone carriage returns has no newline to cut blocks at:
    the check stops), and a \\r\\n cut between two blocks is not lone."""
    from chainrule.data import linescan

    monkeypatch.setattr(linescan, "BLOCK", 7)
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"a,b\r" + b"1,2\r" * 50)
    assert linescan.check_cell_counts(str(mac), ",", 2, 1) is None
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(b"a,b\r\n" + b"1,2\r\n" * 30 + b"1\r\n")
    with pytest.raises(DataError, match="row 32: has 1 cells"):
        linescan.check_cell_counts(str(crlf), ",", 2, 1)
