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
import itertools

import sys

from . import anomaly
from .backend import xp
from .tensor import ChainruleError, Tensor

# The module, not `chainrule.engine.tensor`: the package rebinds that name to the tensor() function.
_t = sys.modules[Tensor.__module__]
_ndarray = xp.ndarray
_new_tensor = Tensor.__new__
_sequence = itertools.count()
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
        # The hot path of every forward pass: plain loops, no generators, one object made.
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        try:
            out = self.forward(*arrays, **options)
        except ChainruleError:  # raised on purpose, with its own message
            raise
        except (ValueError, IndexError) as err:
            kind = ShapeError if isinstance(err, ValueError) else OutOfRangeError
            raise kind(f"{self.name}: {describe(arrays)}: {str(err).strip()}") from None
        converted = type(out) is not _ndarray
        if converted:
            out = xp.asarray(out)
        if _t._recorder is not None:
            _t._recorder.forward(self, arrays, options, out, converted)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = result._site = None
        result._retain = False
        if anomaly.enabled:
            result._site = anomaly.check_forward(self.name, arrays, out)
        if _t._grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    # The context: the op, its inputs (tensors are the graph's parents; other
                    # inputs are constants), their arrays, the static options and a sequence
                    # number (outputs are newer than inputs: backward's topological order).
                    result.requires_grad = True
                    result._ctx = (self, args, arrays, options, next(_sequence))
                    return result
        result.requires_grad = False
        result._ctx = None
        return result

    def backward(self, grad, node, parents, arrays, options):
        needs = None
        if self._wants_needs:
            needs = tuple([isinstance(p, Tensor) and p.requires_grad for p in parents])
            grads = self._vjp(grad, node.data, *arrays, needs=needs, **options)
        else:
            grads = self._vjp(grad, node.data, *arrays, **options)
        if _t._recorder is not None:
            _t._recorder.vjp(self, grad, node.data, arrays, options, needs, grads)
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
