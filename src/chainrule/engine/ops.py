"""Primitive ops: each forward with its vector-Jacobian product beside it.

A VJP receives the upstream gradient g, the output and the inputs, and returns one gradient
per input (None where there is none). Broadcasting is undone by the engine, not here.
"""

from __future__ import annotations

from .backend import xp
from .primitive import ShapeError, primitive
from .tensor import unbroadcast

# --- arithmetic ---------------------------------------------------------------------------


@primitive
def add(x, y):
    return x + y


@add.vjp
def _(g, out, x, y):
    return g, g


@primitive
def sub(x, y):
    return x - y


@sub.vjp
def _(g, out, x, y):
    return g, -g


@primitive
def mul(x, y):
    return x * y


@mul.vjp
def _(g, out, x, y):
    return g * y, g * x


@primitive
def div(x, y):
    return x / y


@div.vjp
def _(g, out, x, y):
    gx = g / y
    return gx, -gx * out


@primitive
def neg(x):
    return -x


@neg.vjp
def _(g, out, x):
    return (-g,)


@primitive
def pow(x, y):
    return x**y


@pow.vjp
def _(g, out, x, y, needs):
    gx = gy = None
    if needs[0] and isinstance(y, (int, float)):
        gx = g * y * x ** (y - 1) if y != 0 else xp.zeros_like(g)
    elif needs[0]:
        # As PyTorch: a zero exponent has zero gradient, even at x == 0 (not 0 * inf).
        with xp.errstate(divide="ignore", invalid="ignore"):
            gx = xp.where(y == 0, 0, g * y * x ** (y - 1))
    if needs[1]:
        # As PyTorch: where x == 0 and y >= 0 the exponent's gradient is 0, not NaN.
        zero_base = (x == 0) & (y >= 0)
        safe_x = xp.where(zero_base, 1, x)
        gy = xp.where(zero_base, 0, g * out * xp.log(safe_x))
    return gx, gy


@primitive
def abs(x):
    return xp.abs(x)


@abs.vjp
def _(g, out, x):
    return (g * xp.sign(x),)


def _check_matmul(x, y):
    if x.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"matmul: shapes {x.shape} and {y.shape}: scalars cannot be multiplied")
    inner_x = x.shape[-1]
    inner_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
    if inner_x != inner_y:
        raise ShapeError(f"matmul: shapes {x.shape} and {y.shape} are not aligned")


@primitive
def matmul(x, y):
    _check_matmul(xp.asarray(x), xp.asarray(y))
    return x @ y


