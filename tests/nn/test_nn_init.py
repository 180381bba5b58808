"""cr.nn.init: PyTorch's gains, fans and bounds exactly; the distributions statistically."""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
         ("relu", None), ("selu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
         ("leaky_relu", 3), ("leaky_relu", math.sqrt(5))]


@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_calculate_gain_equals_torchs(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain_rejects_unknown_names_and_bad_slopes():
    with pytest.raises(init.InitError, match="'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(init.InitError, match="True"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (7, 2), (5, 2, 3, 3), (4, 6, 2)])
def test_fans_equal_torchs(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(np.empty(shape)) == expected
    with pytest.raises(init.InitError, match=r"\(5,\)"):
        init.calculate_fan_in_and_fan_out(np.empty(5))


SHAPE = (300, 200)  # 60,000 draws: sample std within ~0.3% (1/sqrt(2n)) of the truth
FAN_IN, FAN_OUT = 200, 300


def check_uniform(values, bound):
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.999 * bound  # reaches the edge: not a narrower law
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * values.size)


def check_normal(values, std):
    assert values.std() == pytest.approx(std, rel=0.02)
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)
    assert np.mean(np.abs(values) < std) == pytest.approx(0.6827, abs=0.01)


def test_xavier_and_kaiming_uniform_bounds():
    cr.manual_seed(0)
    gain = init.calculate_gain("tanh")
    w = cr.tensor(np.empty(SHAPE))
    assert init.xavier_uniform_(w, gain=gain) is w
    check_uniform(w.data, gain * math.sqrt(6 / (FAN_IN + FAN_OUT)))
    init.kaiming_uniform_(w, nonlinearity="relu")
    check_uniform(w.data, math.sqrt(2) * math.sqrt(3 / FAN_IN))
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    check_uniform(w.data, math.sqrt(2) * math.sqrt(3 / FAN_OUT))
    init.uniform_(w, -0.5, 2.0)
    assert w.data.min() >= -0.5 and w.data.max() < 2.0
    assert w.data.mean() == pytest.approx(0.75, abs=0.02)


def test_xavier_and_kaiming_normal_std():
    cr.manual_seed(1)
    w = cr.tensor(np.empty(SHAPE))
    init.xavier_normal_(w)
    check_normal(w.data, math.sqrt(2 / (FAN_IN + FAN_OUT)))
    init.kaiming_normal_(w, a=0.1, nonlinearity="leaky_relu")
    check_normal(w.data, math.sqrt(2 / (1 + 0.01)) / math.sqrt(FAN_IN))
    init.normal_(w, 3.0, 0.5)
    assert w.data.mean() == pytest.approx(3.0, abs=0.01)
    check_normal(w.data - 3.0, 0.5)


def test_constant_zeros_and_ones_keep_the_dtype():
    w = nn.Parameter(np.empty((2, 3), np.float32))
    init.constant_(w, 0.25)
    assert w.dtype == np.float32 and np.all(w.data == 0.25)
    init.zeros_(w)
    assert np.all(w.data == 0)
    init.ones_(w)
    assert np.all(w.data == 1)


def test_linear_default_init_has_torchs_bounds_and_spread():
    cr.manual_seed(2)
    layer = nn.Linear(FAN_IN, FAN_OUT)
    bound = 1 / math.sqrt(FAN_IN)
    check_uniform(layer.weight.data.astype(np.float64), bound)
    assert np.abs(layer.bias.data).max() <= bound
    torch.manual_seed(0)
    reference = torch.nn.Linear(FAN_IN, FAN_OUT).weight.detach().numpy()
    assert layer.weight.data.std() == pytest.approx(reference.std(), rel=0.02)
    assert np.abs(reference).max() <= bound


def test_init_draws_from_the_seeded_generator():
    w1, w2 = np.empty((4, 5)), np.empty((4, 5))
    cr.manual_seed(9)
    init.kaiming_normal_(w1)
    cr.manual_seed(9)
    init.kaiming_normal_(w2)
    np.testing.assert_array_equal(w1, w2)


def test_empty_tensors_are_left_alone_as_in_torch():
    w = np.empty((0, 3))
    assert init.kaiming_uniform_(w) is w
    assert nn.Linear(0, 2).bias.shape == (2,)
