"""Tensor, backward() and the recorded graph: reuse, accumulation, release, no_grad, errors."""

from __future__ import annotations

import gc
import json
import re
import weakref

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.engine.random import generator, get_state, set_state


def leaf(values, dtype=np.float64):
    return cr.tensor(np.array(values, dtype=dtype), requires_grad=True)


# --- the array-like surface ----------------------------------------------------------------


def test_properties_and_conversions():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.dtype == np.float32 and x.size == 6
    assert x.T.shape == (3, 2) and np.array_equal(x.T.numpy(), x.numpy().T)
    assert isinstance(x.numpy(), np.ndarray) and x.grad is None and not x.requires_grad
    assert cr.tensor(2.5).item() == 2.5 and float(cr.tensor(2.5)) == 2.5
    assert len(x) == 2 and [row.shape for row in x] == [(3,), (3,)]
    assert np.asarray(x) is x.numpy()


def test_float32_by_default_float64_preserved():
    assert cr.tensor(1.0).dtype == np.float32
    assert cr.tensor([1.0, 2]).dtype == np.float32
    assert cr.tensor([1, 2]).dtype == np.int64  # integers stay integers (labels), as in torch
    assert cr.tensor(np.zeros(3)).dtype == np.float64
    assert cr.tensor(np.float64(1.0)).dtype == np.float64
    assert cr.tensor([1.0], dtype=np.float64).dtype == np.float64
    x32 = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y32 = ((x32 * 2.0 + np.float64(1.0)) / np.sqrt(2.0)).exp().sum()
    assert y32.dtype == np.float32  # Python and NumPy scalars never widen the dtype
    y32.backward()
    assert x32.grad.dtype == np.float32
    x64 = leaf([1.0, 2.0])
    y64 = (x64.sigmoid() * 3.0).log_softmax(axis=0).mean()
    assert y64.dtype == np.float64
    y64.backward()
    assert x64.grad.dtype == np.float64


def test_only_floating_tensors_require_grad():
    with pytest.raises(cr.ChainruleError, match="only floating tensors can require grad"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="dtype <U1"):
        cr.tensor(["a"])


def test_detach_shares_data_without_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    with pytest.raises(cr.ChainruleError, match="does not require grad"):
        d.sum().backward()


def test_comparisons_return_tensors_without_grad():
    x, y = leaf([1.0, 2.0, 3.0]), leaf([3.0, 2.0, 1.0])
    for result, expected in ((x < y, [1, 0, 0]), (x <= y, [1, 1, 0]), (x > 2.0, [0, 0, 1]),
                             (x >= y, [0, 1, 1]), (x == y, [0, 1, 0]), (x != y, [1, 0, 1])):
        assert isinstance(result, cr.Tensor) and not result.requires_grad
        assert result.dtype == np.bool_ and result.tolist() == [bool(v) for v in expected]


# --- backward ------------------------------------------------------------------------------


def test_reused_node_x_times_x():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, -4.0])


def test_one_value_feeding_many_ops_matches_torch():
    values = np.array([[0.3, -1.2], [0.7, 2.0]])
    x, t = leaf(values), torch.tensor(values, requires_grad=True)
    ours = [x.exp(), x * x, x.sum(axis=0), x.tanh() @ x, -x, x.max(axis=1, keepdims=True)]
    theirs = [t.exp(), t * t, t.sum(dim=0), t.tanh() @ t, -t, t.amax(dim=1, keepdim=True)]
    sum(o.sum() for o in ours).backward()
    sum(o.sum() for o in theirs).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_node_reached_by_paths_of_different_lengths():
    # x feeds mul directly and through tanh: x's gradient must wait for both paths.
    x, t = leaf([0.4, -1.3]), torch.tensor([0.4, -1.3], dtype=torch.float64, requires_grad=True)
    (x * x.tanh()).sum().backward()
    (t * t.tanh()).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_backward_with_explicit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    upstream = np.array([[1.0, 0.0], [0.5, -1.0]])
    (x * x).backward(upstream)
    np.testing.assert_array_equal(x.grad, 2 * x.numpy() * upstream)


def test_backward_errors_name_the_problem():
    x = leaf([1.0, 2.0])
    with pytest.raises(cr.ChainruleError, match=re.escape("output of shape (2,) is not a scalar")):
        (x * 2).backward()
    with pytest.raises(cr.ChainruleError, match=re.escape("gradient of shape (3,) does not match")):
        (x * 2).backward(np.ones(3))


def test_retained_graph_accumulates_as_torch_does():
    values = np.array([0.5, -1.0, 2.0])
    x, t = leaf(values), torch.tensor(values, requires_grad=True)
    y, u = (x.exp() * x).sum(), (t.exp() * t).sum()
    y.backward(retain_graph=True)
    u.backward(retain_graph=True)
    y.backward()
    u.backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
    (x * 3).sum().backward()  # a second graph adds too
    np.testing.assert_allclose(x.grad, t.grad.numpy() + 3, rtol=1e-12)


