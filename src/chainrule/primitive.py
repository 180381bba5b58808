"""The op registry: a primitive is a forward function with its VJP beside it.

    @primitive
    def mul(x, y):
        return x * y

    @mul.vjp
    def _(g, out, x, y):
        return g * y, g * x

Positional arguments are the differentiable inputs (tensors, arrays or numbers); keyword
arguments are static options (axis, shape). A VJP that declares a `needs` argument receives a
tuple of booleans saying which inputs need a gradient, so it can skip costly ones (the input
of a first layer, say). Broadcast gradients are summed back to each input's shape by the engine.
"""

from __future__ import annotations

import inspect

from . import anomaly
from . import tensor as _t
from .backend import xp
from .tensor import ChainruleError, Tensor

REGISTRY: dict[str, "Primitive"] = {}


class ShapeError(ChainruleError, ValueError):
    """An op was given inputs whose shapes do not fit."""


class OutOfRangeError(ShapeError, IndexError):
    """An index is out of range for the tensor's shape (an IndexError, as in PyTorch)."""


class Primitive:
    __slots__ = ("name", "forward", "_vjp", "_wants_needs")

    def __init__(self, forward, name=None):
        self.name = name or forward.__name__
        self.forward = forward
        self._vjp = None
        self._wants_needs = False
        REGISTRY[self.name] = self

    def vjp(self, fn):
        self._vjp = fn
        self._wants_needs = "needs" in inspect.signature(fn).parameters
        return fn

    def __repr__(self):
        return f"<primitive {self.name}>"

    def __call__(self, *args, **options):
        arrays = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        try:
            out = self.forward(*arrays, **options)
        except ShapeError:
            raise
        except (ValueError, IndexError) as err:
            kind = ShapeError if isinstance(err, ValueError) else OutOfRangeError
            raise kind(f"{self.name}: {describe(arrays)}: {str(err).strip()}") from None
        if not isinstance(out, xp.ndarray):
            out = xp.asarray(out)
        result = Tensor.__new__(Tensor)
        result.data, result.grad, result._retain, result._site = out, None, False, None
        if anomaly.enabled:
            result._site = anomaly.check_forward(self.name, arrays, out)
        if _t._grad_enabled and any(isinstance(a, Tensor) and a.requires_grad for a in args):
            parents = tuple(a if isinstance(a, Tensor) else None for a in args)
            result.requires_grad = True
            result._ctx = (self, parents, arrays, options)
        else:
            result.requires_grad = False
            result._ctx = None
        return result

    def backward(self, grad, node, parents, arrays, options):
        if self._wants_needs:
            needs = tuple(p is not None and p.requires_grad for p in parents)
            grads = self._vjp(grad, node.data, *arrays, needs=needs, **options)
        else:
            grads = self._vjp(grad, node.data, *arrays, **options)
        if anomaly.enabled:
            anomaly.check_backward(self.name, node, grad, grads)
        return grads


def primitive(forward=None, *, name=None):
    """Register `forward` as a primitive op; attach its VJP with `@op.vjp`."""
    if forward is None:
        return lambda f: Primitive(f, name)
    return Primitive(forward, name)


def describe(arrays) -> str:
    shapes = [str(tuple(xp.shape(a))) for a in arrays]
    return "shapes " + " and ".join(shapes) if len(shapes) > 1 else "shape " + "".join(shapes)