@matmul.vjp
def _(g, out, x, y, needs):
    # 1-D operands are promoted to matrices as NumPy does, then the result is squeezed back.
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    g2 = g[..., None] if y.ndim == 1 else g
    g2 = xp.expand_dims(g2, -2) if x.ndim == 1 else g2
    gx = gy = None
    if needs[0]:
        gx = unbroadcast(g2 @ xp.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
    if needs[1]:
        gy = unbroadcast(xp.swapaxes(x2, -1, -2) @ g2, y2.shape).reshape(y.shape)
    return gx, gy


# --- elementwise functions ----------------------------------------------------------------


@primitive
def exp(x):
    return xp.exp(x)


@exp.vjp
def _(g, out, x):
    return (g * out,)


@primitive
def log(x):
    return xp.log(x)


@log.vjp
def _(g, out, x):
    return (g / x,)


@primitive
def sqrt(x):
    return xp.sqrt(x)


@sqrt.vjp
def _(g, out, x):
    return (g / (2 * out),)


@primitive
def tanh(x):
    return xp.tanh(x)


@tanh.vjp
def _(g, out, x):
    return (g * (1 - out * out),)


def stable_sigmoid(x):
    # NOTE: exp(-|x|) never overflows, unlike 1 / (1 + exp(-x)) for very negative x.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


@primitive
def sigmoid(x):
    return stable_sigmoid(x)


@sigmoid.vjp
def _(g, out, x):
    return (g * out * (1 - out),)


@primitive
def relu(x):
    return xp.maximum(x, 0)


@relu.vjp
def _(g, out, x):
    return (g * (x > 0),)


@primitive
def leaky_relu(x, negative_slope=0.01):
    return xp.where(x > 0, x, x * negative_slope)


@leaky_relu.vjp
def _(g, out, x, negative_slope=0.01):
    return (xp.where(x > 0, g, g * negative_slope),)


@primitive
def softmax(x, axis=-1):
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@softmax.vjp
def _(g, out, x, axis=-1):
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@primitive
def log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


@log_softmax.vjp
def _(g, out, x, axis=-1):
    return (g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)


@primitive
def clip(x, min=None, max=None):
    return xp.clip(x, min, max)


@clip.vjp
def _(g, out, x, min=None, max=None):
    inside = xp.ones(x.shape, dtype=bool)
    if min is not None:
        inside &= x >= min
    if max is not None:
        inside &= x <= max
    return (g * inside,)


@primitive
def maximum(x, y):
    return xp.maximum(x, y)


@maximum.vjp
def _(g, out, x, y):
    # As PyTorch: ties share the gradient equally.
    share = xp.where(x == y, 0.5, 1.0).astype(g.dtype)
    return g * share * (x >= y), g * share * (y >= x)


@primitive
def minimum(x, y):
    return xp.minimum(x, y)


@minimum.vjp
def _(g, out, x, y):
    share = xp.where(x == y, 0.5, 1.0).astype(g.dtype)
    return g * share * (x <= y), g * share * (y <= x)


@primitive
def where(condition, x, y):
    return xp.where(condition, x, y)


@where.vjp
def _(g, out, condition, x, y):
    zero = xp.zeros((), dtype=g.dtype)
    return None, xp.where(condition, g, zero), xp.where(condition, zero, g)


@primitive
def astype(x, dtype):
    return x.astype(dtype)


@astype.vjp
def _(g, out, x, dtype):
    return (g.astype(x.dtype),)


# --- reductions ---------------------------------------------------------------------------


def _expand(g, shape, axis, keepdims):
    """Broadcast a reduced gradient back over the reduced axes (a view, no copy)."""
    if axis is not None and not keepdims:
        g = xp.expand_dims(g, axis)
    elif axis is None and not keepdims:
        g = g.reshape((1,) * len(shape))
    return xp.broadcast_to(g, shape)


@primitive
def sum(x, axis=None, keepdims=False):
    return xp.sum(x, axis=axis, keepdims=keepdims)


@sum.vjp
def _(g, out, x, axis=None, keepdims=False):
    return (_expand(g, x.shape, axis, keepdims),)


@primitive
def mean(x, axis=None, keepdims=False):
    return xp.mean(x, axis=axis, keepdims=keepdims)


@mean.vjp
def _(g, out, x, axis=None, keepdims=False):
    count = x.size // (out.size or 1) if x.size else 1
    return (_expand(g / count, x.shape, axis, keepdims),)


def _extremum_vjp(g, out, x, axis, keepdims):
    # Ties share the gradient equally, as torch.amax / torch.amin do.
    hit = x == _expand(out, x.shape, axis, keepdims)
    count = hit.sum(axis=axis, keepdims=True)
    return (_expand(g, x.shape, axis, keepdims) * hit / count,)


@primitive
def max(x, axis=None, keepdims=False):
    return xp.max(x, axis=axis, keepdims=keepdims)


@primitive
def min(x, axis=None, keepdims=False):
    return xp.min(x, axis=axis, keepdims=keepdims)


max.vjp(_extremum_vjp)
min.vjp(_extremum_vjp)

# --- shape --------------------------------------------------------------------------------


@primitive
def reshape(x, shape):
    return xp.reshape(x, shape)


@reshape.vjp
def _(g, out, x, shape):
    return (g.reshape(x.shape),)


@primitive
def transpose(x, axes=None):
    return xp.transpose(x, axes)


@transpose.vjp
def _(g, out, x, axes=None):
    if axes is None:
        return (xp.transpose(g),)
    return (xp.transpose(g, xp.argsort([a % x.ndim for a in axes])),)


@primitive
def broadcast_to(x, shape):
    return xp.broadcast_to(x, shape)


@broadcast_to.vjp
def _(g, out, x, shape):
    return (g,)  # the engine sums it back to x's shape


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


@primitive
def getitem(x, index):
    return x[index]


@getitem.vjp
def _(g, out, x, index):
    grad = xp.zeros(x.shape, dtype=g.dtype)
    if _is_basic(index):
        grad[index] = g
    else:
        xp.add.at(grad, index, g)  # repeated integer indices accumulate
    return (grad,)


@primitive
def concatenate(*xs, axis=0):
    return xp.concatenate(xs, axis=axis)


@concatenate.vjp
def _(g, out, *xs, axis=0):
    bounds = xp.cumsum([x.shape[axis] for x in xs])[:-1]
    return tuple(xp.split(g, bounds, axis=axis))


@primitive
def stack(*xs, axis=0):
    return xp.stack(xs, axis=axis)


@stack.vjp
def _(g, out, *xs, axis=0):
    return tuple(xp.moveaxis(g, axis, 0))
