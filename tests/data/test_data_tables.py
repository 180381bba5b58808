"""Real tables: categorical, missing, date and ID columns; Parquet and JSON lines; the
preprocessing's JSON round trip; unseen categories at predict time."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from penguin_table import ISLANDS, SPECIES, penguins

from chainrule.data import (
    DataError,
    DataWarning,
    Preprocessor,
    load_csv,
    read_csv_features,
    read_table,
)


def write_csv(tmp_path, frame, name="penguins.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False, na_rep="NA")
    return path


def test_penguins_kinds_missing_values_and_dropped_columns(tmp_path):
    frame = penguins()
    data = load_csv(write_csv(tmp_path, frame), "species", test_split=0.25, seed=3)
    summary = {row["column"]: row for row in data.preprocessor.column_summary()}
    assert list(summary) == ["island", "bill_length_mm", "body_mass_g", "sex", "observed"]
    assert [summary[c]["type"] for c in summary] == [
        "categorical", "numeric", "numeric", "categorical", "date"]
    assert summary["island"]["categories"] == "Biscoe, Dream, Torgersen"
    train_rows = set(data.split_rows["train"].tolist())
    missing_sex = sum(row + 2 in train_rows for row in (5, 6))  # header is row 1
    assert summary["sex"]["missing"] == missing_sex
    assert any("'tag' dropped" in note for note in data.notes)
    assert any("1 rows without a target value dropped (first: row 13)" in n for n in data.notes)
    assert data.classes == list(SPECIES) and len(data.y_train) + len(data.y_test) == 119
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_test).all()
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-5)


def test_encoding_by_hand(tmp_path):
    """Every feature of one test row, computed from the stored JSON and the raw cells."""
    frame = penguins()
    data = load_csv(write_csv(tmp_path, frame), "species", test_split=0.25, seed=3)
    spec = json.loads(json.dumps(data.preprocessor.to_dict()))
    columns = {c["name"]: c for c in spec["columns"]}
    bill = columns["bill_length_mm"]
    train = frame.iloc[data.split_rows["train"] - 2]
    assert bill["fill"] == pytest.approx(np.nanmedian(train["bill_length_mm"]))
    row = frame.iloc[3]  # bill_length_mm missing
    raw = {"bill_length_mm": bill["fill"], "bill_length_mm_missing": 1.0,
           "body_mass_g": row["body_mass_g"]}
    raw.update({f"island={c}": float(row["island"] == c) for c in ISLANDS})
    raw.update({f"sex={c}": float(row["sex"] == c) for c in ("female", "male")})
    day = pd.Timestamp(row["observed"])
    turns = {"month": (day.month - 1) / 12, "weekday": day.weekday() / 7,
             "yearday": (day.day_of_year - 1) / 365.25}
    raw["observed_year"] = day.year
    for part, turn in turns.items():
        raw[f"observed_{part}_sin"] = np.sin(2 * np.pi * turn)
        raw[f"observed_{part}_cos"] = np.cos(2 * np.pi * turn)
    new = write_csv(tmp_path, frame.iloc[[3]], "one.csv")
    X, _ = read_csv_features(new, Preprocessor.from_dict(spec))
    names = spec["feature_names"]
    for name, value in raw.items():
        i = names.index(name)
        expected = (value - spec["mean"][i]) / spec["scale"][i]
        assert X[0, i] == pytest.approx(expected, rel=1e-5, abs=1e-6), name
    assert "sex=<missing>" in names and "observed_missing" in names


def test_predict_reproduces_training_features_from_json(tmp_path):
    frame = penguins()
    path = write_csv(tmp_path, frame)
    data = load_csv(path, "species", test_split=0.25, seed=3)
    again = Preprocessor.from_dict(json.loads(json.dumps(data.preprocessor.to_dict())))
    test_frame = frame.iloc[data.split_rows["test"] - 2]
    X, y = read_csv_features(write_csv(tmp_path, test_frame, "test.csv"), again, "species")
    np.testing.assert_array_equal(X, data.X_test)
    np.testing.assert_array_equal(y, data.y_test)


def test_unseen_category_is_all_zeros_with_a_warning(tmp_path):
    frame = penguins()
    data = load_csv(write_csv(tmp_path, frame), "species", test_split=0.0)
    new = frame.iloc[:2].copy()
    new["island"] = ["Anvers", "Dream"]
    with pytest.warns(DataWarning, match=r"row 2, column 'island': 1 cells hold categories "
                                         r"never seen in training \('Anvers'\)"):
        X, _ = read_csv_features(write_csv(tmp_path, new, "new.csv"), data.preprocessor)
    names = data.feature_names
    island = [names.index(f"island={c}") for c in ISLANDS]
    zero = -data.preprocessor.mean[island] / data.preprocessor.scale[island]
    np.testing.assert_allclose(X[0, island], zero, rtol=1e-6)
    assert X[1, names.index("island=Dream")] > 0


def test_rare_categories_are_pooled_and_unseen_ones_join_them(tmp_path):
    rng = np.random.default_rng(1)
    colours = [f"c{i}" for i in range(8)]
    cells = ["c0"] * 30 + ["c1"] * 20 + ["c2"] * 10 + colours[3:] * 2
    frame = pd.DataFrame({"colour": cells, "x": rng.normal(size=len(cells)),
                          "t": rng.integers(0, 2, len(cells))})
    data = load_csv(write_csv(tmp_path, frame), "t", test_split=0.0, max_categories=4)
    column = data.preprocessor.columns[0]
    assert column.categories == ["c0", "c1", "c2"] and column.other
    other = data.feature_names.index("colour=<other>")
    new = pd.DataFrame({"colour": ["c7", "never", "c0"], "x": [0.0] * 3})
    X, _ = read_csv_features(write_csv(tmp_path, new, "new.csv"), data.preprocessor)
    top = (1 - data.preprocessor.mean[other]) / data.preprocessor.scale[other]
    np.testing.assert_allclose(X[:, other], [top, top, X[2, other]], rtol=1e-6)
    assert X[2, other] < 0


def test_integer_categories_by_option_and_exact_big_labels(tmp_path):
    big = 2**53
    frame = pd.DataFrame({"rating": [1, 2, 3] * 10, "x": np.arange(30.0),
                          "id": [big, big + 1, big + 2] * 10})
    path = write_csv(tmp_path, frame)
    plain = load_csv(path, "id", test_split=0.0)
    assert plain.preprocessor.columns[0].kind == "numeric"
    assert plain.classes == [big, big + 1, big + 2]  # three classes, not merged by float64
    assert np.bincount(plain.y_train).tolist() == [10, 10, 10]
    coded = load_csv(path, "id", test_split=0.0, int_categories=5)
    assert coded.preprocessor.columns[0].kind == "categorical"
    assert coded.feature_names[:3] == ["rating=1", "rating=2", "rating=3"]
    restored = Preprocessor.from_dict(json.loads(json.dumps(plain.preprocessor.to_dict())))
    assert restored.class_index(str(big + 1)) == 1 and restored.class_index(big + 2) == 2


@pytest.mark.parametrize("suffix", ["parquet", "jsonl", "tsv", "semicolon.csv"])
def test_other_formats_give_the_same_data(tmp_path, suffix):
    frame = penguins(60).drop(columns=["tag"])
    reference = load_csv(write_csv(tmp_path, frame), "species", test_split=0.2)
    path = tmp_path / f"penguins.{suffix}"
    if suffix == "parquet":
        frame.to_parquet(path)
    elif suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == "tsv" else ";")
    data = load_csv(path, "species", test_split=0.2)
    assert data.feature_names == reference.feature_names
    np.testing.assert_allclose(data.X_train, reference.X_train, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(data.y_test, reference.y_test)


def test_ignore_and_header_checks(tmp_path):
    frame = penguins(40)
    path = write_csv(tmp_path, frame)
    data = load_csv(path, "species", ignore=["observed", "island"], test_split=0.0)
    assert [c.name for c in data.preprocessor.columns] == ["bill_length_mm", "body_mass_g", "sex"]
    with pytest.raises(DataError, match="unknown column to ignore 'wings'"):
        load_csv(path, "species", ignore=["wings"])
    with pytest.raises(DataError, match="impute must be one of"):
        load_csv(path, "species", impute="mean")
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n")
    with pytest.raises(DataError, match="the file has a header but no data rows"):
        read_table(wide)


def test_parquet_that_is_not_parquet_is_named(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="broken.parquet: cannot read the file"):
        load_csv(path, "b")


def test_dates_in_another_format_keep_it_at_predict_time(tmp_path):
    days = pd.date_range("2012-01-01", periods=40, freq="19D")
    frame = pd.DataFrame({"day": days.strftime("%d.%m.%Y"), "t": np.arange(40) % 2})
    data = load_csv(write_csv(tmp_path, frame), "t", test_split=0.0)
    column = data.preprocessor.columns[0]
    assert (column.kind, column.format) == ("date", "%d.%m.%Y")
    years = data.X_train[:, data.feature_names.index("day_year")]
    assert len(np.unique(years)) == 3  # 2012 to 2014, standardized
    new = pd.DataFrame({"day": ["03.02.2013", "2013-02-03"]})
    with pytest.raises(DataError, match=r"row 3, column 'day': '2013-02-03' is not a date"):
        read_csv_features(write_csv(tmp_path, new, "new.csv"), data.preprocessor)


def test_parquet_types_booleans_datetimes_and_categories(tmp_path):
    n = 30
    frame = pd.DataFrame({
        "flag": [True, False, True] * 10,
        "when": pd.date_range("2021-03-01", periods=n, freq="D"),
        "size": pd.Categorical(["S", "M", "L"] * 10),
        "x": np.linspace(0, 1, n),
        "t": ["a", "b"] * 15,
    })
    frame.loc[4, "x"] = np.nan
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path)
    data = load_csv(path, "t", test_split=0.0)
    kinds = {c.name: c.kind for c in data.preprocessor.columns}
    assert kinds == {"flag": "categorical", "when": "date", "size": "categorical", "x": "numeric"}
    assert data.preprocessor.columns[0].categories == ["False", "True"]
    assert "x_missing" in data.feature_names and np.isfinite(data.X_train).all()
    assert data.split_rows["train"].min() == 1  # records are numbered from 1
    X, _ = read_csv_features(path, data.preprocessor)
    order = np.argsort(data.split_rows["train"])
    np.testing.assert_array_equal(X, data.X_train[order])


@pytest.mark.parametrize("dtype", ["Int64", "Float64"])
def test_parquet_target_of_a_nullable_dtype(tmp_path, dtype):
    """A target in one of pandas' nullable dtypes (as Parquet keeps them), with a missing
    value: that row is dropped, the others train and predict like plain numbers."""
    n = 40
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "t": pd.array([1, 2] * 20, dtype=dtype)})
    frame.loc[7, "t"] = pd.NA
    path = tmp_path / "nullable.parquet"
    frame.to_parquet(path)
    data = load_csv(path, "t", task="regression", test_split=0.0)
    assert data.notes == ["1 rows without a target value dropped (first: row 8)"]
    plain = frame.drop(index=7).astype({"t": float})
    np.testing.assert_array_equal(np.sort(data.y_train), np.sort(plain["t"].to_numpy()))
    X, _ = read_csv_features(path, data.preprocessor)
    assert X.shape == (n, 1) and np.isfinite(X).all()


def test_quoted_cells_with_delimiters_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "quoted.csv"
    rows = "".join(f'"{name}, {i}",{"Oslo" if i % 2 else "Bergen"},{i % 2}\n'
                   for i, name in enumerate(["Smith", "Doe"] * 12))
    path.write_bytes(b"\xef\xbb\xbfname,city,t\n" + rows.encode())
    data = load_csv(path, "t", test_split=0.0)
    assert [c.name for c in data.preprocessor.columns] == ["city"]  # name: an ID, dropped
    assert data.feature_names == ["city=Bergen", "city=Oslo"]
    assert any("'name' dropped" in note for note in data.notes)


def test_predict_reads_a_text_column_as_text_where_its_cells_look_like_numbers(tmp_path):
    """A categorical column of text ('007', '7', words) keeps its texts at predict time even
    when the predict file's cells all look like numbers (pandas alone would read 7 for both
    '007' and '7'); integer and boolean columns are still read as pandas reads them."""
    codes = ["007", "7", "alpha", "beta", "gamma"]
    rows = [f"{codes[i % 5]},{i % 2 == 0},{i * 0.1:.1f},{i % 3 == 0:d}" for i in range(90)]
    train = tmp_path / "train.csv"
    train.write_text("code,flag,x,t\n" + "\n".join(rows) + "\n")
    data = load_csv(train, "t", test_split=0.0)
    code, flag = data.preprocessor.columns[:2]
    assert code.as_text and code.categories == ["007", "7", "alpha", "beta", "gamma"]
    assert flag.kind == "categorical" and not flag.as_text
    new = tmp_path / "new.csv"
    new.write_text("code,flag,x\n007,True,0.0\n7,False,0.1\n")
    X, _ = read_csv_features(new, data.preprocessor)
    first, second = np.argsort(data.split_rows["train"])[:2]
    np.testing.assert_array_equal(X, data.X_train[[first, second]])
    assert json.loads(json.dumps(data.preprocessor.to_dict()))["columns"][0]["as_text"] is True


def test_a_json_lines_line_that_is_not_an_object_is_named(tmp_path):
    good = [json.dumps({"x": i, "t": i % 2}) for i in range(60)]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(good[:50] + ["[1, 2, 3]"] + good[50:]) + "\n")
    with pytest.raises(DataError, match=r"records.jsonl, row 51: not a JSON object but list"):
        load_csv(path, "t")
    path.write_text("\n".join(good[:40] + ['{"x": 1, "t": 0'] + good[40:]) + "\n")
    with pytest.raises(DataError, match=r"records.jsonl, row 41: invalid JSON \(Expecting"):
        load_csv(path, "t")


def test_predict_warns_of_blank_rows_that_get_no_prediction(tmp_path):
    """Blank rows (no cell) among a predict file's rows are skipped, as training skips them;
    the predictions then no longer line up with the file's rows, which a warning says."""
    train = tmp_path / "train.csv"
    train.write_text("a,b,t\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(60)))
    data = load_csv(train, "t", test_split=0.0)
    new = tmp_path / "new.csv"
    new.write_text("a,b\n1,2\n,\n3,4\n\n5,6\n")
    with pytest.warns(DataWarning, match=r"2 rows among the data have no cell .*first: rows 3, 5"):
        X, _ = read_csv_features(new, data.preprocessor)
    assert X.shape == (3, 2)
    new.write_text("a,b\n1,2\n3,4\n\n")  # a blank line at the end shifts nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_csv_features(new, data.preprocessor)[0].shape == (2, 2)
