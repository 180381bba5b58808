"""Tensor, the recorded graph, backward() and no_grad.

A Tensor wraps an ndarray. When an op runs on tensors that require gradients, its output
records a context: the primitive, its input tensors, the raw input arrays and static options.
backward() walks those contexts in reverse topological order and calls each primitive's
vector-Jacobian product (VJP) once.
"""

from __future__ import annotations

import contextlib
import math
from heapq import heappop, heappush

from . import backend

xp = backend.xp

_grad_enabled = True
# The compiler's Recorder while it records a step (chainrule.compile.trace), else None.
_recorder = None
# Sentinel left in a node's context once backward has released its inputs.
RELEASED = ("released",)


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class DtypeError(ChainruleError, TypeError):
    """A tensor was asked for a dtype it cannot have (strings, integers that require grad)."""


def is_grad_enabled() -> bool:
    return _grad_enabled


def set_grad_enabled(mode: bool) -> None:
    global _grad_enabled
    _grad_enabled = bool(mode)


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator (`@no_grad()` or `@no_grad`): ops inside record no graph."""

    mode = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        self._previous = []  # a stack: a decorated function may recurse into itself
        return self if func is None else self(func)

    def __enter__(self):
        self._previous.append(_grad_enabled)
        set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._previous.pop())
        return False


class enable_grad(no_grad):
    """Context manager and decorator: record the graph even inside no_grad."""

    mode = True


def as_array(data, dtype=None):
    """Turn user data into an ndarray: float32 unless it already is a float or int array."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, (xp.ndarray, xp.generic)):  # NumPy data keeps its dtype
        if data.dtype.kind in "fiub":
            return data if type(data) is xp.ndarray else xp.asarray(data)
        raise DtypeError(f"tensor: unsupported dtype {data.dtype}")
    array = xp.asarray(data)
    if array.dtype.kind == "f" or array.dtype == object:
        return array.astype(xp.float32)
    if array.dtype.kind in "iub":
        # Python ints stay integers (labels, indices), as in torch.tensor.
        return array
    raise DtypeError(
        f"tensor: cannot make a tensor from a {type(data).__name__} of dtype {array.dtype}")


class Tensor:
    """An ndarray with an optional gradient and the op that produced it."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain", "_site", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to our reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise DtypeError(f"only floating tensors can require grad, got {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._retain = False
        self._site = None

    # --- array-like properties -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def item(self):
        _note_read(self, ".item()")
        return self.data.item()

    def __float__(self):
        _note_read(self, "float()")
        return float(self.data)

    def __int__(self):
        _note_read(self, "int()")
        return int(self.data)

    def __array__(self, dtype=None, copy=None):
        """np.asarray(tensor) gives the data (no gradient), as for a torch tensor."""
        _note_read(self, "np.asarray()")
        array = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return array.copy() if copy else array

    def numpy(self):
        _note_read(self, ".numpy()")
        return self.data

    def tolist(self):
        _note_read(self, ".tolist()")
        return self.data.tolist()

    def detach(self):
        return Tensor(self.data)

    def requires_grad_(self, mode=True):
        self.requires_grad = bool(mode)
        return self

    def retain_grad(self):
        """Keep .grad on this non-leaf tensor after backward (as in PyTorch)."""
        self._retain = True
        return self

    def astype(self, dtype):
        from . import ops

        return ops.astype(self, dtype=xp.dtype(dtype))

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = xp.array2string(self.data, prefix="tensor(")
        return f"tensor({body}, dtype={self.data.dtype}{grad})"

    __hash__ = object.__hash__

    def __bool__(self):
        _note_read(self, "bool()")
        return bool(self.data)

    # --- backward -------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into .grad of every leaf that requires grad."""
        if not self.requires_grad:
            raise ChainruleError("backward: tensor does not require grad and has no graph")
        if gradient is None:
            if self.data.size != 1:
                raise ChainruleError(
                    f"backward: output of shape {self.shape} is not a scalar; "
                    "pass gradient= with that shape"
                )
            gradient = xp.ones_like(self.data)
        else:
            gradient = as_array(gradient, self.data.dtype)
            if gradient.shape != self.shape:
                raise ChainruleError(
                    f"backward: gradient of shape {gradient.shape} does not match "
                    f"output of shape {self.shape}"
                )
        backpropagate(self, gradient, retain_graph)


def _note_read(tensor, how):
    """Tell a recording compiler that Python read a computed value (the step depends on data)."""
    if _recorder is not None and tensor._ctx is not None:
        _recorder.note_read(how)


def unbroadcast(grad, shape):
    """Sum a gradient back to the shape of the input that was broadcast to make it."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _creation_order(node):
    """When the node was made: its op's sequence number; leaves come last (-1)."""
    ctx = node._ctx
    if ctx is None:
        return -1
    return math.inf if ctx is RELEASED else ctx[4]


def backpropagate(root, seed, retain_graph=False):
    """Call every VJP once, newest node first.

    An op's output is always made after its inputs, so popping the newest node from a heap
    gives a topological order without a recursive (or any separate) graph walk: by the time
    a node is popped, every gradient flowing into it has arrived. grads maps id(node) ->
    (array, owned); an array not owned may alias another node's gradient or the caller's
    seed, so it is copied before it becomes a leaf's .grad.
    """
    glue = _EAGER if _recorder is None else _recorder.glue
    grads = {id(root): (seed, False)}
    heap = [(-_creation_order(root), id(root), root)]
    while heap:
        _, key, node = heappop(heap)
        grad, owned = grads.pop(key)
        ctx = node._ctx
        if ctx is None or node._retain:
            glue.store(node, grad, owned)
            if ctx is None:
                continue
        if ctx is RELEASED:
            raise ChainruleError(
                "backward: the graph was already freed by an earlier backward(); "
                "call backward(retain_graph=True) the first time to backpropagate twice"
            )
        _propagate(node, ctx, grad, grads, heap, glue)
        if not retain_graph:
            node._ctx = RELEASED


def _propagate(node, ctx, grad, grads, heap, glue):
    op, parents, arrays, options, _ = ctx
    input_grads = op.backward(grad, node, parents, arrays, options)
    handed = []  # ids of fresh arrays given to an input: a second input gets no ownership
    for parent, g in zip(parents, input_grads):
        if g is None or not isinstance(parent, Tensor) or not parent.requires_grad:
            continue
        if g.shape != parent.data.shape:
            g = glue.unbroadcast(g, parent.data.shape)
        owned = g is not grad and g.base is None and id(g) not in handed
        if owned:
            handed.append(id(g))
        key = id(parent)
        previous = grads.get(key)
        if previous is None:
            grads[key] = (g, owned)
            heappush(heap, (-_creation_order(parent), key, parent))
        else:
            grads[key] = (glue.add(previous[0], g), True)


def _store_grad(node, grad, owned):
    dtype = node.data.dtype
    if node.grad is not None:
        grad = node.grad + grad
        owned = True
    if not (owned and type(grad) is xp.ndarray and grad.dtype == dtype and grad.flags.writeable):
        grad = xp.array(grad, dtype=dtype)  # a fresh ndarray that aliases nothing
    node.grad = grad


class _Glue:
    """The array calls backward makes between VJPs; a recording compiler swaps in its own."""

    unbroadcast = staticmethod(unbroadcast)
    add = staticmethod(lambda a, b: a + b)
    store = staticmethod(_store_grad)


_EAGER = _Glue()


def tensor(data, requires_grad=False, dtype=None) -> Tensor:
    """Make a tensor: float32 from Python numbers, the array's own dtype from NumPy."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
