"""cells.py: a chunk's columns as NumPy arrays of numbers or pandas Series of the rest."""

import numpy as np
import pandas as pd
import pytest

from chainrule.data.cells import as_column, as_series, columns_of, is_numbers, kept, missing


def test_numbers_stay_arrays_and_the_rest_become_series():
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, 3.0],
            "i": [1, 2, 3],
            "b": [True, False, True],
            "s": pd.array(["x", None, "z"], dtype="str"),
            "o": np.array([1, "a", None], dtype=object),
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    columns = columns_of(frame)
    assert list(columns) == list(frame.columns)
    for name in "fi":
        assert is_numbers(columns[name]) and np.shares_memory(columns[name], frame[name].values)
    for name in "bson":  # booleans, text, objects, pandas' nullable integers
        assert isinstance(columns[name], pd.Series) and not is_numbers(columns[name])
    assert as_column(columns["f"]) is columns["f"]
    assert isinstance(as_column(np.array(["u", "v"])), pd.Series)


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.array([1.0, np.nan, 2.0]), [False, True, False]),
        (np.array([1, 2, 3]), [False, False, False]),
        (np.array([True, False, True]), [False, False, False]),
        (pd.array(["x", None, "z"], dtype="str"), [False, True, False]),
        (pd.Series(np.array([None, "a", np.nan], dtype=object)), [True, False, True]),
        (pd.array([1, None, 3], dtype="Int64"), [False, True, False]),
    ],
)
def test_missing_cells_of_every_kind(values, expected):
    found = missing(values)
    assert found.dtype == bool and found.tolist() == expected
    found[:] = True  # a new array: the column is untouched
    assert missing(values).tolist() == expected


def test_kept_rows_keep_their_order_and_a_series_is_numbered_again():
    keep = np.array([True, False, True, True])
    np.testing.assert_array_equal(kept(np.arange(4.0), keep), [0.0, 2.0, 3.0])
    series = kept(pd.Series(["a", "b", "c", "d"], index=[7, 8, 9, 10]), keep)
    assert series.tolist() == ["a", "c", "d"] and list(series.index) == [0, 1, 2]
    text = kept(pd.array(["a", "b", "c", "d"], dtype="str"), keep)
    assert isinstance(text, pd.Series) and text.tolist() == ["a", "c", "d"]
    assert as_series(series) is series
