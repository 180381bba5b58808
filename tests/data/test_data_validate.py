"""Validators shared by fit, predict and the CLI: each bad input named."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataError, check_arrays, check_batch_size, check_epochs, check_labels, check_lr,
    check_n_features,
)


def test_check_arrays_accepts_good_data_and_tensors():
    X, y = check_arrays(cr.tensor(np.ones((4, 2))), [0, 1, 1, 0])
    assert isinstance(X, np.ndarray) and X.shape == (4, 2) and y.tolist() == [0, 1, 1, 0]
    X, y = check_arrays([[1.0, 2.0]])
    assert y is None and X.shape == (1, 2)


@pytest.mark.parametrize("X, y, message", [
    (np.ones((5, 2)), np.ones(4), r"X and y have different lengths: X has 5 rows "
                                  r"\(shape \(5, 2\)\), y has 4 \(shape \(4,\)\)"),
    (np.array([[1.0, np.inf]]), None, r"X has an infinite value at X\[0, 1\] \(inf\)"),
    (np.ones((2, 2)), np.array([0.0, np.nan]), r"y has NaN at y\[1\]"),
    (np.zeros((0, 3)), None, r"X has no examples \(shape \(0, 3\)\)"),
    (np.array([["a", "b"]]), None, "X must hold numbers, got dtype <U1"),
    ([[1, 2], [3]], None, "X is not a rectangular array of numbers"),
    (3.0, None, "X must have one row per example, got a scalar"),
])
def test_check_arrays_errors(X, y, message):
    with pytest.raises(DataError, match=message):
        check_arrays(X, y)


def test_feature_count():
    with pytest.raises(DataError, match=r"X has 3 features but the model expects 4"):
        check_arrays(np.ones((2, 3)), n_features=4)
    assert check_n_features(np.ones((2, 4)), 4).shape == (2, 4)


def test_labels_in_range_for_the_model():
    assert check_labels(np.array([0.0, 2.0]), 3).dtype == np.int64
    with pytest.raises(DataError, match=r"label 10 at y\[2\] is out of range for a model with "
                                        r"10 classes \(labels must be 0..9\)"):
        check_labels([1, 9, 10], 10)
    with pytest.raises(DataError, match=r"label -1 at y\[0\] is out of range"):
        check_labels([-1], 2)
    with pytest.raises(DataError, match=r"must hold integer class labels, got 0.5 at y\[1\]"):
        check_labels([1.0, 0.5], 2)


def test_training_arguments():
    assert check_batch_size(None, 17) == 17 and check_batch_size(4) == 4
    for bad in (0, -1, 1.5, None):
        with pytest.raises(DataError, match=f"batch_size must be a positive integer, got {bad}"):
            check_batch_size(bad)
    assert check_epochs(0) == 0
    with pytest.raises(DataError, match="epochs must be an integer >= 0, got -1"):
        check_epochs(-1)
    assert check_lr(0.1) == 0.1
    for bad in (0, -0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(DataError, match="lr \\(learning rate\\) must be a finite number > 0"):
            check_lr(bad)


def test_data_error_is_a_chainrule_value_error():
    assert issubclass(DataError, cr.ChainruleError) and issubclass(DataError, ValueError)
    error = DataError("bad", file="a.csv", row=3, column="x")
    assert str(error) == "a.csv, row 3, column 'x': bad"
    assert (error.file, error.row, error.column) == ("a.csv", 3, "x")
