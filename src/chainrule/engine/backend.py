"""The one place that decides the array library of the engine, nn and optim.

Those packages take `xp` (NumPy) from here and never import numpy themselves
(tests/test_backend.py checks it). On a CUDA device the arrays are CuPy's: NumPy's functions
hand CuPy arrays to CuPy (its `__array_function__` and `__array_ufunc__`), so the array math
of a primitive runs on the device unchanged. What NumPy cannot dispatch — making an array
from a shape, converting foreign data — asks `module_of(array)` for the library that holds a
given array. CuPy is imported on the first use of a CUDA device, never by `import chainrule`.

What lies outside the engine works on host arrays: data loading, model files, plots, the CLI,
the compiled loops of chainrule._native (which decline arrays not in host memory; on a device
chainrule.cuda_kernels does that work); they convert at the boundary with `to_host`.
"""

from __future__ import annotations

import numpy as xp

from .errors import ChainruleError

__all__ = [
    "DeviceError",
    "array_like",
    "contiguous",
    "device_of",
    "dot_matches_matmul",
    "host_copy",
    "is_array",
    "is_device_array",
    "module_of",
    "normalize_device",
    "on_one_device",
    "product",
    "to_device",
    "to_host",
    "xp",
]

_cupy = None  # the cupy module, once a CUDA device was asked for
# True while a CUDA graph is captured (compile/graphs.py): ops skip checks that read data back.
capturing = False


class DeviceError(ChainruleError, RuntimeError):
    """A device was asked for that this machine or installation cannot give."""


def normalize_device(device) -> str:
    """'cpu' or 'cuda' from 'cpu', 'cuda', 'cuda:0', 'gpu' or None (the CPU)."""
    name = "cpu" if device is None else str(device).lower()
    if name in ("cpu",):
        return "cpu"
    if name in ("cuda", "gpu", "cuda:0"):
        return "cuda"
    raise DeviceError(
        f"unknown device {device!r}: chainrule runs on 'cpu' or 'cuda' (one GPU, 'cuda:0')"
    )


def cuda():
    """The cupy module, or DeviceError naming what is missing."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy  # type: ignore[import-not-found]  # an optional extra
    except ImportError:
        raise DeviceError(
            "device 'cuda' needs CuPy: pip install 'chainrule[cuda]' (the cupy-cuda12x wheel; "
            "cupy-cuda13x for CUDA 13)"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDA driver missing or broken: CuPy raises its own types
        raise DeviceError(f"device 'cuda': CuPy finds no usable CUDA driver ({err})") from None
    if count < 1:
        raise DeviceError("device 'cuda': CuPy is installed but this machine has no GPU")
    _cupy = cupy
    return cupy


def cuda_available() -> bool:
    """Whether `to('cuda')` would work here (CuPy installed and a GPU present)."""
    try:
        cuda()
    except DeviceError:
        return False
    return True


def is_device_array(array) -> bool:
    """Whether `array` is a CuPy array (lives on the GPU)."""
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def module_of(array):
    """The array library holding `array`: cupy for a device array, else NumPy."""
    return _cupy if _cupy is not None and isinstance(array, _cupy.ndarray) else xp


def product(a, b, out=None):
    """a @ b, or written into `out`: two matrices by `dot` (less call overhead than matmul;
    for C- or F-contiguous operands the same BLAS call, so the same bits: see
    `dot_matches_matmul`). While a CUDA graph is captured, a product of device arrays goes to
    cuBLAS through chainrule.cuda_blas (CuPy refuses cuBLAS calls during a capture)."""
    if not capturing:
        if out is None:
            return a @ b
        if b.ndim == 2 and 0 < a.ndim <= 2:
            return xp.dot(a, b, out=out)
        return xp.matmul(a, b, out=out)
    result = None
    if is_device_array(a) and is_device_array(b):
        from .. import cuda_blas

        result = cuda_blas.matmul(a, b)
    if result is None:
        return a @ b if out is None else xp.matmul(a, b, out=out)
    if out is None:
        return result
    out[...] = result
    return out


def dot_matches_matmul(*matrices) -> bool:
    """Whether `dot` of these 2-D arrays gives matmul's bits: each C- or F-contiguous (matmul
    takes BLAS only for such layouts; dot copies others to take it)."""
    for m in matrices:
        flags = m.flags
        if m.ndim != 2 or not (flags.c_contiguous or flags.f_contiguous):
            return False
    return True


def contiguous(array):
    """A C-contiguous array of `array`'s values (itself when it is one), on its device."""
    return module_of(array).ascontiguousarray(array)


def on_one_device(arrays):
    """`arrays` with host arrays copied to the GPU when others are there already, or None when
    they are not mixed (Primitive.__call__ retries an op that refused a mix)."""
    if not any(is_device_array(a) for a in arrays):
        return None
    mixed = [isinstance(a, (xp.ndarray, xp.generic)) for a in arrays]
    if not any(mixed):
        return None
    return [cuda().asarray(a) if host else a for a, host in zip(arrays, mixed)]


def is_array(value) -> bool:
    """Whether `value` is a NumPy or CuPy array (not a scalar, list or Tensor)."""
    return isinstance(value, xp.ndarray) or is_device_array(value)


def array_like(data, like, dtype=None):
    """`data` as an array on the device of the array `like`; with like=None a device array
    stays where it is and anything else becomes a host array."""
    if like is not None:
        return module_of(like).asarray(data, dtype=dtype)
    if is_device_array(data):
        return data if dtype is None else data.astype(dtype, copy=False)
    return xp.asarray(data, dtype=dtype)


def device_of(array) -> str:
    return "cuda" if is_device_array(array) else "cpu"


def to_device(array, device: str):
    """`array` (a host or device array, or array-like) on `device` ('cpu' or 'cuda')."""
    if normalize_device(device) == "cuda":
        return cuda().asarray(array)
    return to_host(array)


def host_copy(array):
    """A NumPy array of `array`'s values that shares no memory with it."""
    return array.get() if is_device_array(array) else array.copy()


def to_host(array):
    """A NumPy array of `array`'s values (itself when it already is one)."""
    if is_device_array(array):
        return array.get()
    return array
