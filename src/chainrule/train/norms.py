"""Sums of squares per parameter (‖g‖², ‖w‖², ‖Δw‖²) for the callbacks that watch training.

Each sum is taken in float64 in one fixed order: term i of a segment goes into lane i mod 32,
the lanes are summed pairwise at the end (neighbours first, then the pairs' sums, ...). The
compiled loop (chainrule.native.square_sums) and the NumPy path below follow that order, so
both give the same bits, and so does a parameter whether its array is a slice of an
optimizer's flat buffer or one of its own. One call covers every parameter of a flat buffer:
a sampled step costs a few calls, not a few per parameter.
"""

from __future__ import annotations

from .. import native
from ..engine.backend import module_of, to_host

__all__ = ["square_sums"]

LANES = 32  # as _native.c's


def square_sums(a, ends: tuple, b=None) -> list:
    """[Σ (a − b)² over each segment of the flat array a] (b None: Σ a²), the segments ending
    at the offsets `ends` (the first starting at 0), as Python floats."""
    sums = native.square_sums(a, b, ends)
    if sums is not False:
        return sums
    starts = (0, *ends)
    if a.ndim != 1 or any(end < start for start, end in zip(starts, ends)) or starts[-1] > a.size:
        raise ValueError(f"square_sums: segments ending at {ends} of an array of shape {a.shape}")
    return [
        _lanes(a[start:end], None if b is None else b[start:end])
        for start, end in zip(starts, ends)
    ]


def _lanes(a, b) -> float:
    xp = module_of(a)
    terms = a.astype(xp.float64)
    if b is not None:
        terms -= b
    terms *= terms
    padded = xp.zeros(-(-len(terms) // LANES) * LANES, xp.float64)
    padded[: len(terms)] = terms
    lane = to_host(padded.reshape(-1, LANES).sum(axis=0)).tolist()  # row after row
    while len(lane) > 1:
        lane = [x + y for x, y in zip(lane[::2], lane[1::2])]
    return lane[0]
