"""Making tensors as in torch: zeros, ones, full, randn, rand, arange, from_numpy, *_like.

Floating tensors are float32 unless a dtype is given; random draws come from the engine's
generator, so cr.manual_seed fixes them.
"""

from __future__ import annotations

from . import random
from .backend import module_of, to_device, xp
from .tensor import DtypeError, Tensor


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _make(array, dtype, requires_grad, device=None):
    """A tensor of the host array's values on `device` (random draws are made on the host, so
    a seed gives the same numbers on every device)."""
    array = array.astype(dtype or xp.float32, copy=False)
    if device is not None:
        array = to_device(array, device)
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _make(xp.zeros(_size(size)), dtype, requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _make(xp.ones(_size(size)), dtype, requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    return _make(xp.full(_size((size,)), fill_value), dtype, requires_grad, device)


def randn(*size, dtype=None, requires_grad=False, device=None):
    """Standard normal draws from chainrule's generator (not torch's stream)."""
    draws = random.generator().standard_normal(_size(size))
    return _make(draws, dtype, requires_grad, device)


def rand(*size, dtype=None, requires_grad=False, device=None):
    """Uniform draws in [0, 1) from chainrule's generator."""
    return _make(random.generator().random(_size(size)), dtype, requires_grad, device)


def zeros_like(x, dtype=None, requires_grad=False):
    """Zeros of x's shape, on x's device."""
    data = x.data if isinstance(x, Tensor) else x
    zeros = module_of(data).zeros(x.shape, dtype=dtype or x.dtype)
    return Tensor(zeros, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    """Ones of x's shape, on x's device."""
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(
        module_of(data).ones(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad
    )


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """start, start + step, ... below end; integers give int64, any float gives float32."""
    if end is None:
        start, end = 0, start
    floating = any(isinstance(v, float) for v in (start, end, step))
    dtype = dtype or (xp.float32 if floating else xp.int64)
    return _make(xp.arange(start, end, step, dtype=dtype), dtype, requires_grad, device)


def from_numpy(array) -> Tensor:
    """A tensor sharing the array's memory and keeping its dtype (torch.from_numpy)."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "fiub":
        raise DtypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor(array)
