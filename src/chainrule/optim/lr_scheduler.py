"""torch.optim.lr_scheduler's schedulers, each a thin wrapper over a pure schedule.

A scheduler sets `group["lr"]` of its optimizer to its schedule's value at `last_epoch`
(0 at construction, +1 per `step()`), always from `base_lrs` (the groups' "initial_lr"),
never from the lr another scheduler left: the value is a function of the step alone, so a
`state_dict()` (plain JSON-serialisable numbers and lists) resumes exactly. To chain
schedules use SequentialLR (or compose the functions in chainrule.optim.schedules). One
exception, torch's: a StepLR, MultiStepLR, ExponentialLR or CosineAnnealingLR made for an
optimizer that was resumed (its groups hold "initial_lr") keeps the lr the optimizer holds
until its next step(), as torch's chainable form does.
"""

from __future__ import annotations

import copy
import math
from bisect import bisect_right

from . import schedules
from .plateau import ReduceLROnPlateau
from .scheduler import LRScheduler
from .schedules import (
    SchedulerError,
    cosine,
    cosine_warm_restarts,
    exponential_decay,
    linear,
    multistep_decay,
    one_cycle,
    one_cycle_momentum,
    sequential,
    step_decay,
)

__all__ = [
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SchedulerError",
    "SequentialLR",
    "StepLR",
    # the pure schedules, functions of the step (see schedules.py)
    "cosine",
    "cosine_warm_restarts",
    "exponential_decay",
    "linear",
    "multistep_decay",
    "one_cycle",
    "one_cycle_momentum",
    "sequential",
    "step_decay",
]


class StepLR(LRScheduler):
    """lr = base_lr · γ^⌊t / step_size⌋."""

    scales_held_lr = True

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, step):
        return step_decay(step, base_lr, self.step_size, self.gamma)


class MultiStepLR(LRScheduler):
    """lr = base_lr · γ^(milestones passed)."""

    scales_held_lr = True

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, step):
        return multistep_decay(step, base_lr, self.milestones, self.gamma)


class ExponentialLR(LRScheduler):
    """lr = base_lr · γ^t."""

    scales_held_lr = True

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, step):
        return exponential_decay(step, base_lr, self.gamma)


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base_lr − η_min)(1 + cos(π t / T_max)) / 2."""

    scales_held_lr = True

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, step):
        return cosine(step, base_lr, self.T_max, self.eta_min)


class LinearLR(LRScheduler):
    """lr = base_lr times a factor moving linearly from start_factor to end_factor (warmup)."""

    def __init__(
        self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1
    ):
        if not 0 < start_factor <= 1:
            raise SchedulerError(
                "Starting multiplicative factor expected to be greater than "
                f"0 and less or equal to 1, got {start_factor}"
            )
        if not 0 <= end_factor <= 1:
            raise SchedulerError(
                f"Ending multiplicative factor expected to be between 0 and 1, got {end_factor}"
            )
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, step):
        return linear(step, base_lr, self.start_factor, self.end_factor, self.total_iters)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_i steps, T_i = T_0 · T_mult^(restarts so far)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise SchedulerError(f"Expected positive integer T_0, but got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise SchedulerError(f"Expected integer T_mult >= 1, but got {T_mult}")
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        self.T_i, self.T_cur = T_0, last_epoch
        super().__init__(optimizer, last_epoch)

    def step(self, epoch=None):
        """Next step, or jump to `epoch` (may be fractional: epoch + batch / batches)."""
        if epoch is None:
            epoch = self.last_epoch + 1
        elif epoch < 0:
            raise SchedulerError(f"Expected non-negative epoch, but got {epoch}")
        self.T_cur, self.T_i = schedules.restart_position(epoch, self.T_0, self.T_mult)
        self.last_epoch = math.floor(epoch)
        self._set_lrs(
            [
                cosine_warm_restarts(epoch, base_lr, self.T_0, self.T_mult, self.eta_min)
                for base_lr in self.base_lrs
            ]
        )


class SequentialLR(LRScheduler):
    """Runs schedulers[i] between milestones[i-1] and milestones[i], each from its own step 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if not schedulers:
            raise SchedulerError("SequentialLR expects at least one scheduler")
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise SchedulerError(
                    f"SequentialLR does not support ReduceLROnPlateau (scheduler at index {i})"
                )
            if scheduler.optimizer is not optimizer:
                raise SchedulerError(
                    f"SequentialLR: scheduler at index {i} belongs to another optimizer"
                )
        if len(milestones) != len(schedulers) - 1:
            raise SchedulerError(
                f"SequentialLR expects one milestone fewer than schedulers, "
                f"got {len(schedulers)} schedulers and {len(milestones)} "
                "milestones"
            )
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            scheduler.last_epoch -= 1  # undo the step each made when it was built
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler.last_epoch = -1  # each scheduler starts from its own step 0
        scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = copy.deepcopy(
            {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        )
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = copy.deepcopy(state_dict)
        for scheduler, saved in zip(self._schedulers, state.pop("_schedulers")):
            scheduler.load_state_dict(saved)
        self.__dict__.update(state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith): lr up to max_lr then far down, momentum (or β₁) opposite."""

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start=0.3,
        anneal_strategy="cos",
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor=25.0,
        final_div_factor=1e4,
        three_phase=False,
        last_epoch=-1,
    ):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise SchedulerError(
                    "You must define either total_steps OR (epochs AND steps_per_epoch)"
                )
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise SchedulerError(f"Expected positive integer total_steps, but got {total_steps}")
        if not 0 <= pct_start <= 1:
            raise SchedulerError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise SchedulerError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        uses_betas = "betas" in optimizer.defaults
        if cycle_momentum and not uses_betas and "momentum" not in optimizer.defaults:
            raise SchedulerError(
                "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
            )
        self.total_steps, self.pct_start = total_steps, pct_start
        self.anneal_strategy, self.three_phase = anneal_strategy, three_phase
        self.cycle_momentum, self.use_beta1 = cycle_momentum, uses_betas
        self.div_factor, self.final_div_factor = div_factor, final_div_factor
        groups = optimizer.param_groups
        self.max_lrs = _per_group("max_lr", max_lr, groups)
        self.base_momentums = _per_group("base_momentum", base_momentum, groups)
        self.max_momentums = _per_group("max_momentum", max_momentum, groups)
        if last_epoch == -1:
            for group, lr in zip(groups, self.max_lrs):
                group["initial_lr"] = lr / div_factor
                group["max_lr"], group["min_lr"] = lr, lr / div_factor / final_div_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise SchedulerError(
                f"Tried to step {step} times. The specified number of total "
                f"steps is {self.total_steps}"
            )
        shape = dict(
            pct_start=self.pct_start,
            anneal_strategy=self.anneal_strategy,
            three_phase=self.three_phase,
        )
        if self.cycle_momentum:
            for group, low, high in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                momentum = one_cycle_momentum(step, self.total_steps, low, high, **shape)
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return [
            one_cycle(
                step,
                max_lr,
                self.total_steps,
                div_factor=self.div_factor,
                final_div_factor=self.final_div_factor,
                **shape,
            )
            for max_lr in self.max_lrs
        ]


def _per_group(name, value, groups):
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise SchedulerError(f"expected {len(groups)} values for {name}, got {len(value)}")
        return list(value)
    return [value] * len(groups)
