"""The nn pieces a PyTorch user reaches for on day one, against torch.nn (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_oracle import assert_close, assert_same_as_torch, gradcheck_module

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

TF = torch.nn.functional


def normal(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


ACTIVATIONS = [
    (nn.SiLU(), torch.nn.SiLU()), (nn.Mish(), torch.nn.Mish()), (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.Softplus(), torch.nn.Softplus()),
    (nn.Softplus(beta=2.0, threshold=3.0), torch.nn.Softplus(beta=2.0, threshold=3.0)),
]


@pytest.mark.parametrize("layer, reference", ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_matches_torch_and_gradcheck(layer, reference):
    x = normal((4, 3, 2), scale=3.0)
    x[np.abs(x * 2 - 3.0) < 0.1] = 0.7  # away from Softplus(beta=2, threshold=3)'s switch
    assert_same_as_torch(layer, reference, x, what=repr(layer))
    assert gradcheck_module(layer, normal((3, 2, 2), seed=1) + 0.05)


def test_activations_at_large_inputs_stay_finite_as_torch():
    x = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    for ours, theirs in [(F.elu, TF.elu), (F.softplus, TF.softplus), (F.mish, TF.mish),
                         (F.silu, TF.silu)]:
        assert_close(ours(cr.tensor(x)).data, theirs(torch.tensor(x)), ours.__name__)


def _compare_loss(ours, theirs, inputs, grad_of):
    mine = [cr.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(inputs)]
    ref = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(inputs)]
    out, out_t = ours(*mine), theirs(*ref)
    assert_close(out.data, out_t, "loss")
    out.sum().backward()
    out_t.sum().backward()
    for i in grad_of:
        assert_close(mine[i].grad, ref[i].grad, f"gradient of input {i}")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss(reduction, beta):
    x, y = normal((4, 3)), normal((4, 3), seed=1)
    _compare_loss(lambda a, b: F.smooth_l1_loss(a, b, reduction, beta),
                  lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                  [x, y], grad_of=(0, 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    log_p = np.log(np.random.default_rng(0).dirichlet(np.ones(4), 3))
    q = np.random.default_rng(1).dirichlet(np.ones(4), 3)
    q[0, 1] = 0.0  # a zero target contributes nothing
    target = np.log(q + 1e-3) if log_target else q
    _compare_loss(lambda a, b: nn.KLDivLoss(reduction, log_target)(a, b),
                  lambda a, b: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b),
                  [log_p, target], grad_of=(0,))


def test_loss_modules_and_gradcheck():
    x, y = normal((3, 4)), normal((3, 4), seed=2)
    assert cr.gradcheck(lambda a, b: nn.SmoothL1Loss(beta=0.7)(a, b), x, y)
    q = np.random.default_rng(3).dirichlet(np.ones(4), 3)
    assert cr.gradcheck(lambda a, b: F.kl_div(a, b, "batchmean"), x, q)


def test_pad_normalize_one_hot_match_torch():
    x = normal((2, 3, 4))
    for pad in [(1, 2), (0, 1, 2, 0), (1, 1, 0, 2, 1, 0)]:
        _compare_loss(lambda a, p=pad: F.pad(a, p, value=0.25),
                      lambda a, p=pad: TF.pad(a, p, value=0.25), [x], grad_of=(0,))
    for p, dim in [(2.0, 1), (1.0, -1), (3.0, 0)]:
        _compare_loss(lambda a, p=p, d=dim: F.normalize(a, p=p, dim=d),
                      lambda a, p=p, d=dim: TF.normalize(a, p=p, dim=d), [x], grad_of=(0,))
    labels = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(labels, 5).data,
                                  TF.one_hot(torch.from_numpy(labels), 5).numpy())
    np.testing.assert_array_equal(F.one_hot(cr.tensor(labels)).data,
                                  TF.one_hot(torch.from_numpy(labels)).numpy())
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(labels, 3)
    with pytest.raises(ValueError, match="mode='constant'"):
        F.pad(cr.tensor(x), (1, 1), mode="reflect")


def test_linear_refuses_another_dtype_as_torch():
    with pytest.raises(RuntimeError, match="dtype"):
        torch.nn.Linear(3, 2)(torch.ones(4, 3, dtype=torch.float64))
    with pytest.raises(cr.DtypeError, match="float64.*float32"):
        nn.Linear(3, 2)(cr.tensor(np.ones((4, 3))))
    out = nn.Linear(3, 2).double()(cr.tensor(np.ones((4, 3))))
    assert out.dtype == np.float64


def test_module_methods_as_torch():
    model, reference = nn.Sequential(nn.Linear(2, 3)), torch.nn.Sequential(torch.nn.Linear(2, 3))
    for m in (model, reference):
        m.add_module("head", (nn if m is model else torch.nn).Linear(3, 1))
        m.register_parameter("scale", (nn if m is model else torch.nn).Parameter(
            (cr if m is model else torch).ones(1)))
    names = [n for n, _ in model.named_parameters()]
    assert names == [n for n, _ in reference.named_parameters()]
    assert model.get_submodule("head") is model.head
    with pytest.raises(AttributeError, match="no sub-module 'tail'"):
        model.get_submodule("tail")
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Sequential"]  # children first, as torch
    with pytest.raises(TypeError, match="not a Parameter"):
        model.register_parameter("w", cr.ones(2))


def test_module_dict_and_parameter_list_name_parameters_as_torch():
    ours = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    theirs = torch.nn.ModuleDict({"enc": torch.nn.Linear(2, 3), "dec": torch.nn.Linear(3, 2)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours) == ["enc", "dec"] and "enc" in ours and len(ours) == 2
    del ours["enc"]
    assert ours.keys() == ["dec"] and [n for n, _ in ours.named_parameters()] == [
        "dec.weight", "dec.bias"]
    with pytest.raises(KeyError, match="no key 'enc'"):
        ours["enc"]
    plist = nn.ParameterList([np.ones(2), nn.Parameter(np.zeros(3))])
    tlist = torch.nn.ParameterList([torch.ones(2), torch.nn.Parameter(torch.zeros(3))])
    assert list(plist.state_dict()) == list(tlist.state_dict())
    assert all(p.requires_grad for p in plist) and plist[-1].shape == (3,)
    with pytest.raises(cr.nn.SpecError):
        nn.to_spec(ours)  # not describable in a model file; save its state dict


def test_clip_grad_norm_underscore_matches_torch():
    grads = [normal((3, 2), seed=4) * 5, normal(4, seed=5)]
    params = [nn.Parameter(np.zeros_like(g)) for g in grads]
    tparams = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, t, g in zip(params, tparams, grads):
        p.grad, t.grad = g.copy(), torch.tensor(g)
    norm = nn.utils.clip_grad_norm_(params, 1.0)
    norm_t = torch.nn.utils.clip_grad_norm_(tparams, 1.0)
    assert_close(norm.data, norm_t, "total norm")
    for p, t in zip(params, tparams):
        assert_close(p.grad, t.grad, "clipped gradient")


def test_cross_entropy_names_float_labels_by_their_dtype():
    logits = cr.tensor(normal((4, 3)))
    with pytest.raises(RuntimeError):  # torch refuses too (it expects Long labels)
        TF.cross_entropy(torch.tensor(normal((4, 3))), torch.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(nn.LossError, match="dtype float64 looks like class labels.*integers"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("bias_shape", [(3,), (1, 3), (2, 3)])
def test_functional_linear_takes_any_bias_that_broadcasts_as_torch(bias_shape):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((2, 4), (3, 4), bias_shape)]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = F.linear(*ours), torch.nn.functional.linear(*theirs)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-12)