def test_second_backward_over_a_freed_graph_says_so():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(cr.ChainruleError, match="already freed.*retain_graph=True"):
        y.backward()


def test_intermediates_are_released_after_backward():
    x = leaf(np.ones(3))
    middle = x.exp()
    alive = weakref.ref(middle)
    y = (middle * 2).sum()
    del middle
    y.backward(retain_graph=True)
    gc.collect()
    assert alive() is not None  # kept: retain_graph
    y.backward()
    gc.collect()
    assert alive() is None  # released with the graph


def test_chain_of_100000_ops_has_no_recursion_error():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [1.0])
    del y  # dropping a deep retained graph must not overflow the C stack either


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    middle = (x * 3).retain_grad()
    (middle * middle).sum().backward()
    np.testing.assert_array_equal(middle.grad, 2 * middle.numpy())
    np.testing.assert_array_equal(x.grad, 18 * x.numpy())


def test_leaf_grads_never_alias():
    x = leaf([1.0, 2.0])
    (x + x).sum().backward()
    assert x.grad.flags.writeable and not np.shares_memory(x.grad, x.data)
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    upstream = np.array([1.0, -1.0])
    (a + b).backward(upstream)
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, upstream) and not np.shares_memory(b.grad, upstream)
    a.grad += 10.0  # an optimizer may write into one .grad in place
    np.testing.assert_array_equal(b.grad, upstream)
    c = leaf([5.0, 6.0])
    c.reshape(2, 1).backward(upstream.reshape(2, 1))
    c.backward(upstream)  # a leaf as root: its seed is the caller's array
    upstream[:] = 0.0
    np.testing.assert_array_equal(c.grad, [2.0, -2.0])


def test_scalar_leaf_grad_is_a_writable_array():
    x = leaf(2.0)
    (x * x).backward()
    (x * x).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad.flags.writeable
    assert x.grad == 8.0


def test_inputs_without_requires_grad_get_no_grad():
    x, c = leaf([1.0, 2.0]), cr.tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [3.0, 4.0]


# --- no_grad -------------------------------------------------------------------------------


def test_no_grad_context_manager():
    x = leaf([1.0, 2.0])
    with cr.no_grad():
        y = x * 2
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            z = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_no_grad_decorator_with_and_without_parentheses():
    @cr.no_grad()
    def double(t):
        assert not cr.is_grad_enabled()
        return t * 2

    @cr.no_grad
    def triple(t):
        return t * 3

    x = leaf([1.0])
    assert not double(x).requires_grad and not triple(x).requires_grad
    assert cr.is_grad_enabled()


def test_no_grad_restores_state_after_recursion_and_exceptions():
    @cr.no_grad()
    def countdown(n):
        return 0 if n == 0 else countdown(n - 1)

    countdown(3)
    assert cr.is_grad_enabled()
    with pytest.raises(KeyError), cr.no_grad():
        raise KeyError("boom")
    assert cr.is_grad_enabled()


# --- errors, seeds -------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda a, b: a @ b, "matmul: shapes (32, 64) and (32, 10) are not aligned"),
    (lambda a, b: a + b, "add: shapes (32, 64) and (32, 10): operands could not be broadcast"),
    (lambda a, b: a.reshape(7, 3), "reshape: shape (32, 64): cannot reshape"),
    (lambda a, b: cr.stack([a, b]), "stack: shapes (32, 64) and (32, 10)"),
    (lambda a, b: a.sum(axis=2), "sum: shape (32, 64): axis 2 is out of bounds"),
])
def test_shape_errors_name_op_and_shapes(make, message):
    a, b = leaf(np.ones((32, 64))), leaf(np.ones((32, 10)))
    with pytest.raises(cr.ShapeError, match=re.escape(message)) as caught:
        make(a, b)
    assert isinstance(caught.value, (cr.ChainruleError, ValueError))


def test_index_out_of_range_is_an_index_error():
    with pytest.raises(IndexError, match=re.escape("getitem: shape (3,): index 5 is out of")):
        cr.tensor([1.0, 2.0, 3.0])[5]


def test_manual_seed_reproduces_draws_bit_for_bit():
    cr.manual_seed(42)
    first = generator().standard_normal(5)
    cr.manual_seed(42)
    assert np.array_equal(generator().standard_normal(5), first)
    state = json.loads(json.dumps(get_state()))  # JSON-serialisable, for checkpoints
    after = generator().random(3)
    set_state(state)
    assert np.array_equal(generator().random(3), after)


def test_backward_through_a_subgraph_freed_by_another_root_says_so():
    x = cr.tensor(np.array([0.5, 1.5]), requires_grad=True)
    shared = x.exp()
    shared.sum().backward()
    with pytest.raises(cr.ChainruleError, match="already freed.*retain_graph=True"):
        (shared * 2).sum().backward()
