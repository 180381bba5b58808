"""The primitives' buffer-writing forms (what the fused kernels call) and gradients written into
the optimizer's flat buffer by backward(): the same bits as the allocating forms and the
gather path they replace.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import native, nn, optim
from chainrule.engine import ops
from chainrule.nn import functional as F
from chainrule.nn.primitives import (
    bias_relu_into,
    linear,
    linear_grads,
    linear_into,
    relu_grad_in_place,
)
from chainrule.nn.state_ops import draw_dropout_mask, dropout_mask

FLOATS = [np.float32, np.float64]


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def _arrays(dtype, n=7, fan_in=5, fan_out=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, fan_in)).astype(dtype)
    w = rng.standard_normal((fan_out, fan_in)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype)
    g = rng.standard_normal((n, fan_out)).astype(dtype)
    return x, w, b, g


def _slot(shape, dtype, offset=3):
    """A C-contiguous view at an odd offset of a larger buffer, as a flat-buffer slot is."""
    size = int(np.prod(shape))
    return np.full(offset + size, np.nan, dtype)[offset:].reshape(shape)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_into_equals_the_allocating_forward(dtype, with_bias):
    x, w, b, _ = _arrays(dtype)
    bias = b if with_bias else None
    out = _slot((len(x), len(w)), dtype)
    result = linear_into(x, w.T, bias, out=out)
    assert result is out
    _same(out, linear.forward(x, w, bias))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False)])
def test_linear_grads_into_equal_the_allocating_vjp(dtype, needs):
    x, w, b, g = _arrays(dtype)
    expected = linear._vjp(g, None, x, w, b, needs=needs)
    into = (_slot(x.shape, dtype), _slot(w.shape, dtype), _slot(b.shape, dtype))
    got = linear._vjp(g, None, x, w, b, needs=needs, into=into)
    for e, r, destination in zip(expected, got, into):
        if e is None:
            assert r is None
            continue
        assert r is destination
        _same(r, e)


@pytest.mark.parametrize("dtype", FLOATS)
def test_linear_vjp_declines_destinations_that_would_change_its_bits(dtype):
    x, w, b, g = _arrays(dtype)
    strided = np.repeat(x, 2, axis=1)[:, ::2]  # matmul does not take BLAS on this layout
    into = (None, _slot(w.shape, dtype), _slot(b.shape, dtype))
    got = linear._vjp(g, None, strided, w, b, needs=(False, True, True), into=into)
    expected = linear._vjp(g, None, strided, w, b, needs=(False, True, True))
    assert got[1] is not into[1] and got[2] is not into[2]
    _same(got[1], expected[1])
    other_dtype = np.float32 if dtype == np.float64 else np.float64
    other = linear._vjp(g.astype(other_dtype), None, x.astype(other_dtype), w, b, into=into)
    assert all(r is None or r is not d for r, d in zip(other, into))


def test_linear_grads_by_ones_sum_the_columns():
    x, w, b, g = _arrays(np.float64, n=33)
    ones = np.ones(len(g))
    gb_into = _slot(b.shape, np.float64)
    _, _, gb = linear_grads(g, x, w, b, (False, False, True), (None, None, gb_into), ones)
    assert gb is gb_into
    _same(gb, np.dot(ones, g))
    np.testing.assert_allclose(gb, g.sum(axis=0), rtol=1e-13)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("compiled", [True, False])
def test_relu_forms_equal_the_primitive(dtype, compiled):
    previous = native.use_native(compiled)
    try:
        x, _, b, _ = _arrays(dtype, fan_in=3)
        x[0] = [np.nan, -0.0, np.inf]
        x[1] = [0.0, -np.inf, 1e-30]
        g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
        g[2] = [np.inf, -np.inf, np.nan]
        y = ops.relu.forward(x)
        _same(ops.relu_into(x.copy(), out=_slot(x.shape, dtype)), y)
        expected = ops.relu._vjp(g, y, x)[0]
        _same(expected, g * (x > 0))  # the formula, whichever pass computed it
        _same(relu_grad_in_place(g.copy(), y, np.empty(x.shape, bool)), expected)
        _same(ops.relu_grad_into(g, x, out=_slot(x.shape, dtype)), expected)
        z = x.copy()
        _same(bias_relu_into(z, b), ops.relu.forward(x + b))
        _same(bias_relu_into(x.copy(), None), y)
    finally:
        native.use_native(previous)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [0.3, 1.0])
def test_dropout_mask_drawn_into_a_buffer_equals_the_primitive(dtype, p):
    x = np.ones((6, 4), dtype)
    cr.manual_seed(3)
    expected = [dropout_mask.forward(x, p=p) for _ in range(2)]
    cr.manual_seed(3)
    out = _slot(x.shape, dtype)
    for e in expected:  # the same stream: the second draw follows the first
        assert draw_dropout_mask(x, p, out=out) is out
        _same(out, e)


# --- gradients written into the flat buffer by backward() ---------------------------------


def _mlp(dtype, seed=0, sizes=(4, 6, 3)):
    cr.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(dtype=dtype)


def _batch(dtype, seed, n=8, features=4, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype(dtype)
    return cr.tensor(X), cr.tensor(rng.integers(0, classes, n))


def _step(model, opt, seed, dtype, set_to_none=True):
    """One eager step; returns copies of the gradients it used."""
    opt.zero_grad(set_to_none=set_to_none)
    X, y = _batch(dtype, seed)
    F.cross_entropy(model(X), y).backward()
    grads = [p.grad.copy() for p in model.parameters()]
    opt.step()
    return grads


def _train(model, opt, steps, dtype, set_to_none=True):
    return [_step(model, opt, i, dtype, set_to_none) for i in range(steps)]


@pytest.mark.parametrize("dtype", FLOATS)
def test_gradients_written_into_the_flat_buffer_equal_the_gathered_ones(dtype):
    homed, gathered = _mlp(dtype), _mlp(dtype)
    opt = optim.Adam(homed.parameters(), lr=1e-2, fused=True)
    reference = optim.Adam(gathered.parameters(), lr=1e-2, fused=True)
    for i in range(4):
        for p in gathered.parameters():  # no home: backward allocates, step() gathers
            if hasattr(p, "_grad_home"):
                del p._grad_home
        got = _step(homed, opt, i, dtype)
        for a, b in zip(got, _step(gathered, reference, i, dtype)):
            _same(a, b)
        if i:  # from the second step on, every .grad is its slot: nothing was gathered
            assert opt.flat_buffers(list(homed.parameters())).current_grad() is not None
            assert reference.flat_buffers(list(gathered.parameters())).current_grad() is None
    for p, q in zip(homed.parameters(), gathered.parameters()):
        _same(p.data, q.data)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_the_flat_path_trains_as_the_plain_path(set_to_none):
    fused_model, plain_model = _mlp(np.float64), _mlp(np.float64)
    fused = optim.Adam(fused_model.parameters(), lr=1e-2, fused=True)
    plain = optim.Adam(plain_model.parameters(), lr=1e-2, fused=False)
    a = _train(fused_model, fused, 5, np.float64, set_to_none)
    b = _train(plain_model, plain, 5, np.float64, set_to_none)
    for step_a, step_b in zip(a, b):
        for ga, gb in zip(step_a, step_b):
            _same(ga, gb)
    for p, q in zip(fused_model.parameters(), plain_model.parameters()):
        _same(p.data, q.data)


def test_two_backward_calls_accumulate_into_the_flat_buffer():
    model, reference = _mlp(np.float64), _mlp(np.float64)
    opt = optim.Adam(model.parameters(), fused=True)
    _train(model, opt, 2, np.float64)  # the flat buffers exist, .grad is each slot
    plain = optim.Adam(reference.parameters(), fused=False)
    _train(reference, plain, 2, np.float64)
    for m, o in ((model, opt), (reference, plain)):
        o.zero_grad()
        for seed in (10, 11):
            X, y = _batch(np.float64, seed)
            F.cross_entropy(m(X), y).backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        _same(p.grad, q.grad)
    X, y = _batch(np.float64, 10)
    model.zero_grad()
    F.cross_entropy(model(X), y).backward()
    once = [p.grad.copy() for p in model.parameters()]
    for p, q, g in zip(model.parameters(), reference.parameters(), once):
        assert not np.array_equal(q.grad, g)  # the second batch counted


def _assert_fused_as_plain(loss_of, steps=3):
    """A Linear(4, 4) trained by fused and by plain Adam on loss_of(layer, step): each step's
    gradients and the final weights agree bit for bit (the fused one's written into its flat
    buffer by backward)."""

    def make():
        cr.manual_seed(0)
        return nn.Linear(4, 4).double()

    def run(layer, opt):
        for step in range(steps):
            opt.zero_grad()
            loss_of(layer, step).backward()
            grads = [p.grad.copy() for p in layer.parameters()]
            opt.step()
        return grads

    fused, reference = make(), make()
    got = run(fused, optim.Adam(fused.parameters(), fused=True))
    expected = run(reference, optim.Adam(reference.parameters(), fused=False))
    for a, b in zip(got, expected):
        _same(a, b)
    for p, q in zip(fused.parameters(), reference.parameters()):
        _same(p.data, q.data)


def test_a_parameter_used_twice_accumulates():
    def loss_of(layer, step):
        X, _ = _batch(np.float64, step)
        return (layer(F.relu(layer(X))) ** 2).sum()

    _assert_fused_as_plain(loss_of)


def test_autograd_grad_never_returns_a_view_of_the_flat_buffer():
    model = _mlp(np.float64)
    opt = optim.Adam(model.parameters(), fused=True)
    _train(model, opt, 2, np.float64)
    flat = opt.flat_buffers(list(model.parameters()))
    opt.zero_grad()
    X, y = _batch(np.float64, 5)
    loss = F.cross_entropy(model(X), y)
    grads = cr.autograd.grad(loss, list(model.parameters()))
    for p, g in zip(model.parameters(), grads):
        assert p.grad is None
        assert not np.shares_memory(g.data, flat.grad)


def test_a_parameter_given_twice_to_one_op_accumulates():
    _assert_fused_as_plain(
        lambda layer, step: (F.linear(layer.weight, layer.weight, layer.bias) ** 2).sum()
    )