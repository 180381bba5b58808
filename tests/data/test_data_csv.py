"""load_csv / read_csv_features: splits, standardization, and every bad input named."""

import numpy as np
import pytest

from chainrule.data import DataError, load_csv, read_csv_features


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table(n=40, seed=0):
    """area,rooms,kind,price rows: a regression target and a string class column."""
    rng = np.random.default_rng(seed)
    lines = ["area,rooms,kind,price"]
    for i in range(n):
        area, rooms = rng.uniform(50, 200), int(rng.integers(1, 6))
        lines.append(f"{area:.3f},{rooms},{'flat' if i % 2 else 'house'},{3 * area + 7:.3f}")
    return "\n".join(lines) + "\n"


def test_regression_split_and_standardization(tmp_path):
    path = write(tmp_path, table(50))
    data = load_csv(path, target="price", features=["area", "rooms"], val_split=0.2,
                    test_split=0.2, seed=4)
    assert data.task == "regression" and data.classes is None
    assert (len(data.X_train), len(data.X_val), len(data.X_test)) == (30, 10, 10)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.float32
    assert data.feature_names == ["area", "rooms"]
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, atol=1e-6)
    rows = np.concatenate(list(data.split_rows.values()))
    assert sorted(rows.tolist()) == list(range(2, 52))  # every data row once, header is row 1


