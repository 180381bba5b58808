"""Convolution and pooling against torch in float64 over configurations drawn by hypothesis:
the output and every gradient (input, weight, bias) to 1e-7."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from nn_oracle import assert_close

import chainrule as cr

F, TF = cr.nn.functional, torch.nn.functional
SETTINGS = settings(max_examples=60, deadline=None)


def compare(fn, torch_fn, arrays, what, seed=0):
    """fn on chainrule tensors and torch_fn on torch tensors: same output and gradients."""
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ours)
    with warnings.catch_warnings():  # torch's note that 'same' with an even kernel pads a copy
        warnings.simplefilter("ignore", UserWarning)
        expected = torch_fn(*theirs)
    upstream = np.random.default_rng(seed).standard_normal(tuple(expected.shape))
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    assert_close(out.data, expected, f"{what}: output")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.grad, b.grad, f"{what}: gradient of input {i}")


def _pairs(draw, dims, low, high):
    values = draw(st.lists(st.integers(low, high), min_size=dims, max_size=dims))
    return values[0] if dims == 1 and draw(st.booleans()) else tuple(values)


@st.composite
def conv_configs(draw):
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    kernel = _pairs(draw, dims, 1, 4)
    dilation = _pairs(draw, dims, 1, 3)
    stride = _pairs(draw, dims, 1, 3)
    padding = draw(st.sampled_from(["same", "valid", "int", "tuple"]))
    if padding == "same":
        stride = 1
    elif padding == "int":
        padding = draw(st.integers(0, 3))
    elif padding == "tuple":
        padding = _pairs(draw, dims, 0, 3)
    kernels = (kernel,) * dims if isinstance(kernel, int) else kernel
    dilations = (dilation,) * dims if isinstance(dilation, int) else dilation
    span = [d * (k - 1) + 1 for k, d in zip(kernels, dilations)]
    size = tuple(draw(st.integers(s, s + 6)) for s in span)  # at least one window unpadded
    return {"dims": dims, "groups": groups, "kernel": kernels, "stride": stride, "padding": padding,
                "dilation": dilation, "size": size, "batch": draw(st.integers(1, 3)),
                "c_in": groups * draw(st.integers(1, 3)), "c_out": groups * draw(st.integers(1, 3)),
                "bias": draw(st.booleans()), "seed": draw(st.integers(0, 2**16))}


@SETTINGS
@given(conv_configs())
def test_conv_matches_torch(config):
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal((config["batch"], config["c_in"], *config["size"]))
    w = rng.standard_normal((config["c_out"], config["c_in"] // config["groups"],
                             *config["kernel"]))
    arrays = [x, w] + ([rng.standard_normal(config["c_out"])] if config["bias"] else [])
    options = {k: config[k] for k in ("stride", "padding", "dilation", "groups")}
    name = f"conv{config['dims']}d"
    compare(lambda *t: getattr(F, name)(*t, **options),
            lambda *t: getattr(TF, name)(*t, **options), arrays, f"{name} {options}")


@st.composite
def pool_configs(draw, dilated):
    dims = draw(st.sampled_from([1, 2]))
    kernel = _pairs(draw, dims, 1, 4)
    kernels = (kernel,) * dims if isinstance(kernel, int) else kernel
    dilation = _pairs(draw, dims, 1, 3) if dilated else 1
    dilations = (dilation,) * dims if isinstance(dilation, int) else dilation
    span = [d * (k - 1) + 1 for k, d in zip(kernels, dilations)]
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernels)
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    size = tuple(draw(st.integers(max(s - 2 * p, 1), s + 6)) for s, p in zip(span, padding))
    return {"dims": dims, "kernel_size": kernel, "stride": stride, "padding": padding,
                "dilation": dilation, "ceil_mode": draw(st.booleans()), "size": size,
                "seed": draw(st.integers(0, 2**16))}


@SETTINGS
@given(pool_configs(dilated=True))
def test_max_pool_matches_torch(config):
    dims, size, seed = config.pop("dims"), config.pop("size"), config.pop("seed")
    x = np.random.default_rng(seed).standard_normal((2, 3, *size))
    name = f"max_pool{dims}d"
    # A dilated window can hold only padding: its output is -inf in both, and torch then
    # sends the gradient to an element outside the window; those windows are left out.
    assume(np.isfinite(getattr(TF, name)(torch.from_numpy(x), **config).numpy()).all())
    compare(lambda t: getattr(F, name)(t, **config),
            lambda t: getattr(TF, name)(t, **config), [x], f"{name} {config}")


@SETTINGS
@given(pool_configs(dilated=False), st.booleans(), st.sampled_from([None, 1, 5]))
def test_avg_pool_matches_torch(config, count_include_pad, divisor_override):
    dims, size, seed = config.pop("dims"), config.pop("size"), config.pop("seed")
    del config["dilation"]
    config["count_include_pad"] = count_include_pad
    if dims == 2:
        config["divisor_override"] = divisor_override
    x = np.random.default_rng(seed).standard_normal((2, 3, *size))
    name = f"avg_pool{dims}d"
    compare(lambda t: getattr(F, name)(t, **config),
            lambda t: getattr(TF, name)(t, **config), [x], f"{name} {config}")


@SETTINGS
@given(st.sampled_from([1, 2]), st.data())
def test_adaptive_avg_pool_matches_torch(dims, data):
    size = tuple(data.draw(st.integers(1, 9)) for _ in range(dims))
    out = tuple(data.draw(st.one_of(st.integers(1, 10), st.none())) for _ in range(dims))
    out = (out[0] or 3) if dims == 1 else out
    x = np.random.default_rng(0).standard_normal((2, 3, *size))
    name = f"adaptive_avg_pool{dims}d"
    compare(lambda t: getattr(F, name)(t, out), lambda t: getattr(TF, name)(t, out), [x],
            f"{name} {size} -> {out}")


def test_max_pool_ties_go_to_the_first_maximum_as_in_torch():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [2.0, 2.0, 2.0]]]])
    for kernel, stride in ((2, 1), (3, 1), (2, 2)):
        compare(lambda t, k=kernel, s=stride: F.max_pool2d(t, k, s),
                lambda t, k=kernel, s=stride: TF.max_pool2d(t, k, s), [x], f"ties {kernel}, {stride}")
    compare(lambda t: F.max_pool1d(t, 2, 1), lambda t: TF.max_pool1d(t, 2, 1), [x[0, 0]],
            "ties 1d, unbatched")


def test_unbatched_inputs_keep_their_rank():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 5, 6)), rng.standard_normal((3, 2, 2, 2))
    compare(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
            [x, w], "conv2d unbatched")
    compare(lambda x: F.avg_pool1d(x, 3, 2, 1), lambda x: TF.avg_pool1d(x, 3, 2, 1), [x[0]],
            "avg_pool1d unbatched")


@pytest.mark.parametrize("call, message", [
    (lambda x, w: F.conv2d(x, w, stride=2, padding="same"), "strided"),
    (lambda x, w: F.conv2d(x, w, padding="full"), "'same', 'valid'"),
    (lambda x, w: F.conv2d(x, np.ones((4, 4, 3, 3)), groups=2), r"shape \(2, 4, 6, 6\).*groups=2"),
    (lambda x, w: F.conv2d(x, w[:, :, :1, :1], padding=-1), "padding must be >= 0"),
    (lambda x, w: F.conv2d(x, np.ones((3, 4, 9, 9))), "smaller than the dilated kernel"),
    (lambda x, w: F.conv1d(x, w), "3-D"),
    (lambda x, w: F.max_pool2d(x, 2, padding=2), "at most half"),
    (lambda x, w: F.avg_pool2d(x, (2, 2, 2)), "2 ints"),
])
def test_bad_arguments_name_the_problem(call, message):
    x, w = cr.tensor(np.ones((2, 4, 6, 6))), cr.tensor(np.ones((3, 4, 3, 3)))
    with pytest.raises(ValueError, match=message):
        call(x, w)


def test_max_pool_sends_the_gradient_to_the_first_nan_as_torch():
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 0.0, 2.0]]])
    compare(lambda t: F.max_pool1d(t, 3, 1, 1), lambda t: TF.max_pool1d(t, 3, 1, 1), [x],
            "NaN in windows", seed=3)


def test_max_pool_routes_an_infinite_gradient_to_the_maximum_only_as_torch():
    """An inf in the upstream gradient lands on its window's maximum; the window's other
    elements get 0 (multiplying inf by a 0/1 mask would give them NaN)."""
    x = np.array([[[[1.0, 4.0, 2.0, 0.5], [3.0, 0.0, 5.0, 6.0]]]])
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    upstream = np.array([[[[np.inf, -2.0]]]])
    F.max_pool2d(ours, 2).backward(upstream)
    TF.max_pool2d(theirs, 2).backward(torch.from_numpy(upstream))
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
    assert np.isinf(ours.grad).sum() == 1 and not np.isnan(ours.grad).any()
