"""Batch norm's compiled loops (chainrule.native.batch_norm_forward / _backward) against the
NumPy path of nn/batch_norm_ops.py: the same bits for the output, the running statistics and
every gradient, and nothing written when they decline."""

import numpy as np
import pytest
from test_native import (  # noqa: F401 (a fixture)
    FLOATS,
    assert_same_bits,
    awkward_values,
    needs_extension,
    numpy_then_native,
)

from chainrule import native
from chainrule.nn.batch_norm_ops import batch_norm_train, train_forward

SHAPES = [(2, 2), (3, 5), (8, 17), (128, 256), (1000, 3)]


def forward_and_vjp(x, g, weight, bias, eps):
    running_mean, running_var = np.zeros(x.shape[1], x.dtype), np.ones(x.shape[1], x.dtype)
    counter = np.zeros((), np.int64)
    options = dict(momentum=0.1, eps=eps)
    with np.errstate(all="ignore"):  # NumPy warns about the inf and NaN on purpose
        out = batch_norm_train.forward(x, weight, bias, running_mean, running_var, counter,
                                       **options)
        grads = batch_norm_train._vjp(g, out, x, weight, bias, running_mean, running_var,
                                      counter, **options)
    return [out, running_mean, running_var, *[a for a in grads if a is not None]]


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", ["weight and bias", "weight", "bias", "none"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_batch_norm_loops_are_bit_identical_to_the_numpy_path(numpy_then_native, dtype, shape,
                                                              affine, special):
    rng = np.random.default_rng(sum(shape))
    x = awkward_values(rng, shape, dtype, special=special) + rng.standard_normal(shape[1])
    x = x.astype(dtype)
    g = awkward_values(rng, shape, dtype, special=special)
    weight = rng.standard_normal(shape[1]).astype(dtype) if "weight" in affine else None
    bias = rng.standard_normal(shape[1]).astype(dtype) if "bias" in affine else None
    plain, compiled = numpy_then_native(lambda: forward_and_vjp(x, g, weight, bias, 1e-5))
    assert len(plain) == len(compiled)
    for a, b in zip(plain, compiled):
        assert_same_bits(a, b)


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_batch_norm_then_relu_in_one_pass_is_bit_identical(numpy_then_native, dtype, special):
    rng = np.random.default_rng(4)
    x = awkward_values(rng, (16, 9), dtype, special=special)
    weight, bias = rng.standard_normal(9).astype(dtype), rng.standard_normal(9).astype(dtype)

    def run():
        with np.errstate(all="ignore"):
            return [train_forward(x, weight, bias, None, None, None, 0.1, 1e-5, relu=True)]

    plain, compiled = numpy_then_native(run)
    assert_same_bits(plain[0], compiled[0])
    assert (compiled[0] >= 0).sum() + np.isnan(compiled[0]).sum() == compiled[0].size


def arrays(shape=(6, 4), dtype=np.float64):
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    return x, g, np.ones(shape[1], dtype), np.zeros(shape[1], dtype)


@needs_extension
@pytest.mark.parametrize("case", ["one column", "three axes", "strided", "mixed dtypes",
                                  "float16", "weight too short", "out is x", "numpy eps"])
def test_batch_norm_loops_decline_what_they_cannot_do_and_write_nothing(case):
    x, g, weight, bias = arrays((6, 1) if case == "one column" else (6, 4))
    eps = np.float64(1e-5) if case == "numpy eps" else 1e-5
    if case == "three axes":
        x, g = x.reshape(6, 2, 2), g.reshape(6, 2, 2)
    elif case == "strided":
        x = np.repeat(x, 2, axis=1)[:, ::2]
    elif case == "mixed dtypes":
        weight = weight.astype(np.float32)
    elif case == "float16":
        x, g, weight, bias = (a.astype(np.float16) for a in (x, g, weight, bias))
    elif case == "weight too short":
        weight = weight[:-1]
    out = x if case == "out is x" else np.full(x.shape, 7, x.dtype)
    mean, var = np.full((2, x.shape[1]), 7, x.dtype)
    gx, gw, gb = out if case == "out is x" else np.full(x.shape, 7, x.dtype), mean + 1, var + 1
    before = [a.copy() for a in (x, out, mean, var, gx, gw, gb)]
    assert native.batch_norm_forward(out, mean, var, x, weight, bias, eps) is False
    assert native.batch_norm_backward(gx, gw, gb, g, x, weight, eps) is False
    for a, b in zip((x, out, mean, var, gx, gw, gb), before):
        np.testing.assert_array_equal(a, b)