def test_statistics_come_from_training_rows_only(tmp_path):
    path = write(tmp_path, table(50))
    data = load_csv(path, target="price", features=["area", "rooms"], val_split=0.2, seed=4)
    raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1))
    train_raw = raw[data.split_rows["train"] - 2]
    np.testing.assert_allclose(data.preprocessor.mean, train_raw.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(data.preprocessor.scale, train_raw.std(axis=0), rtol=1e-12)
    assert not np.allclose(data.preprocessor.mean, raw.mean(axis=0), rtol=1e-6)
    val_raw = raw[data.split_rows["val"] - 2]
    np.testing.assert_allclose(data.X_val, (val_raw - train_raw.mean(0)) / train_raw.std(0),
                               rtol=1e-5, atol=1e-6)


def test_string_classes_are_encoded_sorted_and_stratified(tmp_path):
    lines = ["x,y,animal"] + [f"{i},{i % 7},{('dog', 'cat', 'emu')[i % 3]}" for i in range(60)]
    data = load_csv(write(tmp_path, "\n".join(lines)), target="animal", seed=1)
    assert data.task == "classification" and data.classes == ["cat", "dog", "emu"]
    assert data.y_train.dtype == np.int64
    assert np.bincount(data.y_test).tolist() == [4, 4, 4]
    assert data.preprocessor.decode_labels([0, 2]).tolist() == ["cat", "emu"]


@pytest.mark.parametrize("values, task", [
    (["0", "1"], "classification"), (["1", "2", "3", "4", "5"], "classification"),
    (["a", "b"], "classification"), (["0.5", "1.5"], "regression"),
    ([str(v) for v in range(25)], "regression"),
])
def test_task_inference(tmp_path, values, task):
    lines = ["f,t"] + [f"{i},{values[i % len(values)]}" for i in range(50)]
    data = load_csv(write(tmp_path, "\n".join(lines)), target="t")
    assert data.task == task
    if task == "classification" and values[0].isdigit():
        assert data.classes == sorted(int(v) for v in values)  # numeric labels stay numbers


def test_same_seed_same_split(tmp_path):
    path = write(tmp_path, table(30))
    a, b = (load_csv(path, "kind", seed=9) for _ in range(2))
    np.testing.assert_array_equal(a.split_rows["test"], b.split_rows["test"])
    c = load_csv(path, "kind", seed=10)
    assert a.split_rows["test"].tolist() != c.split_rows["test"].tolist()


# (file text, target, message the error must contain)
BAD_FILES = {
    "non_numeric": ("a,b,t\n1,2,0\n3,abc,1\n", "t", "row 3, column 'b': non-numeric value 'abc'"),
    "inf": ("a,b,t\n1,2,0\n3,-inf,1\n", "t", "row 3, column 'b': infinite value '-inf'"),
    "empty": ("", "t", "the file is empty"),
    "blank_lines_only": ("\n\n  \n", "t", "the file is empty"),
    "header_only": ("a,b,t\n", "t", "the file has a header but no data rows"),
    "ragged_long": ("a,b,t\n1,2,0\n3,4,1,9\n", "t", "row 3: has 4 cells but the header has 3"),
    "ragged_short": ("a,b,t\n1,2,0\n\n3,4\n", "t", "row 4: has 2 cells but the header has 3"),
    "unknown_target": ("a,b,t\n1,2,0\n", "price",
                       "unknown target column 'price'; the columns are ['a', 'b', 't']"),
    "single_class": ("a,t\n1,yes\n2,yes\n3,yes\n", "t",
                     "column 't': the target has a single class 'yes' in all 3 rows"),
    "targets_all_missing": ("a,t\n1,\n2,NA\n", "t", "row 2, column 't': missing target value"),
    "stray_word": ("a,b,t\n1,2,0\n3,4,1\n5,x7,0\n", "t",
                   "row 4, column 'b': non-numeric value 'x7'"),
    "float32_overflow": ("a,b,t\n1,2,0.5\n3,4,1e39\n", "t",
                         "row 3, column 't': value beyond float32's range '1e+39'"),
    "feature_overflow": ("a,b,t\n1,1e308,0\n3,-1e308,1\n", "t",
                         "row 2, column 'b': value beyond float32's range '1e+308'"),
    "bad_date": ("d,t\n2020-01-02,0\n2020-02-03,1\nsoon,1\n", "t",
                 "row 4, column 'd': 'soon' is not a date in the format"),
    "regression_target": ("a,t\n1,0.5\n2,inf\n3,1.5\n", "t",
                          "row 3, column 't': infinite value 'inf'"),
    "duplicate_header": ("a,a,t\n1,2,0\n", "t", "row 1: the header names column 'a' twice"),
    "empty_header_cell": ("a,,t\n1,2,0\n", "t", "row 1: header cell 2 is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_names_file_row_and_column(tmp_path, case):
    text, target, message = BAD_FILES[case]
    path = write(tmp_path, text, f"{case}.csv")
    with pytest.raises(DataError) as info:
        load_csv(path, target=target, test_split=0.0)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


# Missing cells are refused only with impute="none": (file text, message).
MISSING_REFUSED = {
    "empty_cell": ("a,b,t\n1,2,0\n3,,1\n", "row 3, column 'b': missing value"),
    "na": ("a,b,t\n1,NA,0\n3,4,1\n", "row 2, column 'b': missing value"),
    "nan": ("a,b,t\n1,2,0\n3,4,1\nnan,5,0\n", "row 4, column 'a': missing value"),
    "category": ("a,c,t\n1,x,0\n3,?,1\n4,y,1\n", "row 3, column 'c': missing value"),
    "target": ("a,t\n1,0\n2,\n3,1\n", "row 3, column 't': missing target value"),
}


@pytest.mark.parametrize("case", sorted(MISSING_REFUSED))
def test_impute_none_names_the_first_missing_cell(tmp_path, case):
    text, message = MISSING_REFUSED[case]
    path = write(tmp_path, text, f"{case}.csv")
    with pytest.raises(DataError) as info:
        load_csv(path, target="t", test_split=0.0, impute="none")
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(DataError, match="nope.csv: cannot read the file"):
        load_csv(tmp_path / "nope.csv", "t")
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,t\n\xe9t\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.csv: not UTF-8 text"):
        load_csv(path, "t")


def test_bad_arguments(tmp_path):
    path = write(tmp_path, table(10))
    with pytest.raises(DataError, match="task must be one of"):
        load_csv(path, "price", task="clustering")
    with pytest.raises(DataError, match="leave no rows for training"):
        load_csv(path, "price", features=["area"], val_split=0.5, test_split=0.5)
    with pytest.raises(DataError, match=r"test_split must be a fraction in \[0, 1\), got -0.1"):
        load_csv(path, "price", features=["area"], test_split=-0.1)
    with pytest.raises(DataError, match="unknown feature column 'size'"):
        load_csv(path, "price", features=["size"])


def test_predict_file_is_transformed_like_training(tmp_path):
    data = load_csv(write(tmp_path, table(40)), "kind", features=["area", "rooms"])
    new = "rooms,id,area,kind\n3,a17,120.5,flat\n1,a18,60,house\n"  # other order, extra column
    X, y = read_csv_features(write(tmp_path, new, "new.csv"), data.preprocessor, "kind")
    expected = (np.array([[120.5, 3], [60, 1]]) - data.preprocessor.mean) / data.preprocessor.scale
    np.testing.assert_allclose(X, expected, rtol=1e-6)
    assert y.tolist() == [data.classes.index("flat"), data.classes.index("house")]
    X_only, none = read_csv_features(tmp_path / "new.csv", data.preprocessor)
    assert none is None and X_only.shape == (2, 2)


def test_predict_file_errors(tmp_path):
    data = load_csv(write(tmp_path, table(40)), "kind", features=["area", "rooms"])
    cases = {
        "rooms,kind\n3,flat\n": "new.csv, row 1: missing feature columns ['area']: the model "
                                "was trained on 2 columns ['area', 'rooms']",
        "area,rooms,kind\n1,2,flat\n3,4,cow\n": "row 3, column 'kind': label 'cow' is not one "
                                                "of the model's classes ['flat', 'house']",
        "area,rooms,kind\n1,2,flat\n3,two,flat\n": "row 3, column 'rooms': non-numeric value "
                                                     "'two'",
    }
    for text, message in cases.items():
        with pytest.raises(DataError) as info:
            read_csv_features(write(tmp_path, text, "new.csv"), data.preprocessor, "kind")
        assert message in str(info.value)


def test_spaces_around_cells_and_blank_rows_are_ignored(tmp_path):
    text = " a , b ,label\n 1.5, 2 , cat\n\n,,\n3,4,dog \n5, 6,cat\n7,8,dog\n"
    data = load_csv(write(tmp_path, text), "label", test_split=0.0)
    assert data.feature_names == ["a", "b"] and data.classes == ["cat", "dog"]
    assert sorted(data.split_rows["train"].tolist()) == [2, 5, 6, 7]  # rows 3-4 blank
    np.testing.assert_allclose(data.preprocessor.mean, [4.125, 5.0])
