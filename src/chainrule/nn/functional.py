"""nn.functional: layers and losses as functions of tensors (PyTorch's names and arguments).

Also reachable as `cr.nn.F`. The losses live in loss_functions.py and are re-exported here.
"""

from __future__ import annotations

from .. import distributed
from ..engine import ops, random
from ..engine.backend import xp
from ..engine.primitive import ShapeError
from ..engine.tensor import ChainruleError, Tensor
from .loss_functions import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .primitives import gelu as _gelu
from .primitives import linear

__all__ = [
    "linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax",
    "dropout", "batch_norm", "layer_norm", "mse_loss", "l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
]

relu = ops.relu
sigmoid = ops.sigmoid
tanh = ops.tanh


def leaky_relu(x, negative_slope=0.01):
    return ops.leaky_relu(x, negative_slope=negative_slope)


def gelu(x, approximate="none"):
    """x·Φ(x) (exact, with erf), or its tanh approximation with approximate='tanh'."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _gelu(x, approximate=approximate)


def softmax(x, dim=-1):
    return ops.softmax(x, axis=dim)


def log_softmax(x, dim=-1):
    return ops.log_softmax(x, axis=dim)


def dropout(x, p=0.5, training=True):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1 − p).

    The mask comes from `chainrule.engine.random.generator()`; in eval (training=False) x is
    returned unchanged.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    array = x.data if isinstance(x, Tensor) else xp.asarray(x)
    keep = random.generator().random(array.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * (keep * xp.asarray(scale, dtype=array.dtype))


def _channel_shape(x, name):
    if x.ndim not in (2, 3):
        raise ShapeError(f"{name}: expected 2-D (N, C) or 3-D (N, C, L) input, got shape "
                         f"{x.shape}")
    return (0,) if x.ndim == 2 else (0, 2), (-1,) if x.ndim == 2 else (-1, 1)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (axis 1) of a (N, C) or (N, C, L) input, as F.batch_norm.

    Training uses the batch's mean and biased variance and, when running arrays are given,
    updates them in place: r ← (1 − momentum)·r + momentum·batch (the variance unbiased).
    Otherwise the running statistics normalize.
    """
    axes, shape = _channel_shape(x, "batch_norm")
    if training:
        count = x.size // x.shape[1]
        if distributed.batch_norm_is_synchronized():
            mean, centered, var, count = _global_moments(x, axes, shape)
        elif count > 1:
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
        if count <= 1:
            raise ChainruleError(f"batch_norm: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.data.reshape(-1)
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var.data.reshape(-1) * (count / (count - 1))
        out = centered / ops.sqrt(var + eps)
    else:
        rm, rv = xp.asarray(running_mean), xp.asarray(running_var)
        out = (x - rm.reshape(shape)) / xp.sqrt(rv.reshape(shape) + eps)
    return _affine(out, weight, bias, shape)


def _global_moments(x, axes, shape):
    """Mean, centered input, biased variance and count over the global batch, when data-
    parallel processes each hold a slice of it (chainrule.distributed.synchronized_batch_norm)."""
    rows = x.shape[0]
    sums = distributed.sum_over_ranks(x.sum(axis=axes), rows=rows)
    count = sums[-1] * (x.size // (x.shape[1] * rows))
    mean = (sums[:-1] / count).reshape(shape)
    centered = x - mean
    squares = distributed.sum_over_ranks((centered * centered).sum(axis=axes), rows=rows)
    var = (squares[:-1] / count).reshape(shape)
    return mean, centered, var, int(count.data)


def _affine(out, weight, bias, shape):
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last len(normalized_shape) axes (biased variance), as F.layer_norm."""
    normalized_shape = tuple(normalized_shape)
    if x.shape[x.ndim - len(normalized_shape):] != normalized_shape:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end in the "
                         f"normalized shape {normalized_shape}")
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return _affine(centered / ops.sqrt(var + eps), weight, bias, normalized_shape)
