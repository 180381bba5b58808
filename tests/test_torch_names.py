"""PyTorch's names on Tensor and cr: composites (values and gradients) against torch, dim/axis
and keepdim/keepdims as one argument, size(), creation functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

X = np.random.default_rng(0).standard_normal((3, 4))
LABELS = np.array([[0, 3, 1, 1], [2, 2, 0, 3], [1, 0, 0, 2]])

# name -> (fn, torch_fn or None when the same body serves both)
SAME_BODY = {
    "sum dim keepdim": lambda t: t.sum(dim=1, keepdim=True),
    "mean dim": lambda t: t.mean(dim=0),
    "softmax dim": lambda t: t.softmax(dim=0),
    "std": lambda t: t.std(dim=1, correction=1),
    "std correction=0": lambda t: t.std(dim=0, correction=0),
    "var correction=1": lambda t: t.var(correction=1),
    "norm": lambda t: t.norm(),
    "norm p=1 dim": lambda t: t.norm(p=1, dim=1),
    "norm p=3 dim keepdim": lambda t: t.norm(p=3, dim=0, keepdim=True),
    "sort values": lambda t: t.sort(dim=1).values * 1.5,
    "sort descending": lambda t: t.sort(dim=0, descending=True)[0],
    "topk": lambda t: t.topk(2, dim=1).values,
    "topk smallest": lambda t: t.topk(2, dim=0, largest=False)[0],
    "split sizes": lambda t: t.split([1, 3], dim=1)[1] * 2,
    "split size": lambda t: t.split(3, dim=1)[1] * 2,
    "chunk": lambda t: t.chunk(2, dim=0)[1].exp(),
    "expand": lambda t: t[:, :1].expand(3, 5) * t.sum(),
    "expand -1": lambda t: t[None].expand(2, -1, -1).tanh(),
    "repeat": lambda t: t.repeat(2, 3).tanh(),
    "repeat 3-d": lambda t: t.repeat(2, 1, 2).sigmoid(),
    "clamp": lambda t: t.clamp(-0.5, 0.5) * 2,
    "clamp min": lambda t: t.clamp(min=0.1),
    "unsqueeze squeeze": lambda t: t.unsqueeze(1).unsqueeze(-1).squeeze(-1).squeeze(1) ** 2,
    "squeeze dim": lambda t: t[:1].squeeze(0) * 2,
    "view": lambda t: t.view(2, 6).tanh(),
    "view tuple": lambda t: t.view((4, 3)).tanh(),
    "permute": lambda t: t[None].permute(2, 0, 1).exp(),
    "flatten": lambda t: t[None].flatten(1) * 3,
    "flatten all": lambda t: t.flatten().sigmoid(),
    "transpose two axes": lambda t: t.transpose(0, 1) @ t,
    "clone": lambda t: t.clone() * t,
    "logsumexp": lambda t: t.logsumexp(dim=1),
    "cumsum": lambda t: t.cumsum(dim=1),
    "amax": lambda t: t.amax(dim=1),
}
DIFFERENT_BODY = {
    "masked_fill": (lambda t: t.masked_fill(t > 0.3, -1.0) * t,
                    lambda t: t.masked_fill(t > 0.3, -1.0) * t),
    "gather": (lambda t: t.gather(1, LABELS[:, :2]),
               lambda t: t.gather(1, torch.from_numpy(LABELS[:, :2]))),
    "cat": (lambda t: cr.cat([t, t * 2], dim=1), lambda t: torch.cat([t, t * 2], dim=1)),
    "stack": (lambda t: cr.stack([t, t.exp()], dim=-1), lambda t: torch.stack([t, t.exp()], -1)),
    "einsum": (lambda t: cr.einsum("ij,kj->ik", t, t), lambda t: torch.einsum("ij,kj->ik", t, t)),
}


def _run(lib, fn, x):
    t = lib.tensor(x.copy(), requires_grad=True)
    out = fn(t)
    out.backward(lib.tensor(np.cos(np.arange(np.prod(out.shape))).reshape(tuple(out.shape))))
    value = out.detach().numpy() if lib is torch else out.data
    return value, np.asarray(t.grad)


@pytest.mark.parametrize("name", sorted(SAME_BODY) + sorted(DIFFERENT_BODY))
def test_composite_matches_torch(name):
    fn, torch_fn = DIFFERENT_BODY.get(name, (SAME_BODY.get(name),) * 2)
    value, grad = _run(cr, fn, X)
    expected_value, expected_grad = _run(torch, torch_fn, X)
    np.testing.assert_allclose(value, expected_value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_picking_functions_return_torch_indices():
    for fn in (lambda t: t.argmax(dim=1), lambda t: t.argmin(dim=0, keepdim=True),
               lambda t: t.argmax(), lambda t: t.sort(dim=1)[1], lambda t: t.topk(3)[1]):
        ours, theirs = fn(cr.tensor(X)), fn(torch.tensor(X))
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_dim_and_axis_are_one_argument():
    t = cr.tensor(X)
    np.testing.assert_array_equal(t.sum(dim=0, keepdim=True).data,
                                  t.sum(axis=0, keepdims=True).data)
    with pytest.raises(TypeError, match="both dim= and axis="):
        t.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="both correction= and ddof="):
        t.var(correction=1, ddof=1)


def test_size_is_numpy_and_torch_alike():
    t = cr.tensor(X)
    assert t.size == 12 and t.numel() == 12 and t.dim() == 2  # NumPy's .size, torch's numel()
    assert t.size() == (3, 4) == tuple(torch.tensor(X).size())
    assert t.size(0) == 3 and t.size(-1) == 4


def test_var_default_is_numpy_population_variance():
    np.testing.assert_allclose(cr.tensor(X).var().data, X.var())
    np.testing.assert_allclose(cr.tensor(X).std(ddof=1).data, X.std(ddof=1))


def test_creation_functions_as_torch():
    assert cr.zeros(2, 3).dtype == np.float32 and cr.ones((2, 3)).shape == (2, 3)
    assert cr.zeros(2, dtype=cr.float64, requires_grad=True).requires_grad
    assert cr.arange(5).dtype == np.int64 and cr.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_array_equal(cr.arange(2, 9, 3).data, torch.arange(2, 9, 3).numpy())
    cr.manual_seed(3)
    first = cr.randn(4, 2)
    cr.manual_seed(3)
    assert first.shape == (4, 2) and np.array_equal(first.data, cr.randn(4, 2).data)
    array = np.arange(3.0)
    shared = cr.from_numpy(array)
    array[0] = 7.0
    assert shared.data[0] == 7.0 and shared.dtype == np.float64  # shares memory, as torch
    with pytest.raises(TypeError, match="numpy.ndarray"):
        cr.from_numpy([1.0])


def test_split_and_topk_refuse_bad_sizes():
    t = cr.tensor(X)
    with pytest.raises(cr.ShapeError, match="do not add up to 4"):
        t.split([1, 2], dim=1)
    with pytest.raises(cr.ShapeError, match="k=5"):
        t.topk(5)
