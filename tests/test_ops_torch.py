"""Differential tests against PyTorch on identical float64 inputs: values and gradients.

Every engine op is compared through its cases' torch twins (tests/cases/engine.py), then at
kinks and ties, then inside random expression graphs drawn by hypothesis.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases.engine import CASES as ENGINE_CASES
from cases.engine_torch_names import CASES as PARITY_CASES
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

RTOL, ATOL = 1e-7, 1e-10
CASES = {**ENGINE_CASES, **PARITY_CASES}
# The convolution and pooling primitives are compared with torch's layers and functions
# over hypothesis-drawn configurations in tests/nn/test_conv.py.
COMPARED_ELSEWHERE = ("chainrule.engine.conv_ops", "chainrule.engine.pool_ops")
ENGINE_OPS = sorted(n for n, op in cr.REGISTRY.items()
                    if op.forward.__module__.startswith("chainrule.engine.")
                    and op.forward.__module__ not in COMPARED_ELSEWHERE)


def run_chainrule(fn, inputs, seed):
    tensors = [cr.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    out = fn(*tensors)
    out.backward(seed(out.shape))
    return out.data, [t.grad for t in tensors if t.requires_grad]


def run_torch(fn, inputs, seed):
    tensors = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    out = fn(*tensors)
    out.backward(torch.from_numpy(seed(tuple(out.shape))))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors if t.requires_grad]


def assert_matches_torch(fn, inputs, torch_fn, what):
    rng = np.random.default_rng(7)
    upstream = {}

    def seed(shape):  # the same random upstream gradient for both libraries
        return upstream.setdefault(shape, rng.standard_normal(shape))

    inputs = [np.asarray(x) for x in inputs]
    value, grads = run_chainrule(fn, inputs, seed)
    expected_value, expected_grads = run_torch(torch_fn, inputs, seed)
    assert value.dtype == np.float64, f"{what}: result is {value.dtype}"
    np.testing.assert_allclose(value, expected_value, rtol=RTOL, atol=ATOL, err_msg=what)
    for i, (g, expected) in enumerate(zip(grads, expected_grads)):
        assert g.shape == expected.shape, f"{what}: gradient {i} has shape {g.shape}"
        np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{what}: gradient of input {i}")


@pytest.mark.parametrize("name", ENGINE_OPS)
def test_every_op_matches_torch(name):
    assert name in CASES, f"engine op {name!r} has no case in tests/cases/engine*.py"
    compared = 0
    for seed in range(2):
        for number, (fn, inputs, *torch_fn) in enumerate(CASES[name](np.random.default_rng(seed))):
            if torch_fn:
                assert_matches_torch(fn, inputs, torch_fn[0], f"{name} case {number}")
                compared += 1
    assert compared, f"{name}: no case has a torch twin"


# Kinks and ties, where the gradient is a convention: PyTorch's is the one users expect.
KINK_CASES = {
    "relu at 0": (lambda x: x.relu(), [[-1.0, 0.0, 2.0]], torch.relu),
    "abs at 0": (lambda x: abs(x), [[-1.0, 0.0, 2.0]], torch.abs),
    "leaky_relu at 0": (lambda x: x.leaky_relu(0.2), [[-1.0, 0.0, 2.0]],
                        lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    "clip at its bounds": (lambda x: x.clip(-1.0, 1.0), [[-2.0, -1.0, 0.0, 1.0, 3.0]],
                           lambda x: x.clamp(-1.0, 1.0)),
    "maximum tie": (cr.maximum, [[1.0, 2.0, 3.0], [1.0, 5.0, 3.0]], torch.maximum),
    "minimum tie": (cr.minimum, [[1.0, 2.0, 3.0], [1.0, 5.0, 3.0]], torch.minimum),
    "maximum tie, broadcast": (cr.maximum, [[[1.0, 2.0], [2.0, 2.0]], [2.0]], torch.maximum),
    "max ties, all": (lambda x: x.max(), [[3.0, 1.0, 3.0, 3.0]], torch.amax),
    "max ties, axis": (lambda x: x.max(axis=1), [[[3.0, 1.0, 3.0], [0.0, 2.0, 1.0]]],
                       lambda x: x.amax(dim=1)),
    "min ties, axis 0": (lambda x: x.min(axis=0, keepdims=True), [[[1.0, 1.0], [1.0, 2.0]]],
                         lambda x: x.amin(dim=0, keepdim=True)),
    "pow, zero base": (lambda x, y: x**y, [[0.0, 0.0, 2.0], [2.0, 0.5, 3.0]], torch.pow),
    "pow, scalar exponent at 0": (lambda x: x**3, [[0.0, -1.5]], lambda x: x**3),
    "pow, scalar base": (lambda y: 2.0**y, [[0.0, -1.5, 3.0]], lambda y: 2.0**y),
    "getitem, repeated pick": (lambda x: x[np.array([0, 0, 2])], [[1.0, 2.0, 3.0]],
                               lambda x: x[torch.tensor([0, 0, 2])]),
    "softmax, large logits": (lambda x: x.softmax(axis=-1), [[[1000.0, 0.0, -1000.0]]],
                              lambda x: x.softmax(dim=-1)),
    "log_softmax, large logits": (lambda x: x.log_softmax(axis=0), [[800.0, -800.0, 0.0]],
                                  lambda x: x.log_softmax(dim=0)),
    "sigmoid, saturated": (lambda x: x.sigmoid(), [[-800.0, -30.0, 0.0, 30.0, 800.0]],
                           torch.sigmoid),
    "var (composite)": (lambda x: x.var(axis=1, ddof=1), [[[1.0, 2.0, 4.0], [0.5, 0.0, 3.0]]],
                        lambda x: x.var(dim=1, correction=1)),
    "var, all axes": (lambda x: x.var(), [[[1.0, 2.0, 4.0], [0.5, 0.0, 3.0]]],
                      lambda x: x.var(correction=0)),
    "flatten": (lambda x: x.flatten(), [[[1.0, 2.0], [0.5, 0.0]]], torch.flatten),
}


@pytest.mark.parametrize("what", sorted(KINK_CASES))
def test_kinks_and_ties_match_torch(what):
    fn, inputs, torch_fn = KINK_CASES[what]
    assert_matches_torch(fn, [np.array(x, dtype=np.float64) for x in inputs], torch_fn, what)


def test_float32_matches_torch_within_float32_precision():
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    a = cr.tensor(x, requires_grad=True)
    (a.tanh() * a).softmax(axis=0).log().sum().backward()
    t = torch.tensor(x, requires_grad=True)
    (t.tanh() * t).softmax(dim=0).log().sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-5, atol=1e-6)


# --- random expression graphs ------------------------------------------------------------
# Each op keeps values bounded (no overflow in 30 steps) and every shape broadcastable
# against the graph's full shape, so any node can meet any other.
UNARY = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "exp": lambda x: x.tanh().exp(),
    "log": lambda x: (x * x + 0.5).log(),
    "sqrt": lambda x: (x * x + 0.1).sqrt(),
    "neg": lambda x: -x,
    "abs": lambda x: abs(x),
    "relu": lambda x: x.relu(),
    "square": lambda x: x.tanh() ** 2,
    "scale": lambda x: 0.5 * x - 1.0,
}
AXIS_UNARY = {  # these need at least one axis
    "softmax": (lambda x: x.softmax(axis=-1), lambda x: x.softmax(dim=-1)),
    "log_softmax": (lambda x: x.log_softmax(axis=0), lambda x: x.log_softmax(dim=0)),
    "sum": (lambda x: x.sum(axis=-1, keepdims=True), lambda x: x.sum(dim=-1, keepdim=True)),
    "mean": (lambda x: x.mean(axis=0, keepdims=True), lambda x: x.mean(dim=0, keepdim=True)),
    "max": (lambda x: x.max(axis=-1, keepdims=True), lambda x: x.amax(dim=-1, keepdim=True)),
    "clip": (lambda x: x.clip(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5)),
}
BINARY = {
    "add": (lambda x, y: x + y,) * 2,
    "sub": (lambda x, y: x - y,) * 2,
    "mul": (lambda x, y: x * y.tanh(),) * 2,
    "div": (lambda x, y: x / (y * y + 1.0),) * 2,
    "pow": (lambda x, y: (x * x + 0.5) ** y.tanh(),) * 2,
    "maximum": (cr.maximum, torch.maximum),
    "minimum": (cr.minimum, torch.minimum),
    "where": (lambda x, y: cr.where(x > y, x, y * 2), lambda x, y: torch.where(x > y, x, y * 2)),
}
OP_NAMES = sorted(UNARY) + sorted(AXIS_UNARY) + sorted(BINARY)


@st.composite
def graphs(draw):
    full = draw(st.lists(st.integers(1, 4), max_size=3))
    leaf_shapes = []
    for _ in range(draw(st.integers(1, 3))):
        dropped = draw(st.integers(0, len(full)))
        leaf_shapes.append(tuple(n if draw(st.booleans()) else 1 for n in full[dropped:]))
    steps = []
    for _ in range(draw(st.integers(1, 30))):
        op = draw(st.sampled_from(OP_NAMES))
        pool = len(leaf_shapes) + len(steps)
        steps.append((op, draw(st.integers(0, pool - 1)), draw(st.integers(0, pool - 1))))
    return leaf_shapes, steps, draw(st.integers(0, 2**32 - 1))


def evaluate(steps, leaves, library):
    which = 0 if library == "chainrule" else 1
    nodes = list(leaves)
    for op, a, b in steps:
        x, y = nodes[a], nodes[b]
        if op in UNARY:
            nodes.append(UNARY[op](x))
        elif op in AXIS_UNARY:
            nodes.append(AXIS_UNARY[op][which](x) if x.ndim else UNARY["tanh"](x))
        else:
            nodes.append(BINARY[op][which](x, y))
    # Every node feeds the loss too, so each is reused by the ops after it and by the sum.
    loss = nodes[0].sum()
    for k, node in enumerate(nodes[1:], start=1):
        loss = loss + node.sum() * (1.0 / k)
    return loss


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_random_graphs_match_torch_autograd(graph):
    leaf_shapes, steps, seed = graph
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in leaf_shapes]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss = evaluate(steps, ours, "chainrule")
    expected = evaluate(steps, theirs, "torch")
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=RTOL, atol=ATOL)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        expected_grad = np.zeros(leaf_shapes[i]) if reference.grad is None else reference.grad
        got = np.zeros(leaf_shapes[i]) if mine.grad is None else mine.grad
        np.testing.assert_allclose(got, expected_grad, rtol=RTOL, atol=ATOL,
                                   err_msg=f"gradient of leaf {i}")


# --- random graphs of shape-changing ops against torch.autograd ---------------------------
# Every node is an (n, n) matrix, so any node can meet any other. k varies the index arrays
# (repeated rows included, whose gradients must add up).
def _rows(n, k):
    return (np.arange(n) * k) % n


def _labels(n, k):
    return (np.arange(n) + k) % n


def _same(fn):
    return fn, fn  # written with operators and methods both libraries share


# name -> (chainrule form, torch form), each a function of (x, y, n, k).
SHAPE_OPS = {
    "matmul": _same(lambda x, y, n, k: (x @ y.tanh()) * (1.0 / n)),
    "T": _same(lambda x, y, n, k: x.T),
    "transpose": _same(lambda x, y, n, k: x.transpose(1, 0)),
    "mul": _same(lambda x, y, n, k: x * y.tanh()),
    "add": _same(lambda x, y, n, k: x + y),
    "reshape reversed": (lambda x, y, n, k: x.reshape(-1)[::-1].reshape(n, n),
                         lambda x, y, n, k: x.reshape(-1).flip(0).reshape(n, n)),
    "rows": (lambda x, y, n, k: x[_rows(n, k)],
             lambda x, y, n, k: x[torch.from_numpy(_rows(n, k))]),
    "pick": (lambda x, y, n, k: x[np.arange(n), _labels(n, k)].reshape(n, 1)
             .broadcast_to((n, n)),
             lambda x, y, n, k: x[torch.arange(n), torch.from_numpy(_labels(n, k))]
             .reshape(n, 1).expand(n, n)),
    "concatenate": (lambda x, y, n, k: cr.concatenate([x, y], axis=1)[:, ::2],
                    lambda x, y, n, k: torch.cat([x, y], dim=1)[:, ::2]),
    "stack": (lambda x, y, n, k: cr.stack([x, y, x], axis=k % 2).mean(axis=k % 2),
              lambda x, y, n, k: torch.stack([x, y, x], dim=k % 2).mean(dim=k % 2)),
    "min": (lambda x, y, n, k: x.min(axis=1, keepdims=True) + y,
            lambda x, y, n, k: x.amin(dim=1, keepdim=True) + y),
    "log_softmax": (lambda x, y, n, k: x.log_softmax(axis=k % 2),
                    lambda x, y, n, k: x.log_softmax(dim=k % 2)),
    "leaky_div": (lambda x, y, n, k: x.leaky_relu(0.1) / (y * y + 1.0),
                  lambda x, y, n, k: torch.nn.functional.leaky_relu(x, 0.1) / (y * y + 1.0)),
}


@st.composite
def shape_graphs(draw):
    n = draw(st.integers(1, 4))
    leaves = draw(st.integers(1, 3))
    steps = []
    for _ in range(draw(st.integers(1, 30))):
        pool = leaves + len(steps)
        steps.append((draw(st.sampled_from(sorted(SHAPE_OPS))), draw(st.integers(0, pool - 1)),
                      draw(st.integers(0, pool - 1)), draw(st.integers(0, 5))))
    return n, leaves, steps, draw(st.integers(0, 2**32 - 1))


def _loss(steps, leaves, n, which):
    nodes = list(leaves)
    for op, a, b, k in steps:
        nodes.append(SHAPE_OPS[op][which](nodes[a], nodes[b], n, k))
    loss = nodes[0].sum()
    for i, node in enumerate(nodes[1:], start=1):  # every node reused by the loss too
        loss = loss + node.sum() * (1.0 / i)
    return loss


@settings(max_examples=40, deadline=None)
@given(shape_graphs())
def test_random_graphs_of_shape_ops_match_torch_autograd(graph):
    n, count, steps, seed = graph
    arrays = [np.random.default_rng(seed + i).standard_normal((n, n)) for i in range(count)]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss, expected = _loss(steps, ours, n, 0), _loss(steps, theirs, n, 1)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=RTOL, atol=ATOL)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        want = np.zeros((n, n)) if reference.grad is None else reference.grad.numpy()
        got = np.zeros((n, n)) if mine.grad is None else mine.grad
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"leaf {i}")
