"""Tensor, the recorded graph and no_grad.

A Tensor wraps an ndarray. When an op runs on tensors that require gradients, its output
records a context: the primitive, its input tensors, the raw input arrays, static options and
a sequence number. backward() (autograd.py) walks those contexts in reverse topological order
and calls each primitive's vector-Jacobian product (VJP) once.
"""

from __future__ import annotations

import contextlib

from . import backend
from .errors import ChainruleError

xp = backend.xp

_grad_enabled = True
# The compiler's Recorder while it records a step (chainrule.compile.trace), else None.
_recorder = None
# Whether any tensor was ever changed in place: until then backward() skips the version checks.
_stamped = False
# Sentinel left in a node's context once backward has released its inputs.
RELEASED = ("released",)


class DtypeError(ChainruleError, TypeError):
    """A tensor was asked for a dtype it cannot have (strings, integers that require grad)."""


def is_grad_enabled() -> bool:
    return _grad_enabled


def set_grad_enabled(mode: bool) -> None:
    global _grad_enabled
    _grad_enabled = bool(mode)


class no_grad(contextlib.ContextDecorator):  # noqa: N801 (torch.no_grad)
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


class enable_grad(no_grad):  # noqa: N801 (torch.enable_grad)
    """Context manager and decorator: record the graph even inside no_grad."""

    mode = True


def as_array(data, dtype=None):
    """Turn user data into an ndarray: float32 unless it already is a float or int array.

    A CuPy array stays on its device (see backend.py); anything else becomes a host array."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_device_array(data):
        return _device_array(data, dtype)
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
        f"tensor: cannot make a tensor from a {type(data).__name__} of dtype {array.dtype}"
    )


def _device_array(data, dtype):
    if dtype is not None:
        return data.astype(dtype, copy=False)
    if data.dtype.kind not in "fiub":
        raise DtypeError(f"tensor: unsupported dtype {data.dtype}")
    return data


class Tensor:
    """An ndarray with an optional gradient and the op that produced it."""

    __slots__ = (
        "__weakref__",
        "_ctx",
        "_grad_home",  # set by an optimizer's flat buffers only: see autograd._homes
        "_retain",
        "_site",
        "_version",
        "data",
        "grad",
        "requires_grad",
    )
    __array_ufunc__ = None  # make NumPy defer to our reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise DtypeError(f"only floating tensors can require grad, got {self.data.dtype}")
        self.grad = self._grad_home = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._retain = False
        self._site = None
        self._version = 0  # stamped by every in-place change (see inplace.py)

    # --- array-like properties -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: Size(self.data.size, self.data.shape))
    is_leaf = property(lambda self: self._ctx is None)
    is_cuda = property(lambda self: backend.is_device_array(self.data))

    @property
    def device(self) -> str:
        """'cpu', or 'cuda:0' for a tensor on the GPU (torch's spelling)."""
        return "cuda:0" if backend.is_device_array(self.data) else "cpu"

    def to(self, *args, **kwargs):
        """A tensor on another device and/or of another dtype, as torch's `.to`:
        `.to("cuda")`, `.to(cr.float64)`, `.to("cpu", dtype)`, `.to(other_tensor)`.
        Itself when nothing changes; otherwise a new tensor that records its gradient."""
        from . import ops

        device, dtype = _to_arguments(args, kwargs)
        out = self
        if dtype is not None and xp.dtype(dtype) != self.data.dtype:
            out = ops.astype(out, dtype=xp.dtype(dtype))
        if device is not None and backend.normalize_device(device) != backend.device_of(out.data):
            out = ops.to_device(out, device=backend.normalize_device(device))
        return out

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def cpu(self):
        return self.to("cpu")

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

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
        if backend.is_device_array(self.data):
            raise backend.DeviceError(
                "can't convert a cuda tensor to a NumPy array: use tensor.cpu() first"
            )
        array = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return array.copy() if copy else array

    def numpy(self):
        _note_read(self, ".numpy()")
        if backend.is_device_array(self.data):
            raise backend.DeviceError(
                "can't convert a cuda tensor to numpy: use tensor.cpu() to copy it to the host"
            )
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
        body = xp.array2string(backend.to_host(self.data), prefix="tensor(")
        where = ", device='cuda:0'" if backend.is_device_array(self.data) else ""
        return f"tensor({body}{where}, dtype={self.data.dtype}{grad})"

    __hash__ = object.__hash__

    def __bool__(self):
        _note_read(self, "bool()")
        return bool(self.data)

    # backward(gradient=None, retain_graph=None, create_graph=False) is bound by autograd.py.


def _to_arguments(args, kwargs):
    """(device, dtype) from torch's `.to` forms: (device), (dtype), (device, dtype), (tensor)."""
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, str) and not _names_dtype(arg):
            device = arg
        else:
            dtype = arg
    return device, dtype


def _names_dtype(name: str) -> bool:
    try:
        xp.dtype(name)
    except TypeError:
        return False
    return True


def _note_read(tensor, how):
    """Tell a recording compiler that Python read a computed value (the step depends on data)."""
    if _recorder is not None and tensor._ctx is not None:
        _recorder.note_read(how)


def unbroadcast(grad, shape):
    """Sum a gradient back to the shape of the input that was broadcast to make it.

    Written with methods that arrays and Tensors share, so it serves create_graph too.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Size(int):
    """Tensor.size: the element count as NumPy's `.size`, and callable as torch's `.size()`.

    `x.size` is an int (NumPy); `x.size()` is the shape and `x.size(d)` one dimension (torch).
    """

    def __new__(cls, count, shape):
        self = super().__new__(cls, count)
        self.shape = shape
        return self

    def __call__(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """Make a tensor: float32 from Python numbers, the array's own dtype from NumPy;
    on `device` ('cpu' or 'cuda') when given, else where the data is."""
    if device is None:
        return Tensor(data, requires_grad=requires_grad, dtype=dtype)
    return Tensor(backend.to_device(as_array(data, dtype), device), requires_grad=requires_grad)
