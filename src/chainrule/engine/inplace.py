"""In-place tensor updates with PyTorch's rules: add_, sub_, mul_, div_, clamp_, copy_, fill_,
zero_, the augmented operators (+=, -=, *=, /=) and `x[index] = value`.

Outside a recorded graph (under no_grad, or when nothing involved requires grad) the tensor's
own array is overwritten, so `p -= lr * p.grad` updates a parameter in place. While a graph is
recorded, a leaf that requires grad refuses (as in torch), and any other tensor takes the
recorded result as its new value and history: its old value and history stay with the ops that
used them. Every change stamps the tensor's version with a fresh number from the op sequence;
backward() refuses an op whose inputs or output carry a stamp newer than the op (torch's
version counter, without a counter to save per op).
"""

from __future__ import annotations

from . import ops, primitive
from . import tensor as _t
from .backend import xp
from .primitive import ShapeError
from .tensor import ChainruleError, DtypeError, Tensor


def _records(x, others) -> bool:
    if not _t._grad_enabled:
        return False
    return x.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)


def _check_leaf(x, name):
    if _t._grad_enabled and x.requires_grad and x._ctx is None:
        raise ChainruleError(
            f"{name}: a leaf tensor that requires grad (shape {x.shape}) cannot change in "
            "place while the graph is recorded; do the update under `with cr.no_grad():` "
            "(as in PyTorch)"
        )


def _shadow(x):
    """A tensor holding x's present value and history, before x takes a new one."""
    old = Tensor.__new__(Tensor)
    old.data, old.grad, old.requires_grad = x.data, None, x.requires_grad
    old._ctx, old._retain, old._site, old._version = x._ctx, False, x._site, x._version
    return old


def apply(x, name, fn, *others):
    """Make fn(x, *others) x's new value, in place; fn is composed of primitives."""
    _check_leaf(x, name)
    if _records(x, others):
        stamp = next(primitive._sequence)  # taken before fn records: its op is newer
        result = fn(_shadow(x), *others)
        _check_fits(name, x, result.data)
        x.data, x._ctx, x.requires_grad = result.data.astype(x.dtype, copy=False), result._ctx, True
        x._version = stamp
        _t._stamped = True
        return x
    with _t.no_grad():
        result = fn(x, *others)
    _check_fits(name, x, result.data)
    _write(name, x, result.data)
    return x


def _check_fits(name, x, new):
    if new.shape != x.shape:
        raise ShapeError(
            f"{name}: the result of shape {new.shape} does not fit in place into "
            f"the tensor of shape {x.shape}"
        )
    if not xp.can_cast(new.dtype, x.dtype, casting="same_kind"):
        raise DtypeError(
            f"{name}: the result of dtype {new.dtype} cannot be written in place "
            f"into the tensor of dtype {x.dtype}"
        )


def _write(name, x, new, index=Ellipsis):
    try:
        x.data[index] = new
    except ValueError as err:  # a read-only array (a broadcast view) or a bad index
        raise ShapeError(
            f"{name}: cannot write into the tensor of shape {x.shape}: {err}"
        ) from None
    _stamp(x)


def _stamp(x):
    x._version = next(primitive._sequence)
    _t._stamped = True


def setitem(x, index, value):
    """x[index] = value, in place (torch's __setitem__)."""
    index = (
        tuple(i.data if isinstance(i, Tensor) else i for i in index)
        if isinstance(index, tuple)
        else (index.data if isinstance(index, Tensor) else index)
    )
    _check_leaf(x, "setitem")
    if _records(x, (value,)):
        return apply(x, "setitem", lambda t, v: ops.setitem(t, v, index=index), value)
    value = value.data if isinstance(value, Tensor) else value
    if not xp.can_cast(xp.result_type(value), x.dtype, casting="same_kind"):
        raise DtypeError(
            f"setitem: a value of dtype {xp.result_type(value)} cannot be "
            f"written into the tensor of dtype {x.dtype}"
        )
    _write("setitem", x, value, index)
    return x


def add_(x, other, alpha=1):
    return apply(x, "add_", lambda t, o: t + (o if alpha == 1 else alpha * o), other)


def sub_(x, other, alpha=1):
    return apply(x, "sub_", lambda t, o: t - (o if alpha == 1 else alpha * o), other)


def mul_(x, other):
    return apply(x, "mul_", lambda t, o: t * o, other)


def div_(x, other):
    return apply(x, "div_", lambda t, o: t / o, other)


def clamp_(x, min=None, max=None):
    return apply(x, "clamp_", lambda t: ops.clip(t, min=min, max=max))


def copy_(x, src):
    """Copy src (broadcast, cast to x's dtype) into x."""
    return setitem(x, Ellipsis, src)


def fill_(x, value):
    return setitem(x, Ellipsis, value)


def zero_(x):
    return setitem(x, Ellipsis, 0)


METHODS: dict[str, object] = {
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "clamp_": clamp_,
    "clip_": clamp_,
    "copy_": copy_,
    "fill_": fill_,
    "zero_": zero_,
    "__iadd__": add_,
    "__isub__": sub_,
    "__imul__": mul_,
    "__itruediv__": div_,
    "__setitem__": setitem,
}
