"""Tensor operators and methods, with NumPy's names and arguments, bound to the primitives."""

from __future__ import annotations

from . import conv_ops, ops, pool_ops  # noqa: F401 (conv_ops, pool_ops register theirs)
from .backend import xp
from .tensor import Tensor


def _method(op):
    return lambda self, *args: op(self, *args)


def _binary(op):
    # NumPy scalars become Python numbers, which (as in PyTorch) never widen a tensor's dtype:
    # float32 * np.float64(2) stays float32.
    def method(self, other):
        return op(self, other.item() if isinstance(other, xp.generic) else other)

    return method


def _reflect(op):
    def method(self, other):
        return op(other.item() if isinstance(other, xp.generic) else other, self)

    return method


def _shape_args(shape):
    return shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _compare(ufunc):
    def compare(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(ufunc(self.data, other))

    return compare


BINARY = {
    "add": ops.add, "sub": ops.sub, "mul": ops.mul, "truediv": ops.div,
    "pow": ops.pow, "matmul": ops.matmul,
}
for _name, _op in BINARY.items():
    setattr(Tensor, f"__{_name}__", _binary(_op))
    setattr(Tensor, f"__r{_name}__", _reflect(_op))

for _name, _ufunc in {"lt": xp.less, "le": xp.less_equal, "gt": xp.greater,
                      "ge": xp.greater_equal, "eq": xp.equal, "ne": xp.not_equal}.items():
    setattr(Tensor, f"__{_name}__", _compare(_ufunc))

Tensor.__neg__ = _method(ops.neg)
Tensor.__abs__ = _method(ops.abs)
Tensor.__getitem__ = lambda self, index: ops.getitem(self, index=_index(index))
Tensor.T = property(lambda self: ops.transpose(self))

for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs"):
    setattr(Tensor, _name, _method(getattr(ops, _name)))

Tensor.pow = _binary(ops.pow)
Tensor.matmul = _method(ops.matmul)
Tensor.leaky_relu = lambda self, negative_slope=0.01: ops.leaky_relu(
    self, negative_slope=negative_slope)
Tensor.softmax = lambda self, axis=-1: ops.softmax(self, axis=axis)
Tensor.log_softmax = lambda self, axis=-1: ops.log_softmax(self, axis=axis)
Tensor.clip = lambda self, min=None, max=None: ops.clip(self, min=min, max=max)
Tensor.sum = lambda self, axis=None, keepdims=False: ops.sum(self, axis=axis, keepdims=keepdims)
Tensor.mean = lambda self, axis=None, keepdims=False: ops.mean(self, axis=axis, keepdims=keepdims)
Tensor.max = lambda self, axis=None, keepdims=False: ops.max(self, axis=axis, keepdims=keepdims)
Tensor.min = lambda self, axis=None, keepdims=False: ops.min(self, axis=axis, keepdims=keepdims)
Tensor.reshape = lambda self, *shape: ops.reshape(self, shape=_shape_args(shape))
Tensor.flatten = lambda self: ops.reshape(self, shape=(-1,))
Tensor.broadcast_to = lambda self, shape: ops.broadcast_to(self, shape=tuple(shape))


def _transpose(self, *axes):
    axes = _shape_args(axes)
    return ops.transpose(self, axes=tuple(axes) if axes else None)


Tensor.transpose = _transpose


def var(self, axis=None, keepdims=False, ddof=0):
    """Variance, composed from mean: E[(x - E[x])^2] (ddof as in NumPy)."""
    centered = self - self.mean(axis=axis, keepdims=True)
    squared = centered * centered
    if ddof == 0:
        return squared.mean(axis=axis, keepdims=keepdims)
    count = self.size // squared.mean(axis=axis, keepdims=True).size
    return squared.sum(axis=axis, keepdims=keepdims) / (count - ddof)


Tensor.var = var


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (NumPy's concatenate)."""
    return ops.concatenate(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join tensors along a new axis (NumPy's stack)."""
    return ops.stack(*tensors, axis=axis)


def where(condition, x, y):
    """Elements of x where condition holds, else of y; condition carries no gradient."""
    condition = condition.data if isinstance(condition, Tensor) else xp.asarray(condition)
    return ops.where(condition, x, y)


maximum = ops.maximum
minimum = ops.minimum
