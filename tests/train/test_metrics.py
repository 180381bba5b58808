"""Metrics against scikit-learn's formulas on random data."""

import numpy as np
import pytest
from sklearn import metrics as skm

from chainrule.train import metrics
from chainrule.train.metrics import MetricError, get_metric


def test_accuracy_from_logits_probabilities_and_labels(rng):
    y = rng.integers(0, 4, size=50)
    logits = rng.normal(size=(50, 4))
    expected = skm.accuracy_score(y, logits.argmax(axis=1))
    assert metrics.accuracy(y, logits) == pytest.approx(expected)
    assert metrics.accuracy(y, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)) == expected
    assert metrics.accuracy(y, logits.argmax(axis=1)) == expected


def test_accuracy_binary_single_output(rng):
    y = rng.integers(0, 2, size=40)
    logits = rng.normal(size=(40, 1)) * 3
    probabilities = 1 / (1 + np.exp(-logits))
    expected = skm.accuracy_score(y, (logits[:, 0] > 0).astype(int))
    assert metrics.accuracy(y, logits) == pytest.approx(expected)
    assert metrics.accuracy(y, probabilities) == pytest.approx(expected)


def test_top_k_accuracy(rng):
    y = rng.integers(0, 6, size=60)
    scores = rng.normal(size=(60, 6))
    for k in (1, 2, 3):
        expected = skm.top_k_accuracy_score(y, scores, k=k, labels=np.arange(6))
        assert metrics.top_k_accuracy(y, scores, k=k) == pytest.approx(expected)


def test_regression_metrics(rng):
    y = rng.normal(size=(30, 2))
    pred = y + rng.normal(size=(30, 2)) * 0.3
    assert metrics.mse(y, pred) == pytest.approx(skm.mean_squared_error(y, pred), rel=1e-12)
    assert metrics.mae(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert metrics.r2(y, pred) == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    assert metrics.r2(y[:, 0], pred[:, :1]) == pytest.approx(skm.r2_score(y[:, 0], pred[:, 0]))


def test_r2_constant_target():
    y = np.ones(5)
    assert metrics.r2(y, y) == skm.r2_score(y, y) == 1.0
    assert metrics.r2(y, y + 1) == skm.r2_score(y, y + 1) == 0.0


def test_log_loss_probabilities_and_logits(rng):
    y = rng.integers(0, 3, size=40)
    logits = rng.normal(size=(40, 3))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = skm.log_loss(y, p, labels=[0, 1, 2])
    assert metrics.log_loss(y, p) == pytest.approx(expected, rel=1e-10)
    assert metrics.log_loss(y, logits) == pytest.approx(expected, rel=1e-10)
    yb = rng.integers(0, 2, size=40)
    pb = rng.uniform(0.05, 0.95, size=40)
    assert metrics.log_loss(yb, pb) == pytest.approx(skm.log_loss(yb, pb), rel=1e-10)


def test_errors_name_the_problem():
    with pytest.raises(MetricError, match="3 rows but y_pred has 2"):
        metrics.accuracy(np.zeros(3), np.zeros(2))
    with pytest.raises(MetricError, match="unknown metric 'acuracy'"):
        get_metric("acuracy")
    with pytest.raises(MetricError, match="2 classes"):
        metrics.log_loss(np.array([0, 2]), np.array([[0.5, 0.5], [0.2, 0.8]]))
    assert get_metric("acc") == ("accuracy", metrics.accuracy)
