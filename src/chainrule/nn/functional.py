"""nn.functional: layers and losses as functions of tensors (PyTorch's names and arguments).

Also reachable as `cr.nn.F`. The losses live in loss_functions.py and are re-exported here.
"""

from __future__ import annotations

from .. import distributed
from ..engine import ops
from ..engine.backend import array_like, xp
from ..engine.primitive import ShapeError
from ..engine.tensor import ChainruleError, Tensor
from .batch_norm_ops import batch_norm_train
from .conv_functions import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    max_pool1d,
    max_pool2d,
)
from .loss_functions import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .primitives import gelu as _gelu
from .primitives import linear
from .state_ops import count_batch, dropout_mask, one_hot_rows, running_update

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "tanh",
]

relu = ops.relu
sigmoid = ops.sigmoid
tanh = ops.tanh


def silu(x):
    """x·σ(x)."""
    return x * ops.sigmoid(x)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (as torch)."""
    return ops.softplus(x, beta=beta, threshold=threshold)


def mish(x):
    """x·tanh(softplus(x))."""
    return x * ops.tanh(ops.softplus(x))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha·(exp(x) − 1) (exp only of the clipped part: no overflow)."""
    negative = alpha * (ops.exp(ops.clip(x, max=0.0)) - 1.0)
    return ops.where(_array(x) > 0, x, negative)


def _array(x):
    return x.data if isinstance(x, Tensor) else array_like(x, None)


def one_hot(tensor, num_classes=-1):
    """Integer labels of shape S -> an int64 tensor of shape S + (num_classes,)."""
    labels = _array(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if num_classes < 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    return one_hot_rows(tensor, num_classes=num_classes)


def pad(input, pad, mode="constant", value=0.0):
    """Pad with a constant; `pad` lists (before, after) pairs from the last axis back."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(
            f"pad: {tuple(pad)} must hold (before, after) pairs for at most "
            f"{input.ndim} axes of the input of shape {input.shape}"
        )
    pairs = [tuple(pad[i : i + 2]) for i in range(0, len(pad), 2)][::-1]
    widths = ((0, 0),) * (input.ndim - len(pairs)) + tuple(pairs)
    return ops.pad(input, widths=widths, value=value)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(‖input‖_p along dim, eps)."""
    return input / input.norm(p=p, dim=dim, keepdim=True).clip(min=eps)


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
    return x * dropout_mask(x, p=p)


def _channel_shape(x, name):
    """The axes statistics are taken over (all but the channels, axis 1) and the shape that
    broadcasts a per-channel vector against x."""
    if x.ndim < 2:
        raise ShapeError(f"{name}: expected input of shape (N, C, *size), got shape {x.shape}")
    return (0, *range(2, x.ndim)), (-1, *(1,) * (x.ndim - 2))


def batch_norm(
    x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Normalize each channel (axis 1) of a (N, C, *size) input, as F.batch_norm.

    Training uses the batch's mean and biased variance and, when running arrays are given,
    updates them in place: r ← (1 − momentum)·r + momentum·batch (the variance unbiased).
    Otherwise the running statistics normalize.
    """
    return normalize_batch(x, running_mean, running_var, weight, bias, training, momentum, eps)


def normalize_batch(
    x, running_mean, running_var, weight, bias, training, momentum, eps, counter=None
):
    """batch_norm, with BatchNorm's counter of batches: counted here when given, and the
    running average cumulative (1/count) when momentum is None."""
    _axes, shape = _channel_shape(x, "batch_norm")
    if not training:
        rm, rv = array_like(running_mean, None), array_like(running_var, None)
        out = (x - rm.reshape(shape)) / xp.sqrt(rv.reshape(shape) + eps)
        return _affine(out, weight, bias, shape)
    if distributed.batch_norm_is_synchronized():
        return _synchronized_batch_norm(
            x, running_mean, running_var, weight, bias, momentum, eps, counter
        )
    count = x.size // x.shape[1]
    if count <= 1:
        raise ChainruleError(
            f"batch_norm: expected more than 1 value per channel when "
            f"training, got input of shape {x.shape}"
        )
    return batch_norm_train(
        x, weight, bias, running_mean, running_var, counter, momentum=momentum, eps=eps
    )


def _synchronized_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps, counter):
    """Training batch norm over the global batch that data-parallel processes share."""
    axes, shape = _channel_shape(x, "batch_norm")
    mean, centered, var, count = _global_moments(x, axes, shape)
    if count <= 1:
        raise ChainruleError(
            f"batch_norm: expected more than 1 value per channel when "
            f"training, got a global batch of {count} per channel"
        )
    if counter is not None:
        count_batch(counter)
    if running_mean is not None:
        running_update(running_mean, mean.data, counter, momentum=momentum)
    if running_var is not None:
        running_update(
            running_var, var.data, counter, momentum=momentum, correction=count / (count - 1)
        )
    return _affine(centered / ops.sqrt(var + eps), weight, bias, shape)


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
    if x.shape[x.ndim - len(normalized_shape) :] != normalized_shape:
        raise ShapeError(
            f"layer_norm: input of shape {x.shape} does not end in the "
            f"normalized shape {normalized_shape}"
        )
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return _affine(centered / ops.sqrt(var + eps), weight, bias, normalized_shape)
