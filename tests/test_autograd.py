"""Higher-order gradients against torch.autograd: grad(create_graph=True), gradient penalties,
Hessian-vector products, backward(create_graph=True), jacobian and hessian.

Each random function is written once and run by both libraries: chainrule's Tensor methods
take torch's names (dim=, keepdim=), so the same body evaluates under either.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RTOL, ATOL = 1e-7, 1e-10


class Lib:
    """What differs between the two libraries in the random functions: module F, tensors."""

    def __init__(self, name):
        self.name = name
        self.F = cr.nn.functional if name == "chainrule" else torch.nn.functional

    def tensor(self, array, requires_grad=False):
        if self.name == "chainrule":
            return cr.tensor(array, requires_grad=requires_grad)
        return torch.tensor(array, requires_grad=requires_grad)

    def labels(self, array):
        return array if self.name == "chainrule" else torch.from_numpy(array)

    def grad(self, *args, **kwargs):
        api = cr.autograd if self.name == "chainrule" else torch.autograd
        return api.grad(*args, **kwargs)


STEPS = {  # elementwise or row-wise steps, kept bounded
    "tanh": lambda L, h: h.tanh(),
    "sigmoid": lambda L, h: h.sigmoid(),
    "relu": lambda L, h: h.relu() + 0.1 * h,
    "exp": lambda L, h: h.tanh().exp(),
    "log": lambda L, h: (h * h + 1.0).log(),
    "sqrt": lambda L, h: (h * h + 0.5).sqrt(),
    "pow": lambda L, h: (h * h + 0.5) ** 1.5 - h**3 * 0.1,
    "div": lambda L, h: h / (h * h + 1.0),
    "softmax": lambda L, h: h.softmax(dim=-1) * 3.0,
    "log_softmax": lambda L, h: h.log_softmax(dim=-1),
    "mean_center": lambda L, h: h - h.mean(dim=-1, keepdim=True),
    "sum_mix": lambda L, h: h * h.sum(dim=0, keepdim=True).tanh(),
    "mul": lambda L, h: h * h.sigmoid(),
}
LOSSES = {
    "sum": lambda L, z, y, labels: (z * z).sum(),
    "mean": lambda L, z, y, labels: z.tanh().mean(),
    "mse": lambda L, z, y, labels: L.F.mse_loss(z, y),
    "cross_entropy": lambda L, z, y, labels: L.F.cross_entropy(z, L.labels(labels)),
    "bce_logits": lambda L, z, y, labels: L.F.binary_cross_entropy_with_logits(z, y.sigmoid()),
}


def random_function(seed):
    rng = np.random.default_rng(seed)
    steps = list(rng.choice(sorted(STEPS), size=int(rng.integers(2, 5))))
    loss = str(rng.choice(sorted(LOSSES)))

    def fn(L, x, w, b, y, labels):
        h = L.F.linear(x, w, b) if seed % 2 else x @ w.T + b
        for step in steps:
            h = STEPS[step](L, h)
        return LOSSES[loss](L, h @ w * 0.5 + x, y, labels)

    return fn, f"{' -> '.join(steps)} -> {loss}"


def draw_inputs(seed):
    rng = np.random.default_rng(100 + seed)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)) * 0.7
    b, y = rng.standard_normal(5), rng.standard_normal((4, 3))
    return [x, w, b, y], rng.integers(0, 3, 4), rng.standard_normal((4, 3))


def penalty_and_hvp(L, fn, arrays, labels, direction):
    """The gradient penalty ‖∂f/∂x‖² differentiated w.r.t. every input, and H·v for x."""
    x, w, b, y = (L.tensor(a, requires_grad=True) for a in arrays)
    value = fn(L, x, w, b, y, labels)
    (gx, gw) = L.grad(value, [x, w], create_graph=True)
    penalty = (gx * gx).sum() + (gw * gw).mean()
    second = L.grad(penalty, [x, w, b, y], retain_graph=True, allow_unused=True)
    (hvp,) = L.grad(gx, x, grad_outputs=L.tensor(direction))
    return [value, gx, gw, *second, hvp]


@pytest.mark.parametrize("seed", range(20))
def test_second_derivatives_of_random_functions_match_torch(seed):
    fn, description = random_function(seed)
    arrays, labels, direction = draw_inputs(seed)
    ours = penalty_and_hvp(Lib("chainrule"), fn, arrays, labels, direction)
    theirs = penalty_and_hvp(Lib("torch"), fn, arrays, labels, direction)
    names = ["value", "dx", "dw", "penalty dx", "penalty dw", "penalty db", "penalty dy", "Hv"]
    for name, mine, reference in zip(names, ours, theirs):
        if reference is None:  # y when the loss does not read it
            assert mine is None, f"{description}: {name} should be None"
            continue
        np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{description}: {name}")


HESSIAN_FUNCTIONS = {
    "tanh-mlp": (lambda t: (t.tanh() @ t.reshape(3, 1)).sum() * t.sigmoid().sum(), (3,)),
    "softmax-logsumexp": (lambda t: t.log_softmax(dim=-1)[..., 0].sum() + t.exp().mean(), (2, 3)),
    "pow-div": (lambda t: ((t * t + 1.0) ** 0.5 / (t.sigmoid() + 1.0)).sum(), (4,)),
}


@pytest.mark.parametrize("name", sorted(HESSIAN_FUNCTIONS))
def test_hessian_matches_torch_functional(name):
    fn, shape = HESSIAN_FUNCTIONS[name]
    x = np.random.default_rng(1).standard_normal(shape)
    ours = cr.autograd.functional.hessian(fn, cr.tensor(x))
    theirs = torch.autograd.functional.hessian(fn, torch.tensor(x))
    assert ours.shape == tuple(theirs.shape) == shape + shape
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=RTOL, atol=ATOL)


def test_jacobian_matches_torch_functional():
    def fn(a, b):
        return (a[:, None] * b).tanh().softmax(dim=0)

    a, b = np.random.default_rng(2).standard_normal((2, 3))
    ours = cr.autograd.functional.jacobian(fn, (cr.tensor(a), cr.tensor(b)))
    theirs = torch.autograd.functional.jacobian(fn, (torch.tensor(a), torch.tensor(b)))
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.data, reference.numpy(), rtol=RTOL, atol=ATOL)


def test_backward_create_graph_leaves_a_differentiable_grad():
    data = np.array([0.5, -1.0, 2.0])
    x = cr.tensor(data, requires_grad=True)
    (x.tanh() * x).sum().backward(create_graph=True)
    assert isinstance(x.grad, cr.Tensor) and x.grad.requires_grad
    first = x.grad
    x.grad = None
    (first * first).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (t.tanh() * t).sum().backward(create_graph=True)
    first_t = t.grad
    t.grad = None
    (first_t * first_t).sum().backward()
    np.testing.assert_allclose(first.data, first_t.detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=RTOL)


def test_grad_leaves_dot_grad_alone_and_matches_backward():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x * x).sum()
    (g,) = cr.autograd.grad(y, x, retain_graph=True)
    assert x.grad is None and not g.requires_grad
    y.backward()
    np.testing.assert_allclose(g.data, x.grad)


def test_grad_refuses_an_unused_input_unless_allowed():
    x = cr.tensor(np.ones(2), requires_grad=True)
    unused = cr.tensor(np.ones(2), requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(cr.ChainruleError, match="allow_unused"):
        cr.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = cr.autograd.grad(y, [x, unused], allow_unused=True)
    assert gu is None and np.allclose(gx.data, 2.0)


def test_grad_of_a_non_scalar_needs_grad_outputs():
    x = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(cr.ChainruleError, match="not a scalar"):
        cr.autograd.grad(x * 2, x)


def test_create_graph_through_an_op_without_graph_vjp_says_so():
    x = cr.tensor(np.ones((1, 2, 5)), requires_grad=True)
    w = cr.tensor(np.ones((3, 2, 2)))
    y = cr.nn.functional.conv1d(x, w).sum()
    with pytest.raises(cr.ChainruleError, match="conv_gemm has no differentiable VJP"):
        cr.autograd.grad(y, x, create_graph=True)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_and_bce_second_derivatives_match_torch(approximate):
    rng = np.random.default_rng(4)
    x0, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    p0, y = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))

    def ours():
        x, p = cr.tensor(x0, requires_grad=True), cr.tensor(p0, requires_grad=True)
        f = (cr.nn.functional.gelu(x, approximate=approximate) ** 2).sum()
        f = f + cr.nn.functional.binary_cross_entropy(p, y, reduction="sum")
        gx, gp = cr.autograd.grad(f, [x, p], create_graph=True)
        return cr.autograd.grad((gx * v).sum() + (gp * v).sum(), [x, p])

    def theirs():
        x = torch.tensor(x0, requires_grad=True)
        p = torch.tensor(p0, requires_grad=True)
        f = (torch.nn.functional.gelu(x, approximate=approximate) ** 2).sum()
        f = f + torch.nn.functional.binary_cross_entropy(p, torch.tensor(y), reduction="sum")
        gx, gp = torch.autograd.grad(f, [x, p], create_graph=True)
        return torch.autograd.grad((gx * torch.tensor(v)).sum() + (gp * torch.tensor(v)).sum(),
                                   [x, p])

    for a, b in zip(ours(), theirs()):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-9, atol=1e-12)


def test_an_optimizer_steps_after_backward_create_graph_as_torch():
    data = np.array([[0.5, -1.0], [2.0, 0.3]])
    results = []
    for lib in (cr, torch):
        w = lib.nn.Parameter(lib.tensor(data))
        opt = lib.optim.SGD([w], lr=0.1)
        loss = (w.tanh() * w).sum()
        loss.backward(create_graph=True)
        opt.step()
        results.append(w.detach().numpy() if lib is torch else w.data.copy())
    np.testing.assert_allclose(*results, rtol=1e-12)
