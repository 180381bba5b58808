"""The error function erf over arrays, to about one unit in the last place of float64.

NumPy has no erf, and the core depends on NumPy alone. Near zero erf is its Maclaurin series
(so tiny inputs keep full relative precision); on [0.5, 6) it is 1 − erfc(x), erfc being a
Chebyshev interpolant per interval of width 0.5 fitted once at import to the C library's erfc
(series cut at the float64 noise floor); beyond 6, erf(x) rounds to ±1 in float64
(erfc(6) ≈ 2e-17). Measured against math.erf: within about 4e-16 absolute everywhere.
"""

from __future__ import annotations

import math

from ..engine.backend import array_like, xp

_SERIES_END = 0.5
_TAIL_START = 6.0
_WIDTH = 0.5
_NODES = 48
_FLOOR = 1e-16  # the fit stops at the first coefficient below this: the rest is rounding noise
# erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)); 14 terms reach 1e-20 relative at x = 0.5.
_SERIES = [
    2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(14)
]


def _chebyshev_fit(f):
    """Chebyshev coefficients of f on [-1, 1], summed exactly, truncated at the noise floor."""
    values = [f(math.cos(math.pi * (2 * j + 1) / (2 * _NODES))) for j in range(_NODES)]
    coefficients = []
    for k in range(_NODES):
        # cos(k·θ_j) from the angle reduced exactly in integers: no rounding grows with k.
        cosines = [
            math.cos(math.pi * (k * (2 * j + 1) % (4 * _NODES)) / (2 * _NODES))
            for j in range(_NODES)
        ]
        c = 2 / _NODES * math.fsum(v * w for v, w in zip(values, cosines))
        if abs(c) < _FLOOR:
            break
        coefficients.append(c / 2 if k == 0 else c)
    return coefficients


def _fit_intervals():
    count = round((_TAIL_START - _SERIES_END) / _WIDTH)
    starts = [_SERIES_END + i * _WIDTH for i in range(count)]
    half = _WIDTH / 2
    fits = [_chebyshev_fit(lambda t, c=s + half: math.erfc(c + half * t)) for s in starts]
    return starts, fits


_STARTS, _COEFFICIENTS = _fit_intervals()


def _series(x):
    x2 = x * x
    acc = xp.full_like(x, _SERIES[-1])
    for c in reversed(_SERIES[:-1]):
        acc = acc * x2 + c
    return acc * x


def _chebval(t, c):
    """Σ c_k T_k(t) by Clenshaw's recurrence, in numpy.polynomial.chebyshev.chebval's order
    of operations (so the same bits), on any array module."""
    t2 = 2 * t
    c0, c1 = c[-2], c[-1]
    for i in range(3, len(c) + 1):
        c0, c1 = c[-i] - c1, c0 + c1 * t2
    return c0 + c1 * t


def erf(x):
    """erf of every element of x (a float ndarray); the result has x's dtype."""
    x = array_like(x, None)
    work = x.astype(xp.float64)
    magnitude = xp.abs(work)
    out = xp.ones_like(work)
    small = magnitude < _SERIES_END
    out[small] = _series(magnitude[small])
    for start, coefficients in zip(_STARTS, _COEFFICIENTS):
        inside = (magnitude >= start) & (magnitude < start + _WIDTH)
        if inside.any():
            t = (magnitude[inside] - (start + _WIDTH / 2)) / (_WIDTH / 2)
            out[inside] = 1 - _chebval(t, coefficients)
    out[xp.isnan(work)] = xp.nan
    return xp.copysign(out, work).astype(x.dtype if x.dtype.kind == "f" else xp.float64)
