"""The fused primitives of nn: each forward with its vector-Jacobian product beside it.

NOTE: these are fused rather than composed because the fused form is faster or more stable:
`linear` is one matmul per gradient and skips the input's gradient for a first layer;
`bce_with_logits` and `softmax_cross_entropy` never take the log of a rounded probability and
their gradients are the texts' simplification ŷ − y.
"""

from __future__ import annotations

import math

from ..engine.backend import xp
from ..engine.ops import exp, log_softmax, sigmoid, softplus
from ..engine.primitive import ShapeError, on, primitive
from .erf import erf

# --- linear: z = x Wᵀ + b -----------------------------------------------------------------


@primitive
def linear(x, weight, bias=None):
    if x.shape[-1:] != weight.shape[1:]:
        raise ShapeError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features, "
            f"the weight of shape {weight.shape} expects {weight.shape[1]}")
    out = x @ weight.T
    if bias is not None:
        out += bias
    return out


@linear.vjp
@linear.graph_vjp
def _(g, out, x, weight, bias=None, needs=(True, True, True)):
    g2 = g.reshape(-1, g.shape[-1])
    gx = g @ weight if needs[0] else None
    gw = g2.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None
    gb = g2.sum(axis=0) if bias is not None and needs[2] else None
    return gx, gw, gb


# --- GELU ---------------------------------------------------------------------------------

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@primitive
def gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + erf(x * _INV_SQRT_2))


@gelu.vjp
def _(g, out, x, approximate="none"):
    if approximate == "tanh":
        t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
        inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner),)
    cdf = 0.5 * (1 + erf(x * _INV_SQRT_2))
    pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
    return (g * (cdf + x * pdf),)


# --- binary cross-entropy on probabilities -----------------------------------------------


def _clamped_logs(x):
    """log x and log(1 − x), each clamped at −100 as PyTorch does (so x = 0 or 1 is finite)."""
    with xp.errstate(divide="ignore"):
        return xp.maximum(xp.log(x), -100), xp.maximum(xp.log1p(-x), -100)


@primitive
def bce_probs(x, y):
    """Elementwise −[y·log x + (1 − y)·log(1 − x)] on probabilities x."""
    log_x, log_1mx = _clamped_logs(x)
    return -(y * log_x + (1 - y) * log_1mx)


@bce_probs.vjp
def _(g, out, x, y, needs=(True, True)):
    gx = gy = None
    if needs[0]:
        # As PyTorch: (x − y) / (x(1 − x)), the denominator kept above 1e-12.
        gx = g * (x - y) / xp.maximum(x * (1 - x), 1e-12)
    if needs[1]:
        # As PyTorch, the target's gradient uses the unclamped logs (infinite at x = 0 or 1).
        with xp.errstate(divide="ignore"):
            gy = g * (xp.log1p(-x) - xp.log(x))
    return gx, gy


# --- binary cross-entropy on logits -------------------------------------------------------


def _softplus_neg(z):
    """log(1 + exp(-z)) without overflow."""
    return xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(-z, 0)


@primitive
def bce_with_logits(z, y, pos_weight=None):
    """Elementwise −[p·y·log σ(z) + (1 − y)·log(1 − σ(z))], p the positive-class weight."""
    scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    return (1 - y) * z + scale * _softplus_neg(z)


@bce_with_logits.vjp
@bce_with_logits.graph_vjp
def _(g, out, z, y, pos_weight=None, needs=(True, True, True)):
    sig = on(sigmoid, z)
    gz = gy = gp = None
    if pos_weight is None:
        if needs[0]:
            gz = g * (sig - y)
        if needs[1]:
            gy = -g * z
        return gz, gy, None
    # log(1 + exp(-z)), never overflowing (an infinite threshold: no linear switch)
    softplus_neg = on(softplus, -z, threshold=math.inf) if needs[1] or needs[2] else None
    if needs[0]:
        gz = g * ((1 + (pos_weight - 1) * y) * sig - pos_weight * y)
    if needs[1]:
        gy = g * ((pos_weight - 1) * softplus_neg - z)
    if needs[2]:
        gp = g * y * softplus_neg
    return gz, gy, gp


# --- softmax cross-entropy ----------------------------------------------------------------


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


@primitive
def softmax_cross_entropy(z, q):
    """Per row −Σ_c q_c log softmax(z)_c over the last axis; q holds the (weighted) targets."""
    if z.shape != q.shape:
        raise ShapeError(f"cross_entropy: logits of shape {z.shape}, targets of shape {q.shape}")
    return -(q * _log_softmax(z)).sum(axis=-1)


@softmax_cross_entropy.vjp
@softmax_cross_entropy.graph_vjp
def _(g, out, z, q, needs=(True, True)):
    log_p = on(log_softmax, z, axis=-1)
    g = g[..., None]
    gz = gq = None
    if needs[0]:
        # softmax·Σq − q: the texts' ŷ − y when q is a one-hot or probability row.
        gz = g * (on(exp, log_p) * q.sum(axis=-1, keepdims=True) - q)
    if needs[1]:
        gq = -g * log_p
    return gz, gq
