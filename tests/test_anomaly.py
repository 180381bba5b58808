"""cr.detect_anomaly(): the first op to make NaN or Inf, forward or backward, and its line."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

HERE = __file__


def line_of(marker: str) -> int:
    """The line of this file that holds `marker` (so the test needs no hard-coded numbers)."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return next(n for n, text in enumerate(lines, start=1)
                if marker in text and "line_of" not in text)


def test_forward_names_the_op_and_the_calling_line():
    x = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError) as caught:
        y = (x * 2).exp()
        z = (y - 10.0).log()  # MARK-forward: log of a negative number
        z.sum()
    message = str(caught.value)
    assert message.startswith("log produced NaN or Inf in the forward pass")
    assert f"{HERE}:{line_of('MARK-forward')}" in message
    assert isinstance(caught.value, cr.ChainruleError)


def test_forward_blames_the_first_op_not_those_that_propagate_nan():
    x = cr.tensor(np.array([0.0, 1.0]))
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError, match=r"^div produced NaN"):
        ratio = x / x  # MARK-first: 0 / 0
        (ratio * 2).exp()


def test_backward_names_the_op_input_and_line():
    x = cr.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError) as caught:
        root = x.sqrt()  # MARK-backward: finite forward, infinite slope at 0
        (root * 3.0).sum().backward()
    message = str(caught.value)
    assert re.match(r"sqrt produced NaN or Inf in the gradient of its input 0 during backward",
                    message)
    assert f"{HERE}:{line_of('MARK-backward')}" in message


def test_backward_of_a_graph_built_outside_says_the_line_is_unknown():
    x = cr.tensor(np.array([0.0, 4.0]), requires_grad=True)
    loss = x.sqrt().sum()
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError, match="not recorded"):
        loss.backward()


def test_silent_and_identical_when_everything_is_finite(rng):
    x = rng.standard_normal((8, 3))
    w = rng.standard_normal((3, 4))

    def loss_and_grad():
        wt = cr.tensor(w, requires_grad=True)
        loss = (cr.tensor(x) @ wt).tanh().log_softmax(axis=1).mean()
        loss.backward()
        return loss.item(), wt.grad

    with cr.detect_anomaly():
        inside = loss_and_grad()
    outside = loss_and_grad()
    assert inside[0] == outside[0] and np.array_equal(inside[1], outside[1])


def test_switches_off_on_exit():
    with pytest.raises(cr.AnomalyError), cr.detect_anomaly():
        cr.tensor(np.array([-1.0])).log()
    with np.errstate(invalid="ignore"):
        assert np.isnan(cr.tensor(np.array([-1.0])).log().item())  # no error outside


def test_detect_anomaly_names_the_users_line_for_an_op_inside_a_layer():
    layer = nn.Linear(2, 2).double()
    layer.weight.data[...] = 1e308
    x = cr.tensor(np.full((1, 2), 10.0))
    with cr.detect_anomaly(), pytest.raises(cr.ChainruleError) as caught:
        layer(x)  # the line detect_anomaly must name
    line = caught.traceback[0].lineno + 1  # pytest's line numbers are 0-based
    assert re.search(rf"linear produced NaN or Inf.*{re.escape(__file__)}:{line}\b",
                     str(caught.value)), str(caught.value)
