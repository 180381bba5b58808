"""Cases for the convolution and pooling primitives (chainrule.engine.conv_ops, pool_ops).

Random shapes and options per draw; tests/nn/test_conv.py compares the same ops with torch.
Pooling inputs are distinct values spread apart, so no window holds a tie that central
differences would cross.
"""

from __future__ import annotations

import numpy as np

from chainrule.engine import conv_ops as C
from chainrule.engine import pool_ops as P


def _spread(rng, shape):
    """Distinct values at least 0.1 apart, in random order (a max never ties nor switches)."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.1).reshape(shape) - 1.0


def conv(rng):
    """conv (conv_windows then conv_gemm) over random geometries: both primitives' VJPs."""
    found = []
    for dims in (1, 2):
        groups = int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, dims))
        stride = tuple(int(s) for s in rng.integers(1, 3, dims))
        dilation = tuple(int(d) for d in rng.integers(1, 3, dims))
        padding = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (dims, 2)))
        x = rng.standard_normal((2, 2 * groups, *rng.integers(5, 8, dims)))
        w = rng.standard_normal((2 * groups, 2, *kernel))
        options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        found.append((lambda x, w, b, o=options: C.conv(x, w, b, **o),
                      [x, w, rng.standard_normal(2 * groups)]))
        found.append((lambda x, w, o=options: C.conv(x, w, **o), [x, w]))
        # one input channel: _columns' separate path (a first layer)
        found.append((lambda x, w, o={**options, "groups": 1}: C.conv(x, w, **o),
                      [x[:, :1], rng.standard_normal((3, 1, *kernel))]))
    return found


def conv_windows(rng):
    """The columns alone, with each of the VJP's two ways of adding them back."""
    found = []
    for dims, rows in ((1, False), (1, True), (2, False), (2, True)):
        groups = int(rng.integers(1, 3))
        options = {"kernel_size": tuple(int(k) for k in rng.integers(1, 4, dims)),
                   "stride": tuple(int(s) for s in rng.integers(1, 3, dims)),
                   "dilation": tuple(int(d) for d in rng.integers(1, 3, dims)),
                   "padding": tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (dims, 2))),
                   "groups": groups, "rows": rows}
        x = rng.standard_normal((2, 2 * groups, *rng.integers(5, 8, dims)))
        found.append((lambda x, o=options: C.conv_windows(x, **o), [x]))
    return found


def conv_gemm(rng):
    """The GEMM on columns given directly, then conv as a whole."""
    found = []
    for groups, out in ((1, (3,)), (2, (2, 3))):
        kernel = (2,) * len(out)
        cols = rng.standard_normal((groups, 2 * int(np.prod(out)), 2 * 2 ** len(out)))
        w = rng.standard_normal((3 * groups, 2, *kernel))
        for rows in (False, True):
            found.append((lambda c, w, b, o=out, r=rows: C.conv_gemm(c, w, b, batch=2, out=o,
                                                                      rows=r),
                          [cols, w, rng.standard_normal(3 * groups)]))
    return found + conv(rng)


def max_pool(rng):
    found = []
    for dims in (1, 2):
        kernel = tuple(int(k) for k in rng.integers(1, 4, dims))
        options = {"kernel_size": kernel, "stride": tuple(int(s) for s in rng.integers(1, 3, dims)),
                       "padding": tuple((k // 2, k // 2) for k in kernel),
                       "dilation": tuple(int(d) for d in rng.integers(1, 3, dims))}
        x = _spread(rng, (2, 3, *rng.integers(5, 8, dims)))
        found.append((lambda x, o=options: P.max_pool(x, **o), [x]))
    return found


def avg_pool(rng):
    found = []
    for dims, include in ((1, True), (2, False), (2, True)):
        kernel = tuple(int(k) for k in rng.integers(1, 4, dims))
        options = {"kernel_size": kernel, "stride": tuple(int(s) for s in rng.integers(1, 3, dims)),
                       "padding": tuple((k // 2, k // 2) for k in kernel), "ceil_pad": (0,) * dims,
                       "count_include_pad": include}
        x = rng.standard_normal((2, 3, *rng.integers(5, 8, dims)))
        found.append((lambda x, o=options: P.avg_pool(x, **o), [x]))
    found.append((lambda x: P.avg_pool(x, kernel_size=(2, 2), stride=(2, 1),
                                       padding=((0, 0), (0, 0)), ceil_pad=(0, 0),
                                       divisor_override=3), [rng.standard_normal((1, 2, 4, 5))]))
    # ceil_mode's geometry for length 6, kernel 3, stride 2, padding 1: one extra right pad.
    for include in (True, False):
        found.append((lambda x, i=include: P.avg_pool(x, kernel_size=(3,), stride=(2,),
                                                      padding=((1, 2),), ceil_pad=(1,),
                                                      count_include_pad=i),
                      [rng.standard_normal((2, 2, 6))]))
    return found


def adaptive_avg_pool(rng):
    found = []
    for dims in (1, 2):
        size = tuple(int(n) for n in rng.integers(3, 9, dims))
        out = tuple(int(rng.integers(1, n + 2)) for n in size)  # may exceed: bins overlap
        found.append((lambda x, o=out: P.adaptive_avg_pool(x, output_size=o),
                      [rng.standard_normal((2, 3, *size))]))
    return found


CASES = {
    "conv_windows": conv_windows,
    "conv_gemm": conv_gemm,
    "max_pool": max_pool,
    "avg_pool": avg_pool,
    "adaptive_avg_pool": adaptive_avg_pool,
}
