"""GradientMonitor: the texts' advice to watch gradient norms, built in.

Per parameter (dotted name, e.g. "0.weight"): the gradient norm and the update-to-weight
ratio ‖Δw‖/‖w‖ of each step. Per activation layer: the fraction of dead ReLU units (never
positive for any example seen in the epoch) and of saturated sigmoid/tanh outputs (within
0.01 of the asymptotes). Epoch means land in History.grad_monitor:

    {"epoch": [...], "grad_norm": {param: [...]}, "update_ratio": {param: [...]},
     "dead_relu": {layer: [...]}, "saturated": {layer: [...]}, "warnings": [...]}

It warns (GradientWarning), once per parameter, when gradients vanish (norm below
`vanish_below`, or more than `max_ratio` times smaller than at the output layer) or explode
(norm above `explode_above`, or more than `max_ratio` times larger than at the output layer).
Activations are observed by wrapping the forward of ReLU, Sigmoid and Tanh modules during
training (chainrule.compile.observed_forward, so a compiled step's replays are observed too,
on either road); the wrappers are removed when fit returns.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np

from ...compile import observed_forward
from ...engine.backend import to_host
from ..weights_copy import WeightsCopy
from .base import Callback

__all__ = ["GradientMonitor", "GradientWarning"]

SATURATION_MARGIN = 0.01
_ADVICE = {
    "vanish": "vanishing gradient in {where}; consider "
    "ReLU-family activations, He/Xavier initialization, normalization",
    "explode": "exploding gradient in {where}; consider a lower "
    "learning rate, clip_grad_norm, standardized inputs",
}


class GradientWarning(UserWarning):
    """Gradients vanish or explode in some layer."""


def _activation_kind(module):
    return {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}.get(type(module).__name__)


class _EpochSums:
    """Running sums over one epoch, keyed by name."""

    def __init__(self):
        self.sums, self.counts = defaultdict(float), defaultdict(int)

    def add(self, name, value):
        self.sums[name] += value
        self.counts[name] += 1

    def add_all(self, pairs):
        """add(name, value) for each (name, value) pair."""
        sums, counts = self.sums, self.counts
        for name, value in pairs:
            sums[name] += value
            counts[name] += 1

    def means(self):
        return {name: self.sums[name] / self.counts[name] for name in self.sums}

    def state_dict(self):
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def load_state_dict(self, state):
        self.sums.update(state["sums"])
        self.counts.update(state["counts"])


class GradientMonitor(Callback):
    """Record per-layer gradient statistics every `every_n_steps` steps (see module doc), or
    on at most `samples_per_epoch` evenly spaced steps of each epoch when that is given (the
    step interval is then set from the epoch's length when training begins)."""

    order = -50

    def __init__(
        self,
        every_n_steps=1,
        vanish_below=1e-7,
        explode_above=1e4,
        max_ratio=1e3,
        warn=True,
        samples_per_epoch=None,
    ):
        self.every_n_steps = int(every_n_steps)
        self.samples_per_epoch = None if samples_per_epoch is None else int(samples_per_epoch)
        if self.every_n_steps < 1 or (
            self.samples_per_epoch is not None and self.samples_per_epoch < 1
        ):
            raise ValueError(
                "GradientMonitor: every_n_steps and samples_per_epoch must be at least 1, got "
                f"{every_n_steps!r} and {samples_per_epoch!r}"
            )
        self.warn = warn  # False: warnings only recorded (e.g. shown on a page instead)
        self.vanish_below, self.explode_above = vanish_below, explode_above
        self.max_ratio = max_ratio
        self.record = {
            "epoch": [],
            "grad_norm": {},
            "update_ratio": {},
            "dead_relu": {},
            "saturated": {},
            "warnings": [],
        }
        self._warned = set()
        self._wrapped = []
        self._own_copy = WeightsCopy()  # the weights before a sampled step, if no guard's
        self._observing = False  # whether the forward under way is a sampled step's
        self._reset_epoch()

    def _reset_epoch(self):
        self._grad, self._ratio, self._saturated = _EpochSums(), _EpochSums(), _EpochSums()
        self._ever_active = {}
        self._before = None  # the sampled step's copy of the weights before it, until its end

    # --- activations, through wrapped forwards -------------------------------------------
    def on_train_begin(self, state):
        if self.samples_per_epoch is not None:
            # at most samples_per_epoch of an epoch's steps (41 steps, 4 samples: every 11th)
            self.every_n_steps = max(1, -(-state.batches_per_epoch // self.samples_per_epoch))
        self.step_interval = self.every_n_steps  # fit calls the per-step hooks at these only
        self._observing = False  # (a run that failed in a sampled forward may have left it)
        for name, module in state.model.named_modules():
            kind = _activation_kind(module)
            if kind is not None and "forward" not in vars(module):
                module.forward = self._wrap(module, name or type(module).__name__, kind, state)
                self._wrapped.append(module)

    def _wrap(self, module, name, kind, state):
        def observe(activation):  # called at every training step: kept short
            if self._observing and module.training:
                self._observe(name, kind, activation)

        return observed_forward(module.forward, observe)

    def _observe(self, name, kind, a):
        if a.ndim != 2:
            a = a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
        if kind == "relu":
            active = to_host((a > 0).any(axis=0))
            seen = self._ever_active.get(name)
            if seen is None:
                self._ever_active[name] = active
            else:
                seen |= active
            return
        low, high = (0.0, 1.0) if kind == "sigmoid" else (-1.0, 1.0)
        saturated = (a < low + SATURATION_MARGIN) | (a > high - SATURATION_MARGIN)
        self._saturated.add(name, float(saturated.mean()))

    def close(self):
        for module in self._wrapped:
            vars(module).pop("forward", None)
        self._wrapped = []

    # --- gradients and updates -------------------------------------------------------------
    def on_batch_begin(self, state):
        self._observing = state.step % self.every_n_steps == 0

    def on_after_backward(self, state):
        self._observing = False
        if state.step % self.every_n_steps:
            return
        norms = {
            name: math.sqrt(float(square))
            for (name, _), square in zip(state.params, state.gradient_squares())
            if square is not None
        }
        self._grad.add_all(norms.items())
        self._check(norms)
        # The weights before the step: the divergence guard's copy when it took one at this
        # step (fit's guard runs first), else a copy of the monitor's own.
        before = state.weights_before
        if before is None or before.step != state.step:
            before = self._own_copy
            before.take(state)
        self._before = before

    def on_batch_end(self, state):
        before, self._before = self._before, None
        if before is None:  # not a sampled step (fit calls this hook after sampled ones only)
            return
        self._ratio.add_all(before.update_ratios(state))

    def _warn(self, name, kind, message):
        if (name, kind) in self._warned:
            return
        self._warned.add((name, kind))
        self.record["warnings"].append(message)
        if self.warn:
            warnings.warn(message, GradientWarning, stacklevel=2)

    def _check(self, norms):
        """Warn about weights (biases left out) whose gradient vanishes or explodes, in
        absolute terms or relative to the output layer (the last weight)."""
        weights = [name for name in norms if not name.endswith("bias")]
        if not weights:
            return
        output_norm = norms[weights[-1]]
        for name in weights:
            norm = norms[name]
            relative = output_norm / norm if norm > 0 else np.inf
            if norm < self.vanish_below or relative > self.max_ratio:
                kind = "vanish"
            elif norm > self.explode_above or relative < 1.0 / self.max_ratio:
                kind = "explode"
            else:
                continue
            where = f"{name!r}: gradient norm {norm:.3g} (output layer: {output_norm:.3g})"
            self._warn(name, kind, _ADVICE[kind].format(where=where))

    # --- per-epoch record ------------------------------------------------------------------
    def on_epoch_end(self, state):
        record = self.record
        record["epoch"].append(state.epoch)
        dead = {name: float(1.0 - active.mean()) for name, active in self._ever_active.items()}
        for key, means in (
            ("grad_norm", self._grad.means()),
            ("update_ratio", self._ratio.means()),
            ("dead_relu", dead),
            ("saturated", self._saturated.means()),
        ):
            for name, value in means.items():
                series = record[key].get(name)
                if series is None:  # NaN for the epochs before it was seen
                    series = record[key][name] = [float("nan")] * (len(record["epoch"]) - 1)
                series.append(value)
            for series in record[key].values():  # NaN for an epoch without a sample of it
                series += [float("nan")] * (len(record["epoch"]) - len(series))
        state.history.grad_monitor = record
        self._reset_epoch()

    def state_dict(self) -> dict:
        """The record, the warnings given, and the sums of the unfinished epoch."""
        return {
            "record": self.record,
            "warned": sorted(map(list, self._warned)),
            "grad": self._grad.state_dict(),
            "ratio": self._ratio.state_dict(),
            "saturated": self._saturated.state_dict(),
            "ever_active": {name: seen.copy() for name, seen in self._ever_active.items()},
        }

    def load_state_dict(self, state) -> None:
        self.record = state["record"]
        self._warned = {tuple(item) for item in state["warned"]}
        self._reset_epoch()
        for name in ("grad", "ratio", "saturated"):
            getattr(self, "_" + name).load_state_dict(state[name])
        # copies: the sampled steps OR into them in place (a checkpoint's arrays are read-only)
        self._ever_active = {
            name: np.array(to_host(seen), dtype=bool) for name, seen in state["ever_active"].items()
        }