@needs_extension
def test_batch_norm_loops_are_used_for_a_matrix():
    x, g, weight, bias = arrays()
    out, mean, var = np.empty_like(x), np.empty(4), np.empty(4)
    assert native.batch_norm_forward(out, mean, var, x, weight, bias, 1e-5) is True
    gx, gw, gb = np.empty_like(x), np.empty(4), np.empty(4)
    assert native.batch_norm_backward(gx, gw, gb, g, x, weight, 1e-5) is True
    assert native.batch_norm_backward(None, None, gb, g, x, None, 1e-5) is True


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_the_fused_roads_extras_are_the_separate_numpy_calls(dtype, shape, special):
    """What the fused road's kernel asks of the loops beyond the primitive: the Linear's bias
    added to x first, gx's column sums (that Linear's bias gradient) and the forward's μ and
    σ² handed to the backward give the bits of the separate NumPy calls."""
    rng = np.random.default_rng(sum(shape) + 1)
    z = awkward_values(rng, shape, dtype, special=special)
    add = awkward_values(rng, shape[1:], dtype, special=special)
    g = awkward_values(rng, shape, dtype, special=special)
    weight = rng.standard_normal(shape[1]).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    with np.errstate(all="ignore"):
        x = z + add
        expected_out = train_forward(x, weight, bias, None, None, None, 0.1, 1e-5)
        expected = batch_norm_train._vjp(g, expected_out, x, weight, bias)[:3]
        expected_sum = expected[0].sum(axis=0)
    fused_x, out, statistics = z.copy(), np.empty_like(z), np.empty((2, shape[1]), dtype)
    assert native.batch_norm_forward(out, *statistics, fused_x, weight, bias, 1e-5, False, add)
    assert_same_bits(fused_x, x)
    assert_same_bits(out, expected_out)
    for given in (None, statistics):
        gx, gw, gb, gx_sum = np.empty_like(z), *np.empty((3, shape[1]), dtype)
        mean, var = (None, None) if given is None else given
        assert native.batch_norm_backward(gx, gw, gb, g, x, weight, 1e-5, gx_sum, mean, var)
        for got, want in zip((gx, gw, gb, gx_sum), (*expected, expected_sum)):
            assert_same_bits(got, want)


@needs_extension
@pytest.mark.parametrize("case", ["sum without gx", "mean without var", "short add",
                                  "short mean"])
def test_the_extras_decline_what_does_not_fit_and_write_nothing(case):
    x, g, weight, bias = arrays()
    out, gx = np.full_like(x, 7), np.full_like(x, 7)
    mean, var, gx_sum, add = np.full((4, 4), 7.0)
    if case == "short add":
        add = add[:-1]
    if case == "short mean":
        mean = mean[:-1]
    before = [a.copy() for a in (x, out, gx, mean, var, gx_sum)]
    if case in ("short add",):
        assert native.batch_norm_forward(out, mean, var, x, weight, bias, 1e-5, False, add) is False
    else:
        given = (None, var) if case == "mean without var" else (mean, var)
        gx_arg = None if case == "sum without gx" else gx
        assert native.batch_norm_backward(gx_arg, None, None, g, x, weight, 1e-5, gx_sum,
                                          *given) is False
    for a, b in zip((x, out, gx, mean, var, gx_sum), before):
        np.testing.assert_array_equal(a, b)


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
@pytest.mark.parametrize("correction", [1.0, 128 / 127, 3 / 2])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_the_running_update_loop_is_bit_identical_to_the_numpy_path(dtype, momentum,
                                                                     correction, special):
    from chainrule.nn.state_ops import running_update

    rng = np.random.default_rng(5)
    running = awkward_values(rng, (37,), dtype, special=special)
    batch = awkward_values(rng, (1, 37), dtype, special=special)
    counter = np.array(3, np.int64)
    expected = running.copy()
    with np.errstate(all="ignore"):
        running_update.forward(expected, batch, counter, momentum=momentum,
                               correction=correction)
        factor = 1.0 / 3.0 if momentum is None else momentum
        assert native.running_update(running, batch, factor, correction) is True
    assert_same_bits(running, expected)


@needs_extension
def test_the_running_update_loop_declines_what_numpy_computes_otherwise():
    running, batch = np.zeros(4), np.ones(4)
    assert native.running_update(running, batch, np.float64(0.1), 1.0) is False  # not weak
    assert native.running_update(running, batch[:3], 0.1, 1.0) is False
    assert native.running_update(running, batch.astype(np.float32), 0.1, 1.0) is False
    np.testing.assert_array_equal(running, 0.0)
