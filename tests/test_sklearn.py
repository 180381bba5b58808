"""chainrule.sklearn: scikit-learn's own estimator checks, and the estimators in sklearn tools.

scikit-learn skips check_array_api_input unless SCIPY_ARRAY_API is set before scipy is first
imported, so that check runs here once more in a subprocess with it set. The pandas checks run
because the test extra installs pandas. No check is marked as an expected failure.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

import chainrule as cr
from chainrule.sklearn import MLPClassifier, MLPRegressor

# Small networks and few epochs keep the ~100 checks quick; they still pass the accuracy
# (> 0.83) and R² (> 0.5) thresholds of check_classifiers_train / check_regressors_train.
FAST = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=50)


def _check_name(check):
    return getattr(check, "func", check).__name__


# check_array_api_input is run in a subprocess below (it needs SCIPY_ARRAY_API at start-up).
ESTIMATOR_CHECKS = [
    (estimator, check)
    for prototype in (MLPClassifier(**FAST), MLPRegressor(**FAST))
    for estimator, check in estimator_checks_generator(prototype)
    if _check_name(check) != "check_array_api_input"
]


@pytest.mark.parametrize("estimator, check", ESTIMATOR_CHECKS,
                         ids=[f"{type(e).__name__}-{_check_name(c)}-{i}"
                              for i, (e, c) in enumerate(ESTIMATOR_CHECKS)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


ARRAY_API_CHECK = """
from sklearn.utils.estimator_checks import check_array_api_input
from chainrule.sklearn import MLPClassifier, MLPRegressor
for estimator in (MLPClassifier(hidden_layer_sizes=(16,), max_iter=20),
                  MLPRegressor(hidden_layer_sizes=(16,), max_iter=20)):
    check_array_api_input(type(estimator).__name__, estimator, array_namespace="numpy",
                          expect_only_array_outputs=False)
print("checked")
"""


def test_array_api_dispatch_with_numpy_inputs_changes_nothing():
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    done = subprocess.run([sys.executable, "-c", ARRAY_API_CHECK], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "checked"


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=240, centers=3, cluster_std=1.0, random_state=0)
    return StandardScaler().fit_transform(X), np.array(["red", "green", "blue"])[y]


def test_classifier_learns_string_labels(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, random_state=0).fit(X, y)
    assert set(clf.classes_) == {"red", "green", "blue"}
    assert clf.score(X, y) > 0.93
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.n_iter_ == len(clf.loss_curve_) <= FAST["max_iter"]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.validation_loss_curve_ is None


def test_float32_stays_float32(blobs):
    X, y = blobs
    X32 = X.astype(np.float32)
    clf = MLPClassifier(**FAST, random_state=0).fit(X32, y)
    assert clf.predict_proba(X32).dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in clf.model_.parameters())
    reg = MLPRegressor(**FAST, random_state=0).fit(X32, X32[:, 0] * 2)
    assert reg.predict(X32).dtype == np.float32
    assert MLPRegressor(**FAST, random_state=0).fit(X, X[:, 0]).predict(X).dtype == np.float64


def test_same_random_state_same_model(blobs):
    X, y = blobs
    first = MLPClassifier(**FAST, dropout=0.2, random_state=7).fit(X, y).predict_proba(X)
    again = MLPClassifier(**FAST, dropout=0.2, random_state=7).fit(X, y).predict_proba(X)
    other = MLPClassifier(**FAST, dropout=0.2, random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_early_stopping_keeps_a_validation_curve(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.05, max_iter=300,
                        early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                        random_state=0).fit(X, y)
    assert len(clf.validation_loss_curve_) == len(clf.loss_curve_) == clf.n_iter_
    assert clf.n_iter_ < 300  # it stopped early


def test_partial_fit_one_epoch_at_a_time(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(30):
        clf.partial_fit(X[:120], y[:120], classes=["red", "green", "blue"])
    assert clf.n_iter_ == 30 and len(clf.loss_curve_) == 30
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :1], y)
    reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    reg.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert reg.n_iter_ == 2


def test_regressor_multi_output_and_score():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=1.0, random_state=0)
    X, Y = StandardScaler().fit_transform(X), StandardScaler().fit_transform(Y)
    reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=200,
                       random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.9


@pytest.mark.parametrize("solver", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                    "adamw", "Adam"])
def test_every_chainrule_optimizer_is_a_solver(solver, blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver=solver, learning_rate_init=0.05,
                        max_iter=40, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("params, message", [
    (dict(solver="lbfgs"), "solver 'lbfgs'"),
    (dict(activation="softplus"), "activation must be one of"),
    (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    (dict(dropout=1.0), "dropout"),
    (dict(batch_size=0), "batch_size"),
])
def test_bad_parameters_are_named_at_fit(params, message, blobs):
    X, y = blobs
    clf = MLPClassifier(**params)  # set without complaint, as scikit-learn requires
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def _quietly_fit(estimator, X, y):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own MLP warns when max_iter is reached
        return estimator.fit(X, y)


def test_pipeline_cross_val_score_and_grid_search():
    """In sklearn's tools, within a few points of sklearn.neural_network.MLPClassifier."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    digits = load_digits()
    X, y = digits.data[:600], digits.target[:600]
    settings = dict(hidden_layer_sizes=(32,), max_iter=30, learning_rate_init=0.01,
                    random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(**settings))
    scores = cross_val_score(pipe, X, y, cv=3, error_score="raise")
    sk_pipe = make_pipeline(StandardScaler(), SkMLP(**settings))
    sk_scores = [_quietly_fit(clone(sk_pipe), X[train], y[train]).score(X[test], y[test])
                 for train, test in _folds(sk_pipe, X, y)]
    assert scores.shape == (3,) and scores.mean() > np.mean(sk_scores) - 0.05
    grid = GridSearchCV(clone(pipe), {"mlpclassifier__hidden_layer_sizes": [(2,), (32,)],
                                      "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2,
                        error_score="raise")
    grid.fit(X, y)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] == (32,)
    assert grid.best_score_ > 0.8


def _folds(estimator, X, y):
    from sklearn.model_selection import check_cv

    return check_cv(3, y, classifier=True).split(X, y)


def test_matches_sklearns_mlp_on_digits():
    """Same architecture and budget: accuracy on held-out digits within a few points of
    sklearn.neural_network.MLPClassifier's."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(StandardScaler().fit_transform(X), y,
                                                        random_state=0)
    ours = MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    theirs = SkMLP(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    _quietly_fit(theirs, X_train, y_train)
    ours.fit(X_train, y_train)
    assert ours.score(X_test, y_test) > theirs.score(X_test, y_test) - 0.03
    assert ours.score(X_test, y_test) > 0.85


def test_verbose_prints_epochs(blobs, capsys):
    X, y = blobs
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert "loss" in out.out + out.err


def test_random_state_seeds_chainrule():
    cr.manual_seed(123)
    expected = cr.random.generator().standard_normal()
    cr.manual_seed(123)
    MLPRegressor(hidden_layer_sizes=(2,), max_iter=1).fit(np.eye(3), [1.0, 2.0, 3.0])
    assert cr.random.generator().standard_normal() != expected  # random_state=None draws



def test_alpha_shrinks_the_weights(blobs):
    X, y = blobs
    settings = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=30,
                    random_state=0)
    norms = [sum(float((p.data ** 2).sum()) for name, p in clf.model_.named_parameters()
                 if name.endswith("weight"))
             for clf in (MLPClassifier(**settings, alpha=a).fit(X, y) for a in (0.0, 10.0))]
    assert norms[1] < 0.5 * norms[0]
