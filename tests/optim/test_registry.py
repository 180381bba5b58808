"""chainrule.optim.registry: every short name builds torch.optim's optimizer with the same
arguments (same trajectory), every chainrule optimizer class has a short name, and the facts
the CLI asks (default learning rate, momentum) come from it."""

import inspect

import numpy as np
import pytest
import torch
from optim_oracle import cr_loss, cr_params, make_problem, torch_params

from chainrule import optim
from chainrule.optim import registry
from chainrule.optim.optimizer import OptimizerError


@pytest.mark.parametrize("name", list(registry.OPTIMIZERS))
def test_each_name_is_torch_optims_optimizer_with_its_defaults(name):
    kind = registry.OPTIMIZERS[name]
    X, y, weights = make_problem()
    ours, theirs = cr_params(weights), torch_params(weights)
    opt = registry.make_optimizer(name, ours, lr=0.01)
    ref = getattr(torch.optim, kind.class_name)(theirs, lr=0.01, **kind.defaults)
    assert type(opt) is getattr(optim, kind.class_name)
    for _ in range(20):
        opt.zero_grad()
        cr_loss(ours, X, y, 1.0).backward()
        ref.zero_grad()
        for p, q in zip(ours, theirs):
            q.grad = torch.from_numpy(p.grad.copy())
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_every_optimizer_class_has_a_short_name():
    classes = {
        c
        for c in vars(optim).values()
        if inspect.isclass(c) and issubclass(c, optim.Optimizer) and c is not optim.Optimizer
    }
    named = {registry.optimizer_class(name) for name in registry.OPTIMIZERS}
    assert classes == named


def test_class_names_and_overrides():
    _, _, weights = make_problem()
    opt = registry.make_optimizer("Adam", cr_params(weights), lr=0.5, betas=(0.5, 0.6))
    assert type(opt) is optim.Adam and opt.param_groups[0]["betas"] == (0.5, 0.6)
    nesterov = registry.make_optimizer("nesterov", cr_params(weights), 0.1, momentum=0.5)
    group = nesterov.param_groups[0]
    assert group["momentum"] == 0.5 and group["nesterov"] is True
    assert registry.default_lr("Adagrad") == 1e-2  # the class's own default
    assert registry.default_lr("sgd") == 0.1


def test_momentum_is_known_per_optimizer():
    assert [n for n in registry.OPTIMIZERS if registry.takes_momentum(n)] == [
        "sgd",
        "momentum",
        "nesterov",
        "rmsprop",
    ]


@pytest.mark.parametrize("name", ["lbfgs", "Optimizer", "optim", 3])
def test_unknown_names_are_refused(name):
    with pytest.raises(OptimizerError, match="unknown optimizer"):
        registry.optimizer_class(name)
