"""Preprocessor: fitted statistics, feature-count checks, labels, JSON round trip."""

import json

import numpy as np
import pytest

from chainrule.data import DataError, Preprocessor


def fitted(rng, classes=("cat", "dog")):
    X = rng.normal([3.0, -2.0, 10.0], [2.0, 0.5, 4.0], size=(200, 3))
    X[:, 1] = 7.0  # a constant feature
    return X, Preprocessor.fit(X, ["a", "b", "c"], "classification", "kind", list(classes))


def test_fit_and_transform(rng):
    X, prep = fitted(rng)
    np.testing.assert_allclose(prep.mean, X.mean(axis=0), rtol=1e-12)
    assert prep.scale[1] == 1.0  # constant column: centred, not divided by zero
    Z = prep.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(Z[:, [0, 2]].std(axis=0), 1, rtol=1e-5)
    assert np.all(Z[:, 1] == 0)


def test_wrong_number_of_features_at_predict_time(rng):
    _, prep = fitted(rng)
    with pytest.raises(DataError, match=r"X has 2 features but the model expects 3 "
                                        r"\(shape \(5, 2\)\)"):
        prep.transform(np.zeros((5, 2)))
    with pytest.raises(DataError, match=r"X must be 2-D \(examples, features\), got shape \(3,\)"):
        prep.transform(np.zeros(3))
    with pytest.raises(DataError, match=r"X has NaN at X\[1, 2\]"):
        prep.transform(np.array([[0, 0, 0], [0, 0, np.nan]]))


def test_labels_encode_decode(rng):
    _, prep = fitted(rng)
    assert prep.encode_labels(["dog", "cat", "dog"]).tolist() == [1, 0, 1]
    assert prep.decode_labels(np.array([1, 0])).tolist() == ["dog", "cat"]
    with pytest.raises(DataError, match=r"label 'cow' at y\[1\] is not one of the classes"):
        prep.encode_labels(["dog", "cow"])
    with pytest.raises(DataError, match="class index out of range 0..1"):
        prep.decode_labels([2])
    numeric = Preprocessor([], [], [], "classification", "t", [0, 1, 2])
    assert numeric.encode_labels(np.array([2.0, 0.0])).tolist() == [2, 0]
    assert numeric.encode_labels(["1", "2.0"]).tolist() == [1, 2]


def test_json_round_trip(rng):
    X, prep = fitted(rng)
    text = json.dumps(prep.to_dict())
    again = Preprocessor.from_dict(json.loads(text))
    assert again.feature_names == prep.feature_names and again.classes == prep.classes
    assert (again.task, again.target) == ("classification", "kind")
    np.testing.assert_array_equal(again.mean, prep.mean)  # bit for bit through JSON
    np.testing.assert_array_equal(again.scale, prep.scale)
    np.testing.assert_array_equal(again.transform(X), prep.transform(X))


def test_from_dict_rejects_bad_descriptions(rng):
    _, prep = fitted(rng)
    data = prep.to_dict()
    with pytest.raises(DataError, match="not a chainrule preprocessor"):
        Preprocessor.from_dict({"mean": []})
    with pytest.raises(DataError, match=r"missing \['scale'\]"):
        Preprocessor.from_dict({k: v for k, v in data.items() if k != "scale"})
    with pytest.raises(DataError, match=r"3 feature names but mean has shape \(2,\)"):
        Preprocessor.from_dict({**data, "mean": [0.0, 1.0]})
