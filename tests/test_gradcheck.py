"""cr.gradcheck: passes on true gradients, catches a wrong VJP and says where, in both modes."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def wrong_square():
    """A throwaway primitive x**2 whose VJP is wrong at one element only (flat index 4)."""

    @cr.primitive(name="test_wrong_square")
    def square(x):
        return x * x

    @square.vjp
    def _(g, out, x):
        grad = 2 * g * x
        grad.flat[4] += 0.5
        return (grad,)

    try:
        yield square
    finally:
        del cr.REGISTRY["test_wrong_square"]  # test_ops must not see it


def test_passes_on_correct_gradients(rng):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    result = cr.gradcheck(lambda x, w: (x @ w).tanh().sum(axis=0), x, w)
    assert result and result.passed
    assert [r.index for r in result.inputs] == [0, 1]
    assert all(r.mode == "full" and r.max_abs_error < 1e-7 for r in result.inputs)


def test_fails_on_a_wrong_vjp_and_names_the_worst_element(wrong_square, rng):
    x = rng.standard_normal((2, 3))
    result = cr.gradcheck(lambda t: wrong_square(t), x)
    assert not result
    report = result.inputs[0]
    assert not report.passed and report.worst_index == (1, 1)  # flat index 4 of (2, 3)
    assert report.max_abs_error == pytest.approx(0.5, rel=1e-6)


def test_raise_on_fail_names_input_and_element(wrong_square, rng):
    x, scale = rng.standard_normal((2, 3)), rng.standard_normal(3)
    with pytest.raises(cr.GradcheckError, match=re.escape("input 1: max abs error")) as caught:
        cr.gradcheck(lambda s, t: wrong_square(t) * s, scale, x, raise_on_fail=True)
    assert "at element (1, 1)" in str(caught.value)
    assert isinstance(caught.value, cr.ChainruleError)
    assert cr.gradcheck(lambda s, t: t * t * s, scale, x, raise_on_fail=True)


def test_projection_mode_for_large_inputs(wrong_square, rng):
    x = rng.standard_normal((30, 40))  # 1,200 Jacobian entries > full_limit
    good = cr.gradcheck(lambda t: (t * t).sum(axis=1), x)
    assert good and good.inputs[0].mode == "projection"
    bad = cr.gradcheck(lambda t: wrong_square(t).sum(axis=1), x)
    assert not bad and bad.inputs[0].mode == "projection"
    full = cr.gradcheck(lambda t: (t * t).sum(axis=1), x, full_limit=10**6)
    assert full and full.inputs[0].mode == "full"


def test_only_inputs_that_require_grad_are_checked_when_any_does(rng):
    a = cr.tensor(rng.standard_normal(3), requires_grad=True)
    b = cr.tensor(rng.standard_normal(3))
    result = cr.gradcheck(lambda a, b: a * b, a, b)
    assert result and [r.index for r in result.inputs] == [0]


def test_float32_inputs_are_upcast_with_a_note(rng):
    x = rng.standard_normal(4).astype(np.float32)
    result = cr.gradcheck(lambda t: t.exp(), x)
    assert result
    assert any("input 0 upcast from float32 to float64" in note for note in result.notes)
    assert "upcast" in str(result)
    assert x.dtype == np.float32  # the caller's array is untouched


def test_integer_inputs_are_not_differentiated(rng):
    x, labels = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    result = cr.gradcheck(lambda t, idx: t[np.arange(3), idx.numpy()], x, labels)
    assert result and [r.index for r in result.inputs] == [0]
