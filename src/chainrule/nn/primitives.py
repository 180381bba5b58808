"""The fused primitives of nn: each forward with its vector-Jacobian product beside it.

NOTE: these are fused rather than composed because the fused form is faster or more stable:
`linear` is one matmul per gradient and skips the input's gradient for a first layer;
`bce_with_logits` and `softmax_cross_entropy` never take the log of a rounded probability and
their gradients are the texts' simplification ŷ − y.
"""

from __future__ import annotations

import math

from .. import native
from ..engine.backend import dot_matches_matmul, product, xp
from ..engine.ops import (
    exp,
    log,
    log_softmax,
    maximum,
    relu_grad_into,
    relu_into,
    sigmoid,
    softplus,
    tanh,
)
from ..engine.primitive import ShapeError, on, primitive
from ..engine.tensor import unbroadcast
from .erf import erf

# --- linear: z = x Wᵀ + b -----------------------------------------------------------------

_dot = xp.dot  # 2-D products into given arrays (kernels and parameter slots)


@primitive
def linear(x, weight, bias=None):
    if x.shape[-1:] != weight.shape[1:]:
        raise ShapeError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features, "
            f"the weight of shape {weight.shape} expects {weight.shape[1]}"
        )
    return linear_into(x, weight.T, bias)


def linear_into(x, weight_t, bias=None, out=None):
    """z = x Wᵀ + b on arrays (Wᵀ given as the weight's transposed view, b None for none),
    written into `out` when given (x then 2-D: np.dot with out=, matmul's bits for contiguous
    operands): linear's forward, and the fused road's Linear kernel."""
    out = product(x, weight_t) if out is None else _dot(x, weight_t, out=out)
    if bias is not None:
        out += bias
    return out


def bias_relu_into(z, bias):
    """z := max(z + b, 0) in place (b None for none): a Linear's bias and the ReLU after it in
    one compiled pass when chainrule.native is built (the same bits as the two steps)."""
    if not native.bias_relu(z, bias):
        if bias is not None:
            z += bias
        relu_into(z, out=z)
    return z


def relu_grad_in_place(g, y, mask):
    """g := g·[y > 0] (ReLU's VJP from its output y), in one compiled pass when
    chainrule.native is built (the same bits), else relu_grad_into with `mask` as scratch."""
    if not native.relu_grad(g, y):
        relu_grad_into(g, y, out=g, mask=mask)
    return g


@linear.vjp
def _(g, out, x, weight, bias=None, needs=(True, True, True), into=None):
    if into is not None and not _writable_into(g, x, weight, bias):
        into = None
    return linear_grads(g, x, weight, bias, needs, into or _NOWHERE)


@linear.graph_vjp
def _(g, out, x, weight, bias=None, needs=(True, True, True)):
    return linear_grads(g, x, weight, bias, needs)


_NOWHERE = (None, None, None)


def linear_grads(g, x, weight, bias, needs, into=_NOWHERE, ones=None):
    """linear's VJP (gx, gw, gb) for the upstream g (arrays, or Tensors with into and ones
    None), each gradient written into its array of `into` when one is given (then g and x
    are 2-D: np.dot with out=, matmul's bits for the layouts _writable_into admits). With
    `ones` (a vector of n ones) the bias gradient's column sums are a BLAS product, as the
    fused road takes them (faster on small arrays; another rounding than the VJP's sum)."""
    gx_into, gw_into, gb_into = into
    g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
    gx = gw = gb = None
    if needs[0]:
        gx = product(g, weight) if gx_into is None else _dot(g, weight, out=gx_into)
    if needs[1]:
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        gw = product(g2.T, x2) if gw_into is None else _dot(g2.T, x2, out=gw_into)
    if bias is not None and needs[2]:
        if bias.ndim != 1:  # another shape that broadcasts to the output, as torch allows
            gb = unbroadcast(g, bias.shape)
            if gb_into is not None:
                gb_into[...] = gb
                gb = gb_into
        elif ones is not None:
            gb = _dot(ones, g2, out=gb_into)
        else:
            gb = g2.sum(axis=0) if gb_into is None else g2.sum(axis=0, out=gb_into)
    return gx, gw, gb


def _writable_into(g, x, weight, bias):
    """Whether linear's gradients written into given arrays keep the allocating VJP's bits:
    host arrays of one dtype (on a GPU cuBLAS may choose another kernel for dot than for
    matmul), and matrices that `dot` multiplies as matmul does."""
    dtype = g.dtype
    if x.dtype != dtype or weight.dtype != dtype or (bias is not None and bias.dtype != dtype):
        return False
    return type(g) is type(x) is type(weight) is _host and dot_matches_matmul(g, x, weight)


_host = xp.ndarray


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


@gelu.graph_vjp
def _(g, out, x, approximate="none"):
    if approximate == "tanh":
        t = on(tanh, _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner),)
    pdf = _INV_SQRT_2PI * on(exp, -0.5 * x * x)
    return (g * (normal_cdf(x) + x * pdf),)


@primitive
def normal_cdf(x):
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal's distribution function (GELU's gate)."""
    return 0.5 * (1 + erf(x * _INV_SQRT_2))


@normal_cdf.vjp
@normal_cdf.graph_vjp
def _(g, out, x):
    return (g * _INV_SQRT_2PI * on(exp, -0.5 * x * x),)


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


@bce_probs.graph_vjp
def _(g, out, x, y, needs=(True, True)):
    gx = gy = None
    if needs[0]:
        gx = g * (x - y) / on(maximum, x * (1 - x), 1e-12)
    if needs[1]:
        gy = g * (on(log, 1 - x) - on(log, x))
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


# The forward of engine.ops.log_softmax (over the last axis), on arrays.
_log_softmax = log_softmax.forward


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
