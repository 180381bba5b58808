"""Matrix products while a CUDA graph is captured: cuBLAS called through ctypes.

CuPy refuses to call cuBLAS during a stream capture (its setStream raises NotImplementedError),
although cuBLAS itself can be captured. A training step is mostly matrix products, so the
compiled step's graph (compile/graphs.py) would capture nothing without them: while capturing,
`backend.product` hands 2-D and batched 3-D float32/float64 products here. This module loads
the libcublas that CuPy loaded, makes a handle of its own with a fixed workspace (a graph must
not depend on memory cuBLAS would allocate), and calls the strided-batched GEMM on row-major
operands (each matrix C- or F-ordered). Anything else returns None and takes CuPy's product.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from .engine import backend

_OP_N, _OP_T = 0, 1
_WORKSPACE_BYTES = 32 << 20


@functools.cache
def _library():
    cupy = backend.cuda()
    cupy.cuda.device.get_cublas_handle()  # makes CuPy load libcublas
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/libcublas.so" in line}
    if not paths:
        raise backend.DeviceError("cuda_blas: libcublas is not loaded in this process")
    lib = ctypes.CDLL(min(paths))
    for name, scalar in (("S", ctypes.c_float), ("D", ctypes.c_double)):
        fn = getattr(lib, f"cublas{name}gemmStridedBatched")
        fn.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(scalar),
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_longlong,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_longlong,
            ctypes.POINTER(scalar),
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_longlong,
            ctypes.c_int,
        ]
    return lib


@functools.cache
def _handle():
    """(library, handle, its workspace): made once, before any capture."""
    lib, cupy = _library(), backend.cuda()
    handle = ctypes.c_void_p()
    _check(lib.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate")
    workspace = cupy.empty(_WORKSPACE_BYTES, dtype=cupy.uint8)
    setter = getattr(lib, "cublasSetWorkspace_v2", None)
    if setter is not None:
        _check(
            setter(handle, ctypes.c_void_p(workspace.data.ptr), ctypes.c_size_t(_WORKSPACE_BYTES)),
            "cublasSetWorkspace",
        )
    return lib, handle, workspace


def warm_up() -> None:
    """Make the handle and run one product of each type (lazy set-up must not be captured)."""
    cupy = backend.cuda()
    for dtype in (np.float32, np.float64):
        a = cupy.ones((2, 2), dtype)
        matmul(a, a)
    cupy.cuda.get_current_stream().synchronize()


def _check(status, what):
    if status != 0:
        raise backend.DeviceError(f"cuda_blas: {what} failed with cuBLAS status {status}")


def _layout(a):
    """(operation, leading dimension, batch stride) of a's matrices in column-major terms,
    or None: a C-ordered (r, c) matrix is its transpose (c, r) with ld c."""
    item = a.itemsize
    *batch, rows, cols = a.shape
    s_rows, s_cols = a.strides[-2:]
    batch_stride = a.strides[0] // item if batch else 0
    if s_cols == item and (s_rows == cols * item or rows == 1):
        return _OP_N, max(cols, 1), batch_stride  # buffer holds aᵀ
    if s_rows == item and (s_cols == rows * item or cols == 1):
        return _OP_T, max(rows, 1), batch_stride  # buffer holds a
    return None


def matmul(a, b):
    """a @ b for device float32/float64 arrays of 2 (or equal-batch 3) axes, else None."""
    if a.ndim != b.ndim or a.ndim not in (2, 3) or a.dtype != b.dtype:
        return None
    if a.dtype not in (np.float32, np.float64) or a.shape[-1] != b.shape[-2]:
        return None
    if a.ndim == 3 and a.shape[0] != b.shape[0]:
        return None
    layout_a, layout_b = _layout(a), _layout(b)
    if layout_a is None or layout_b is None:
        return None
    lib, handle, _ = _handle()
    batch = a.shape[0] if a.ndim == 3 else 1
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out = backend.cuda().empty((*a.shape[:-2], m, n), a.dtype)
    if out.size == 0 or k == 0:
        out[...] = 0
        return out
    cupy = backend.cuda()
    _check(
        lib.cublasSetStream_v2(handle, ctypes.c_void_p(cupy.cuda.get_current_stream().ptr)),
        "cublasSetStream",
    )
    scalar = ctypes.c_float if a.dtype == np.float32 else ctypes.c_double
    one, zero = scalar(1.0), scalar(0.0)
    gemm = lib.cublasSgemmStridedBatched if a.dtype == np.float32 else lib.cublasDgemmStridedBatched
    (op_b, ld_b, stride_b), (op_a, ld_a, stride_a) = layout_b, layout_a
    # (a b)ᵀ = bᵀ aᵀ: the row-major product is the column-major product of the transposes.
    status = gemm(
        handle,
        op_b,
        op_a,
        n,
        m,
        k,
        ctypes.byref(one),
        ctypes.c_void_p(b.data.ptr),
        ld_b,
        stride_b,
        ctypes.c_void_p(a.data.ptr),
        ld_a,
        stride_a,
        ctypes.byref(zero),
        ctypes.c_void_p(out.data.ptr),
        n,
        m * n,
        batch,
    )
    _check(status, "gemm")
    return out
