"""Primitive ops on numbers: arithmetic and elementwise functions, each with its VJP beside it.

A VJP receives the upstream gradient g, the output and the inputs, and returns one gradient
per input (None where there is none). Broadcasting is undone by the engine, not here. Most
VJPs serve both passes (`@op.vjp` and `@op.graph_vjp`): they use operators, methods that
arrays and Tensors share, and `on(op, ...)`. Reductions, shapes and indexing live in their
own modules and are re-exported here, so `ops.<name>` reaches every engine primitive.
"""

from __future__ import annotations

from .. import native
from . import backend
from .backend import xp
from .primitive import ShapeError, on, primitive, values
from .tensor import unbroadcast

# --- arithmetic ---------------------------------------------------------------------------


@primitive
def add(x, y):
    return x + y


@add.vjp
@add.graph_vjp
def _(g, out, x, y):
    return g, g


@primitive
def sub(x, y):
    return x - y


@sub.vjp
@sub.graph_vjp
def _(g, out, x, y):
    return g, -g


@primitive
def mul(x, y):
    return x * y


@mul.vjp
@mul.graph_vjp
def _(g, out, x, y):
    return g * y, g * x


@primitive
def div(x, y):
    return x / y


@div.vjp
@div.graph_vjp
def _(g, out, x, y):
    gx = g / y
    return gx, -gx * out


@primitive
def neg(x):
    return -x


@neg.vjp
@neg.graph_vjp
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


@pow.graph_vjp
def _(g, out, x, y):
    # The same rule on Tensors, without the conventions at 0 (a zero base or exponent).
    if isinstance(y, (int, float)):
        return (g * y * x ** (y - 1) if y != 0 else g * 0), None
    return g * y * x ** (y - 1), g * out * on(log, x)


@primitive
def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta·x)) / beta, linear where beta·x > threshold (as torch)."""
    z = x * beta
    with xp.errstate(over="ignore"):
        soft = (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)) / beta
    return xp.where(z > threshold, x, soft)


@softplus.vjp
@softplus.graph_vjp
def _(g, out, x, beta=1.0, threshold=20.0):
    linear = values(x) * beta > threshold
    return (on(where, linear, g, g * on(sigmoid, x * beta)),)


@primitive
def abs(x):
    return xp.abs(x)


@abs.vjp
@abs.graph_vjp
def _(g, out, x):
    return (g * xp.sign(values(x)),)


def _check_matmul(x, y):
    x_shape, y_shape = xp.shape(x), xp.shape(y)
    if not x_shape or not y_shape:
        raise ShapeError(f"matmul: shapes {x_shape} and {y_shape}: scalars cannot be multiplied")
    inner_y = y_shape[0] if len(y_shape) == 1 else y_shape[-2]
    if x_shape[-1] != inner_y:
        raise ShapeError(f"matmul: shapes {x_shape} and {y_shape} are not aligned")


@primitive
def matmul(x, y):
    _check_matmul(x, y)
    return backend.product(x, y)


@matmul.vjp
@matmul.graph_vjp
def _(g, out, x, y, needs):
    # 1-D operands are promoted to matrices as NumPy does, then the result is squeezed back.
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    g2 = g[..., None] if y.ndim == 1 else g
    g2 = g2[..., None, :] if x.ndim == 1 else g2
    gx = gy = None
    if needs[0]:
        gx = unbroadcast(backend.product(g2, _swap_last(y2)), x2.shape).reshape(x.shape)
    if needs[1]:
        gy = unbroadcast(backend.product(_swap_last(x2), g2), y2.shape).reshape(y.shape)
    return gx, gy


def _swap_last(a):
    axes = list(range(a.ndim))
    axes[-2:] = axes[-1], axes[-2]
    return a.transpose(axes)


# --- elementwise functions ----------------------------------------------------------------


@primitive
def exp(x):
    return xp.exp(x)


@exp.vjp
@exp.graph_vjp
def _(g, out, x):
    return (g * out,)


@primitive
def log(x):
    return xp.log(x)


@log.vjp
@log.graph_vjp
def _(g, out, x):
    return (g / x,)


@primitive
def sqrt(x):
    return xp.sqrt(x)


@sqrt.vjp
@sqrt.graph_vjp
def _(g, out, x):
    return (g / (2 * out),)


@primitive
def tanh(x):
    return xp.tanh(x)


@tanh.vjp
@tanh.graph_vjp
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
@sigmoid.graph_vjp
def _(g, out, x):
    return (g * out * (1 - out),)


@primitive
def relu(x):
    return relu_into(x)


def relu_into(x, out=None):
    """ReLU's forward, max(x, 0), written into `out` when given (out=x: in place)."""
    return xp.maximum(x, 0, out=out)


@relu.vjp
def _(g, out, x):
    return (relu_grad_into(g, x),)


def relu_grad_into(g, x, out=None, mask=None):
    """ReLU's VJP g·[x > 0] (x its input or its output: the same signs), written into `out`
    (and the mask into `mask`) when given; out=g works in place."""
    if out is None and mask is None:
        if type(g) is xp.ndarray and type(x) is xp.ndarray:
            grad = g.copy()  # then one compiled pass (the same bits) where NumPy makes two
            if native.relu_grad(grad, x):
                return grad
        return g * (x > 0)
    return xp.multiply(g, xp.greater(x, 0, out=mask), out=out)


@relu.graph_vjp
def _(g, out, x):
    return (g * (x > 0),)


@primitive
def leaky_relu(x, negative_slope=0.01):
    return xp.where(x > 0, x, x * negative_slope)


@leaky_relu.vjp
@leaky_relu.graph_vjp
def _(g, out, x, negative_slope=0.01):
    return (g * xp.where(values(x) > 0, 1.0, negative_slope).astype(g.dtype),)


@primitive
def softmax(x, axis=-1):
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@softmax.vjp
@softmax.graph_vjp
def _(g, out, x, axis=-1):
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@primitive
def log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


@log_softmax.vjp
@log_softmax.graph_vjp
def _(g, out, x, axis=-1):
    return (g - on(exp, out) * g.sum(axis=axis, keepdims=True),)


@primitive
def astype(x, dtype):
    return x.astype(dtype)


@astype.vjp
@astype.graph_vjp
def _(g, out, x, dtype):
    return (g.astype(x.dtype),)


@primitive
def to_device(x, device):
    """x copied to `device` ('cpu' or 'cuda'); the gradient goes back where x was."""
    return backend.to_device(x, device)


@to_device.vjp
@to_device.graph_vjp
def _(g, out, x, device):
    return (on(to_device, g, device=backend.device_of(values(x))),)


# The rest of the engine's primitives, so that `ops.<name>` reaches every one of them.
from .indexing import gather, getitem, index_add, put_at, scatter, scatter_add, setitem  # noqa: E402,F401
from .reductions import broadcast_to, cumsum, logsumexp, max, mean, min, sum  # noqa: E402,F401
from .selection import clip, maximum, minimum, where  # noqa: E402,F401
from .shapes import clone, concatenate, einsum, pad, reshape, stack, transpose  # noqa: E402,F401
