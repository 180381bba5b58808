"""The NumPy erf behind exact GELU, against the C library's correctly rounded math.erf."""

import math

import numpy as np

from chainrule.nn.erf import erf


def test_erf_is_within_a_few_units_in_the_last_place_of_math_erf():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-7, 7, 140001), rng.standard_normal(20000) * 3,
                        np.logspace(-300, 0.5, 2000), -np.logspace(-20, 0.5, 500)])
    expected = np.array([math.erf(v) for v in x])
    got = erf(x)
    assert np.abs(got - expected).max() <= 5e-16
    tiny = (np.abs(x) < 0.5) & (x != 0)  # the series keeps relative precision near zero
    relative = np.abs(got[tiny] - expected[tiny]) / np.abs(expected[tiny])
    assert relative.max() <= 4e-16


def test_erf_special_values_and_dtypes():
    values = np.array([0.0, -0.0, np.inf, -np.inf, 6.5, -30.0])
    np.testing.assert_array_equal(erf(values), [0.0, -0.0, 1.0, -1.0, 1.0, -1.0])
    assert np.signbit(erf(np.array([-0.0]))[0])
    assert np.isnan(erf(np.array([np.nan]))[0])
    assert erf(np.ones(3, np.float32)).dtype == np.float32
    assert erf(np.array(0.5)).shape == ()
