"""clip_grad_norm / clip_grad_value equal torch.nn.utils' clip_grad_norm_ / clip_grad_value_."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim
from chainrule.optim.clip import NonFiniteGradientWarning, NonFiniteNormError


def pair(grads):
    ours, theirs = [], []
    for g in grads:
        p = cr.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = g.copy()
        q = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        q.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def random_grads(seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=scale, size=s) for s in [(5, 4), (4,), (), (3, 2, 2)]]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = pair(random_grads())
    total = optim.clip_grad_norm(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    np.testing.assert_allclose(total, expected.item(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)
    if max_norm < total:
        clipped = optim.clip_grad_norm(ours, np.inf, norm_type=norm_type)
        np.testing.assert_allclose(clipped, max_norm, rtol=1e-5)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_non_finite_norm_is_reported_and_gradients_kept(bad, norm_type):
    grads = random_grads()
    grads[0][1, 2] = bad
    ours, theirs = pair(grads)
    with pytest.warns(NonFiniteGradientWarning, match="left unchanged"):
        total = optim.clip_grad_norm(ours, 1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type).item()
    assert (np.isnan(total) and np.isnan(expected)) or total == expected
    for p, g in zip(ours, grads):
        np.testing.assert_array_equal(p.grad, g)  # torch would have scaled them into nan
    with pytest.raises(NonFiniteNormError, match="non|nan|inf"):
        optim.clip_grad_norm(ours, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type,
                                       error_if_nonfinite=True)
    assert issubclass(NonFiniteNormError, cr.ChainruleError)


@pytest.mark.parametrize("with_bad", [False, True])
def test_clip_grad_value_matches_torch(with_bad):
    grads = random_grads()
    if with_bad:
        grads[0][0, :3] = [np.inf, -np.inf, np.nan]
    ours, theirs = pair(grads)
    optim.clip_grad_value(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, q.grad.numpy())
    assert max(np.nanmax(np.abs(p.grad)) for p in ours) == 1.5


def test_parameters_without_gradient_are_ignored_and_a_single_tensor_works():
    ours, _ = pair(random_grads())
    ours[1].grad = None
    single = ours[0]
    before = np.linalg.norm(single.grad)
    assert optim.clip_grad_norm(single, 1.0) == pytest.approx(before, rel=1e-12)
    assert np.linalg.norm(single.grad) == pytest.approx(1.0, rel=1e-5)
    assert optim.clip_grad_norm([cr.tensor(np.ones(2), requires_grad=True)], 1.0) == 0.0


def test_float32_gradients_stay_float32_and_match_torch():
    grads = [g.astype(np.float32) for g in random_grads(seed=1)]
    ours = []
    for g in grads:
        p = cr.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = g.copy()
        ours.append(p)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for q, g in zip(theirs, grads):
        q.grad = torch.from_numpy(g.copy())
    total = optim.clip_grad_norm(ours, 2.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 2.0).item()
    np.testing.assert_allclose(total, expected, rtol=1e-6)
    for p, q in zip(ours, theirs):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-6)
