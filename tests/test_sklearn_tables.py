"""The scikit-learn estimators on a DataFrame of mixed columns: encoded as `chainrule train`
encodes a table, in a Pipeline too."""

import numpy as np
import pytest
from penguin_table import penguins
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from chainrule.data import DataWarning
from chainrule.sklearn import MLPClassifier, MLPRegressor


def frame_and_target(n=150):
    frame = penguins(n).dropna(subset=["species"]).drop(columns=["tag"])
    return frame.drop(columns=["species"]), frame["species"].to_numpy()


def test_mixed_frame_trains_like_its_encoded_array():
    X, y = frame_and_target()
    mixed = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01, random_state=0).fit(X, y)
    kinds = [column.kind for column in mixed.preprocessor_.columns]
    assert kinds == ["categorical", "numeric", "numeric", "categorical", "date"]
    encoded = mixed.preprocessor_.transform_table(X, _where(X))
    assert mixed.n_features_in_ == encoded.shape[1] == len(mixed.preprocessor_.feature_names)
    plain = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01, random_state=0).fit(encoded, y)
    np.testing.assert_array_equal(mixed.predict(X), plain.predict(encoded))
    np.testing.assert_allclose(mixed.predict_proba(X), plain.predict_proba(encoded))
    assert set(mixed.predict(X)) <= set(mixed.classes_) and mixed.score(X, y) > 0.8


def test_mixed_frame_in_a_pipeline_and_cross_validation():
    X, y = frame_and_target()
    model = make_pipeline(MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01, random_state=0))
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.7


def test_unseen_category_and_regression_target():
    X, _ = frame_and_target()
    target = X["body_mass_g"].to_numpy()
    features = X.drop(columns=["body_mass_g"])
    model = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    model.fit(features, target)
    new = features.iloc[:3].copy()
    new["island"] = ["Anvers", "Dream", "Biscoe"]
    with pytest.warns(DataWarning, match=r"column 'island': 1 cells hold categories never"):
        assert model.predict(new).shape == (3,)
    model.fit(features[["bill_length_mm"]].fillna(0.0), target)  # numbers only: no encoding
    assert not hasattr(model, "preprocessor_")


def _where(X):
    from chainrule.data.columns import Where

    return Where(None, X.index.to_numpy())


def test_an_estimator_fitted_on_a_frame_names_the_columns_an_array_lacks():
    X, y = frame_and_target()
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on a DataFrame; X must be a DataFrame with its "
                                         r"columns \['island', .*'observed'\], not ndarray"):
        model.predict(X.to_numpy())
    encoded = model.preprocessor_.transform_table(X)  # the encoded features go in as they are
    np.testing.assert_array_equal(model.predict(encoded), model.predict(X))
