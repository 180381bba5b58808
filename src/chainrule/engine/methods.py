"""Tensor operators and methods, with NumPy's names and arguments, bound to the primitives."""

from __future__ import annotations

# autograd binds backward; conv_ops and pool_ops register their primitives.
from . import autograd, conv_ops, functions, inplace, ops, pool_ops  # noqa: F401
from .backend import xp
from .names import torch_names
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
    "add": ops.add,
    "sub": ops.sub,
    "mul": ops.mul,
    "truediv": ops.div,
    "pow": ops.pow,
    "matmul": ops.matmul,
}
for _name, _op in BINARY.items():
    setattr(Tensor, f"__{_name}__", _binary(_op))
    setattr(Tensor, f"__r{_name}__", _reflect(_op))

for _name, _ufunc in {
    "lt": xp.less,
    "le": xp.less_equal,
    "gt": xp.greater,
    "ge": xp.greater_equal,
    "eq": xp.equal,
    "ne": xp.not_equal,
}.items():
    setattr(Tensor, f"__{_name}__", _compare(_ufunc))

# Bound with setattr (here and below): Tensor declares none of these, so mypy cannot see them.
for _name, _fn in {
    "__neg__": _method(ops.neg),
    "__abs__": _method(ops.abs),
    "__getitem__": lambda self, index: ops.getitem(self, index=_index(index)),
    "T": property(lambda self: ops.transpose(self)),
}.items():
    setattr(Tensor, _name, _fn)

for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "clone"):
    setattr(Tensor, _name, _method(getattr(ops, _name)))


def _reshape(self, *shape):
    return ops.reshape(self, shape=_shape_args(shape))


for _name, _fn in {
    "pow": _binary(ops.pow),
    "matmul": _method(ops.matmul),
    "leaky_relu": lambda self, negative_slope=0.01: ops.leaky_relu(
        self, negative_slope=negative_slope
    ),
    "clip": lambda self, min=None, max=None: ops.clip(self, min=min, max=max),
    "reshape": _reshape,
    "view": _reshape,
    "broadcast_to": lambda self, shape: ops.broadcast_to(self, shape=tuple(shape)),
}.items():
    setattr(Tensor, _name, _fn)


def _axis_method(op, **defaults):
    """A method taking axis/keepdims (or dim/keepdim) and passing them to the primitive."""

    default_axis = defaults.get("axis")

    def method(self, axis=default_axis, keepdims=False):
        return op(self, axis=axis, keepdims=keepdims)

    return torch_names(method)


for _name in ("sum", "mean", "max", "min", "logsumexp"):
    setattr(Tensor, _name, _axis_method(getattr(ops, _name)))
for _alias, _name in (("amax", "max"), ("amin", "min")):
    setattr(Tensor, _alias, getattr(Tensor, _name))
for _name, _fn in {
    "softmax": torch_names(lambda self, axis=-1: ops.softmax(self, axis=axis)),
    "log_softmax": torch_names(lambda self, axis=-1: ops.log_softmax(self, axis=axis)),
    "cumsum": torch_names(lambda self, axis=0: ops.cumsum(self, axis=axis)),
}.items():
    setattr(Tensor, _name, _fn)


def _transpose(self, *axes):
    """NumPy's transpose (all axes, or a permutation); with two axes, torch's swap of them."""
    axes = _shape_args(axes)
    if len(axes) == 2:
        order = list(range(self.ndim))
        order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
        axes = order
    return ops.transpose(self, axes=tuple(axes) if axes else None)


Tensor.transpose = _transpose  # type: ignore[attr-defined]  # bound here, not declared
for _name in (
    "var",
    "std",
    "norm",
    "argmax",
    "argmin",
    "sort",
    "topk",
    "split",
    "chunk",
    "expand",
    "repeat",
    "masked_fill",
    "clamp",
    "unsqueeze",
    "squeeze",
    "permute",
    "flatten",
    "gather",
    "scatter",
    "scatter_add",
    "index_add",
):
    setattr(Tensor, _name, getattr(functions, _name))
for _name, _fn in inplace.METHODS.items():
    setattr(Tensor, _name, _fn)

concatenate = functions.cat
stack = functions.stack
where = functions.where
maximum = ops.maximum
minimum = ops.minimum
