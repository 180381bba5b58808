"""A copy of the trained weights, taken before an optimizer step: the divergence guard puts it
back when training diverges, the gradient monitor measures each update ‖Δw‖/‖w‖ from it.

When the weights are views of one flat buffer, as a fused optimizer makes them (the optimizer
says which: Optimizer.flat_buffers), one copy over that buffer does for all of them; else one
copy per parameter. The arrays are reused from copy to copy. Reading the copy back copes with
an optimizer that rebuilt its buffers since (the parameters then hold other arrays).
"""

from __future__ import annotations

import math

import numpy as np

from .norms import square_sums

__all__ = ["WeightsCopy"]


class WeightsCopy:
    """The weights of state.params at the last take(): restore() puts them back,
    update_ratios() measures the change since. `step` is the state.step of that take."""

    def __init__(self):
        self.step = None
        self._source = None  # the flat buffer copied, or None when copied per parameter
        self._buffers = None  # the optimizer's FlatGroup holding it
        self._copy = None  # its copy (one array; None when copied per parameter)
        self._views: list = []  # each parameter's copied weights (views of _copy, or arrays)
        self._slices: list = []  # each parameter's slice of the flat copy

    def take(self, state) -> None:
        """Copy the weights of state.params now."""
        params = [p for _, p in state.params]
        self.step = state.step
        ask = getattr(state.optimizer, "flat_buffers", None)
        buffers = None if ask is None else ask(params)
        flat = None if buffers is None else buffers.current_data()
        if buffers is not None and flat is not None:
            if not _fits(self._copy, flat) or self._buffers is not buffers:
                self._copy, self._slices = np.empty_like(flat), buffers.slices
                self._views = _split(self._copy, self._slices, params)
            self._source, self._buffers = flat, buffers
            np.copyto(self._copy, flat)
            return
        if (
            self._source is not None
            or len(self._views) != len(params)
            or not all(map(_fits, self._views, (p.data for p in params)))
        ):
            self._views = [np.empty_like(p.data) for p in params]
        self._source = self._buffers = self._copy = None
        for kept, p in zip(self._views, params):
            np.copyto(kept, p.data)

    def _unchanged_source(self, params) -> bool:
        """Whether the copy is of a flat buffer the parameters still hold views of."""
        buffers = self._buffers
        return (
            buffers is not None and buffers.holds(params) and buffers.current_data() is self._source
        )

    def restore(self, params) -> None:
        """Put the copied weights back into `params` (the ones copied, in the same order)."""
        if self._unchanged_source(params):
            np.copyto(self._source, self._copy)
            return
        for kept, p in zip(self._views, params):
            if p.data.shape == kept.shape:
                np.copyto(p.data, kept)

    def update_ratios(self, state) -> list:
        """(name, ‖Δw‖/‖w‖) per parameter whose copied weights are not all zero, Δw being the
        change since the copy (taken before the step, read after it)."""
        params = [p for _, p in state.params]
        names = [name for name, _ in state.params]
        if self._unchanged_source(params):  # two calls for all the parameters
            ends = self._buffers.ends
            weights = square_sums(self._copy, ends)
            changes = square_sums(self._source, ends, self._copy)
        else:
            rows = [
                (name, p.data.ravel(), kept.ravel())
                for name, p, kept in zip(names, params, self._views)
                if p.data.shape == kept.shape
            ]
            names = [name for name, _, _ in rows]
            weights = [square_sums(kept, (kept.size,))[0] for _, _, kept in rows]
            changes = [square_sums(now, (now.size,), kept)[0] for _, now, kept in rows]
        return [
            (name, math.sqrt(change / weight))
            for name, weight, change in zip(names, weights, changes)
            if weight > 0
        ]


def _split(flat, slices, params) -> list:
    return [flat[s].reshape(p.data.shape) for s, p in zip(slices, params)]


def _fits(kept, array) -> bool:
    return kept is not None and kept.shape == array.shape and kept.dtype == array.dtype
