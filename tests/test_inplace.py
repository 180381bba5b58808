"""In-place updates with torch's rules, side by side with torch: values, errors, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

UPDATES = {  # the same statement in both libraries
    "sub_ with alpha": lambda t, o: t.sub_(o, alpha=0.5),
    "add_": lambda t, o: t.add_(o),
    "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o + 3.0),
    "clamp_": lambda t, o: t.clamp_(-0.3, 0.4),
    "copy_": lambda t, o: t.copy_(o),
    "fill_": lambda t, o: t.fill_(1.5),
    "zero_": lambda t, o: t.zero_(),
    "setitem row": lambda t, o: t.__setitem__(1, o[0]),
    "setitem scalar": lambda t, o: t.__setitem__((0, 2), 5.0),
    "setitem mask": lambda t, o: t.__setitem__(t > 0, 0.0),
}


def _iadd(t, o):
    t += o
    return t


def _isub(t, o):
    t -= o * 0.1
    return t


def _imul(t, o):
    t *= o
    return t


def _idiv(t, o):
    t /= 2.0
    return t


UPDATES.update({"+=": _iadd, "-=": _isub, "*=": _imul, "/=": _idiv})


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_update_under_no_grad_changes_the_parameter_itself(name):
    rng = np.random.default_rng(0)
    data, other = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    ours, theirs = cr.tensor(data.copy(), requires_grad=True), torch.tensor(data.copy(),
                                                                            requires_grad=True)
    buffer = ours.data
    with cr.no_grad():
        result = UPDATES[name](ours, cr.tensor(other))
    with torch.no_grad():
        UPDATES[name](theirs, torch.tensor(other))
    assert result is ours and ours.data is buffer  # the same tensor, the same memory
    assert ours.requires_grad and ours.is_leaf
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)


def test_sgd_loop_from_a_torch_tutorial_trains():
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 1)
    x = cr.tensor(np.random.default_rng(1).standard_normal((32, 3)))
    y = x @ cr.tensor(np.array([[1.0], [-2.0], [0.5]]))
    first = None
    for _ in range(50):
        loss = cr.nn.functional.mse_loss(model(x.astype(np.float32)), y.astype(np.float32))
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert loss.item() < 0.01 * first


def test_leaf_that_requires_grad_refuses_outside_no_grad_as_torch():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w = torch.ones(3, requires_grad=True)
        w += 1
    w = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(cr.ChainruleError, match="leaf tensor that requires grad.*no_grad"):
        w += 1
    with pytest.raises(cr.ChainruleError, match="leaf tensor"):
        w[0] = 2.0
    np.testing.assert_array_equal(w.data, np.ones(3))


def test_changing_a_saved_tensor_before_backward_is_refused_as_torch():
    w = torch.ones(3, requires_grad=True)
    y = (w * w).sum()
    with torch.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    w = cr.tensor(np.ones(3), requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        w.mul_(2)
    with pytest.raises(cr.ChainruleError, match="modified by an in-place operation"):
        y.backward()


def test_changing_an_output_its_own_vjp_reads_is_refused():
    w = cr.tensor(np.ones(3), requires_grad=True)
    e = w.exp()  # exp's VJP reads its output
    with cr.no_grad():
        e.add_(1)
    with pytest.raises(cr.ChainruleError, match="output of exp"):
        e.backward(np.ones(3))


def test_in_place_on_a_non_leaf_is_recorded_as_torch():
    data = np.array([0.3, -1.2, 2.0])
    results = []
    for lib in (cr, torch):
        w = lib.tensor(data, requires_grad=True)
        h = w * 2
        h += w.tanh()
        h *= w
        h[1] = w[0] * 3
        h.sum().backward()
        results.append((h.detach().numpy() if lib is torch else h.data, np.asarray(w.grad)))
    for mine, reference in zip(*results):
        np.testing.assert_allclose(mine, reference, rtol=1e-12)


def test_accumulating_into_a_plain_tensor_records_as_torch():
    data = np.array([0.5, 1.5])
    grads = []
    for lib in (cr, torch):
        w = lib.tensor(data, requires_grad=True)
        total = lib.zeros(2, dtype=lib.float64)
        for k in range(3):
            total += w * k
        total.sum().backward()
        grads.append(np.asarray(w.grad))
    np.testing.assert_allclose(*grads)


def test_in_place_refuses_a_dtype_or_shape_that_does_not_fit():
    labels = cr.tensor(np.array([1, 2, 3]))
    with pytest.raises(cr.DtypeError, match="int64"):
        labels += 0.5
    x = cr.zeros(3)
    with pytest.raises(cr.ShapeError, match=r"\(2, 3\).*\(3,\)"):
        x.add_(cr.ones(2, 3))


def test_views_share_memory_as_torch():
    x = cr.zeros(2, 3)
    row = x[0]
    row.fill_(4.0)  # basic indexing is a view, as in torch
    np.testing.assert_array_equal(x.data[0], [4.0, 4.0, 4.0])


def test_every_change_stamps_a_newer_version():
    x = cr.zeros(3)
    stamps = [x._version]
    x.add_(1)
    stamps.append(x._version)
    x[0] = 2
    stamps.append(x._version)
    assert stamps == sorted(set(stamps))


def test_changes_before_use_and_after_backward_are_fine():
    w = cr.tensor(np.ones(3), requires_grad=True)
    with cr.no_grad():
        w.mul_(2)  # before the graph uses it
    y = (w * w).sum()
    y.backward()
    with cr.no_grad():
        w.sub_(0.5 * cr.tensor(w.grad))  # after backward
    np.testing.assert_allclose(w.grad, [4.0, 4.0, 4.0])
    np.testing.assert_allclose(w.data, [0.0, 0.0, 0.0])


def test_a_refused_recorded_change_leaves_the_graph_usable():
    w = cr.tensor(np.ones(3), requires_grad=True)
    h = w * 2
    y = (h * h).sum()
    with pytest.raises(cr.ShapeError):
        h += cr.ones(2, 3, dtype=cr.float64)  # does not fit: h is left as it was
    y.backward()
    np.testing.assert_allclose(w.grad, [8.0, 8.0, 8.0])
