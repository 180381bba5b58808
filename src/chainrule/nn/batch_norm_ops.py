"""Batch normalization in training as one primitive: forward and VJP side by side.

NOTE: fused rather than composed from mean, subtract, multiply, sqrt, divide and the affine
ops (about ten calls forward and ten back per layer): on a medium MLP those calls cost as
much as the layer's matrix product. The forward makes the same calls in the same order as
the composition did, so its values are unchanged; the VJP is the closed form
dx = (γ/σ)·(g − mean(g) − x̂·mean(g·x̂)) over each channel. For a C-contiguous (N, C)
input both run as compiled loops when chainrule.native is built (the same operations in the
same order: bit-identical), else as the NumPy calls below.
"""

from __future__ import annotations

from .. import native
from ..engine.backend import xp
from ..engine.ops import sqrt
from ..engine.primitive import on, primitive
from .state_ops import count_batch, running_update

_ndarray = xp.ndarray


def _statistics(x, eps):
    """Per channel (axis 1): the axes reduced, the broadcast shape, μ, x − μ and σ²."""
    axes = (0, *range(2, x.ndim))
    shape = (-1, *(1,) * (x.ndim - 2))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return axes, shape, mean, centered, var


@primitive
def batch_norm_train(
    x,
    weight=None,
    bias=None,
    running_mean=None,
    running_var=None,
    counter=None,
    momentum=0.1,
    eps=1e-5,
):
    """γ·(x − μ)/√(σ² + eps) + β with each channel's batch mean μ and biased variance σ²;
    the running statistics (and the batch counter) are updated in place, as BatchNorm does."""
    return train_forward(x, weight, bias, running_mean, running_var, counter, momentum, eps)


def train_forward(
    x,
    weight,
    bias,
    running_mean,
    running_var,
    counter,
    momentum,
    eps,
    relu=False,
    into=None,
    add=None,
):
    """batch_norm_train's forward, with what the fused road's kernel adds: relu=True applies
    ReLU's max(·, 0) (in the same pass when compiled), for a BatchNorm1d followed by ReLU;
    `add`, the bias of the Linear before it, is added to x in place first (by the compiled
    loop in the pass that sums x); `into` holds the compiled loop's buffers: (out like x,
    (2, 1, C) for μ and σ²)."""
    compiled = _native_forward(x, weight, bias, eps, relu, into, add)
    if compiled is None:
        if add is not None:
            xp.add(x, add, out=x)
        _axes, shape, mean, centered, var = _statistics(x, eps)
    else:
        out, mean, var = compiled
    count = x.size // x.shape[1]
    if counter is not None:
        count_batch.forward(counter)
    if running_mean is not None:
        _update_running(running_mean, mean, counter, momentum, 1.0)
    if running_var is not None:
        _update_running(running_var, var, counter, momentum, count / (count - 1))
    if compiled is not None:
        return out
    out = centered / xp.sqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return xp.maximum(out, 0, out=out) if relu else out


@batch_norm_train.vjp
@batch_norm_train.graph_vjp
def _(
    g,
    out,
    x,
    weight=None,
    bias=None,
    running_mean=None,
    running_var=None,
    counter=None,
    momentum=0.1,
    eps=1e-5,
    needs=(True,) * 6,
):
    compiled = _native_vjp(g, x, weight, bias, eps, needs)
    if compiled is not None:
        return compiled
    axes, shape, _, centered, var = _statistics(x, eps)
    inverse = 1.0 / on(sqrt, var + eps)
    normalized = centered * inverse
    gw = (g * normalized).sum(axis=axes) if weight is not None and needs[1] else None
    gb = g.sum(axis=axes) if bias is not None and needs[2] else None
    gx = None
    if needs[0]:
        g_hat = g if weight is None else g * weight.reshape(shape)
        gx = inverse * (
            g_hat
            - g_hat.mean(axis=axes, keepdims=True)
            - normalized * (g_hat * normalized).mean(axis=axes, keepdims=True)
        )
    return gx, gw, gb, None, None, None


def _update_running(running, batch, counter, momentum, correction):
    """state_ops.running_update, by the compiled loop where it takes the arrays."""
    factor = 1.0 / float(counter) if momentum is None else momentum
    arrays = type(running) is _ndarray and type(batch) is _ndarray
    if not (arrays and native.running_update(running, batch, factor, correction)):
        running_update.forward(running, batch, counter, momentum=momentum, correction=correction)


def _takes(*arrays):
    """Whether the compiled loops may be tried: arrays (not a graph VJP's Tensors) of shape
    (N, C) and the extension built (they still decline what else they cannot take)."""
    return native.available() and all(type(a) is _ndarray and a.ndim == 2 for a in arrays)


def _native_forward(x, weight, bias, eps, relu, into=None, add=None):
    """(out, μ, σ²) by the compiled loop, or None."""
    if not _takes(x):
        return None
    out, statistics = (
        (xp.empty_like(x), xp.empty((2, 1, x.shape[1]), x.dtype)) if into is None else into
    )
    mean, var = statistics
    if not native.batch_norm_forward(out, mean, var, x, weight, bias, eps, relu, add):
        return None
    return out, mean, var


def _native_vjp(g, x, weight, bias, eps, needs):
    """The VJP's gradients by the compiled loop, or None."""
    if not _takes(g, x):
        return None
    width = x.shape[1]
    gx = xp.empty_like(x) if needs[0] else None
    gw = xp.empty(width, x.dtype) if weight is not None and needs[1] else None
    gb = xp.empty(width, x.dtype) if bias is not None and needs[2] else None
    if not native.batch_norm_backward(gx, gw, gb, g, x, weight, eps):
        return None
    return gx, gw, gb, None, None, None


def train_backward(g, out, arguments, momentum, eps, into, gx_sum=None, statistics=None):
    """batch_norm_train's VJP for the fused road's kernel: the gradients of x, weight and
    bias (`arguments` are the primitive's six) written into `into` = (gx, gw, gb), each an
    array or None when not wanted, and gx.sum(axis=0) into gx_sum when given (the bias
    gradient of the Linear before, as its VJP sums it); returns gx. The compiled loop writes
    them all in place, with `statistics`, the compiled forward's (μ, σ²) of this x, if given."""
    x, weight = arguments[:2]
    gx, gw, gb = into
    mean, var = (None, None) if statistics is None else statistics
    if _takes(g, x) and native.batch_norm_backward(
        gx, gw, gb, g, x, weight, eps, gx_sum, mean, var
    ):
        return gx
    needs = (gx is not None, gw is not None, gb is not None, False, False, False)
    grads = batch_norm_train._vjp(g, out, *arguments, momentum=momentum, eps=eps, needs=needs)
    for destination, grad in zip(into, grads):
        if destination is not None:
            xp.copyto(destination, grad)
    if gx_sum is not None:
        gx.sum(axis=0, out=gx_sum)
    return gx
