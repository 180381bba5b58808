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
of a first layer, say). A VJP that declares an `into` argument may be given, per input, an
array to write that input's gradient into (or None): backward() offers a parameter's slot of
its optimizer's flat gradient buffer (see autograd._homes). Broadcast gradients are summed
back to each input's shape by the engine.

For higher-order gradients (`create_graph=True`) a primitive also needs its VJP written with
differentiable ops on Tensors, attached with `@op.graph_vjp`; a VJP written only with operators,
methods that arrays and Tensors share, and `on(op, ...)` (the op recorded on Tensors, its bare
forward on arrays) serves both, under both decorators:

    @exp.vjp
    @exp.graph_vjp
    def _(g, out, x):
        return (g * out,)
"""

from __future__ import annotations

import inspect
import itertools
import sys

from . import anomaly, backend
from .backend import xp
from .tensor import ChainruleError, Tensor

# The module, not `chainrule.engine.tensor`: the package rebinds that name to the tensor() function.
_t = sys.modules[Tensor.__module__]
_ndarray = xp.ndarray
_new_tensor = Tensor.__new__
_sequence = itertools.count(1)
REGISTRY: dict[str, Primitive] = {}


class ShapeError(ChainruleError, ValueError):
    """An op was given inputs whose shapes do not fit."""


class OutOfRangeError(ShapeError, IndexError):
    """An index is out of range for the tensor's shape (an IndexError, as in PyTorch)."""


class Primitive:
    __slots__ = (
        "_graph_needs",
        "_graph_vjp",
        "_vjp",
        "_vjp_into",
        "_vjp_needs",
        "forward",
        "name",
    )

    def __init__(self, forward, name=None):
        self.name = name or forward.__name__
        self.forward = forward
        self._vjp = self._graph_vjp = None
        self._vjp_needs = self._graph_needs = False  # whether each takes `needs`
        self._vjp_into = False  # whether the VJP takes `into`
        REGISTRY[self.name] = self

    def vjp(self, fn):
        """The VJP on arrays: fast, used by every ordinary backward()."""
        self._vjp, self._vjp_needs = fn, _takes_needs(fn)
        self._vjp_into = "into" in inspect.signature(fn).parameters
        return fn

    def graph_vjp(self, fn):
        """The VJP on Tensors with recorded ops: used by backward(create_graph=True)."""
        self._graph_vjp, self._graph_needs = fn, _takes_needs(fn)
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
        except TypeError:
            # CuPy refuses host arrays: copy them to the GPU (labels, class weights, a mask
            # given as NumPy arrays) and run again; the graph keeps the copies for backward.
            moved = backend.on_one_device(arrays)
            if moved is None:
                raise
            arrays = moved
            out = self.forward(*arrays, **options)
        except (ValueError, IndexError) as err:
            kind = ShapeError if isinstance(err, ValueError) else OutOfRangeError
            raise kind(f"{self.name}: {describe(arrays)}: {str(err).strip()}") from None
        converted = type(out) is not _ndarray and not backend.is_device_array(out)
        if converted:
            out = xp.asarray(out)
        if _t._recorder is not None:
            _t._recorder.forward(self, arrays, options, out, converted)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = result._site = None
        result._retain = False
        result._version = 0
        if anomaly.enabled:
            result._site = anomaly.check_forward(self.name, arrays, out)
        if _t._grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    # The context: the op, its inputs (tensors are the graph's parents; other
                    # inputs are constants), their arrays, the static options and a sequence
                    # number (outputs are newer than inputs: backward's topological order; an
                    # in-place change stamps a tensor with a newer one, see inplace.py).
                    result.requires_grad = True
                    result._ctx = (self, args, arrays, options, next(_sequence))
                    return result
        result.requires_grad = False
        result._ctx = None
        return result

    def backward(self, grad, node, parents, arrays, options, into=None):
        needs = None
        if self._vjp_needs:
            needs = tuple([isinstance(p, Tensor) and p.requires_grad for p in parents])
            if into is None:
                grads = self._vjp(grad, node.data, *arrays, needs=needs, **options)
            else:
                grads = self._vjp(grad, node.data, *arrays, needs=needs, into=into, **options)
        elif into is not None:
            grads = self._vjp(grad, node.data, *arrays, into=into, **options)
        else:
            grads = self._vjp(grad, node.data, *arrays, **options)
        if _t._recorder is not None:
            _t._recorder.vjp(self, grad, node.data, arrays, options, needs, grads)
        if anomaly.enabled:
            anomaly.check_backward(self.name, node, grad, grads)
        return grads

    def graph_backward(self, grad, node, parents, options):
        """The graph VJP on the output and input Tensors, so its ops are recorded."""
        if _t._recorder is not None:
            _t._recorder.problems.append("the step backpropagates with create_graph=True")
        if self._graph_vjp is None:
            raise ChainruleError(
                f"create_graph: {self.name} has no differentiable VJP yet "
                "(no @graph_vjp), so its gradient cannot be differentiated"
            )
        if self._graph_needs:
            needs = tuple([isinstance(p, Tensor) and p.requires_grad for p in parents])
            return self._graph_vjp(grad, node, *parents, needs=needs, **options)
        return self._graph_vjp(grad, node, *parents, **options)


def _takes_needs(fn) -> bool:
    return "needs" in inspect.signature(fn).parameters


def primitive(forward=None, *, name=None):
    """Register `forward` as a primitive op; attach its VJP with `@op.vjp`."""
    if forward is None:
        return lambda f: Primitive(f, name)
    return Primitive(forward, name)


def describe(arrays) -> str:
    shapes = [str(tuple(xp.shape(a))) for a in arrays]
    return "shapes " + " and ".join(shapes) if len(shapes) > 1 else "shape " + "".join(shapes)


def on(op, *args, **options):
    """`op` on Tensors (recorded, so differentiable) or its bare forward on arrays.

    Lets one VJP serve both passes: ordinary backward() hands it arrays, create_graph Tensors.
    """
    for a in args:
        if isinstance(a, Tensor):
            return op(*args, **options)
    return op.forward(*args, **options)


def values(x):
    """The array inside a Tensor (a constant in a recorded VJP), or x itself."""
    return x.data if isinstance(x, Tensor) else x
