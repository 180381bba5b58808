"""Helpers for comparing chainrule.nn with torch.nn on identical float64 weights and inputs."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

import chainrule as cr
from chainrule import nn

RTOL, ATOL = 1e-7, 1e-12


def assert_close(actual, expected, what):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), f"{what}: shape {actual.shape}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def copy_weights(model, torch_model):
    """Load chainrule's state dict into the torch model (torch names), in float64."""
    torch_model.double()
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def run_both(model, torch_model, x, upstream_seed=0):
    """Forward and backward (one random upstream gradient) through both; returns the pairs."""
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, out_t = model(xc), torch_model(xt)
    upstream = np.random.default_rng(upstream_seed).standard_normal(out.shape)
    out.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    return out, out_t, xc, xt


def assert_same_as_torch(model, torch_model, x, upstream_seed=0, what=""):
    """Outputs, input gradient and every parameter gradient equal torch's."""
    model.zero_grad()
    torch_model.zero_grad()
    out, out_t, xc, xt = run_both(model, torch_model, x, upstream_seed)
    assert_close(out.data, out_t, f"{what} output")
    assert_close(xc.grad, xt.grad, f"{what} input gradient")
    torch_params = dict(torch_model.named_parameters())
    assert [n for n, _ in model.named_parameters()] == list(torch_params)
    for name, param in model.named_parameters():
        assert_close(param.grad, torch_params[name].grad, f"{what} gradient of {name}")


@contextlib.contextmanager
def swapped_parameters(model, tensors):
    """Run the model with its parameters replaced by `tensors` (so gradcheck can vary them)."""
    slots = [(module, name) for module in model.modules()
             for name, value in vars(module).items() if isinstance(value, nn.Parameter)]
    saved = [vars(module)[name] for module, name in slots]
    try:
        for (module, name), tensor in zip(slots, tensors):
            vars(module)[name] = tensor
        yield
    finally:
        for (module, name), value in zip(slots, saved):
            vars(module)[name] = value


def gradcheck_module(model, x, reseed=None):
    """cr.gradcheck over the input and every parameter of a float64 model."""
    params = [p.data for p in model.parameters()]

    def fn(x, *tensors):
        if reseed is not None:
            cr.manual_seed(reseed)
        with swapped_parameters(model, tensors):
            return model(x)

    return cr.gradcheck(fn, x, *params)
