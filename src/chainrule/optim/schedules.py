"""Learning-rate schedules as pure functions of the step: the value at step t, for any t.

Each is the closed form behind the torch-compatible scheduler of the same family in
lr_scheduler.py, so a schedule can be plotted, e.g. `[cosine(t, 0.1, T_max=100) for t in
range(300)]`, without an optimizer. `step` counts scheduler steps from 0.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from ..engine.tensor import ChainruleError


class SchedulerError(ChainruleError, ValueError):
    """Bad scheduler arguments, or stepping past a schedule's end."""


def step_decay(step, base_lr, step_size, gamma=0.1):
    """base_lr · γ^⌊t / step_size⌋ (StepLR)."""
    return base_lr * gamma ** (step // step_size)


def multistep_decay(step, base_lr, milestones, gamma=0.1):
    """base_lr · γ^(number of milestones ≤ t) (MultiStepLR; a repeated milestone counts twice)."""
    return base_lr * gamma ** bisect_right(sorted(milestones), step)


def exponential_decay(step, base_lr, gamma):
    """base_lr · γ^t (ExponentialLR)."""
    return base_lr * gamma**step


def cosine(step, base_lr, T_max, eta_min=0.0):
    """η_min + (base_lr − η_min)(1 + cos(π t / T_max)) / 2 (CosineAnnealingLR).

    Past T_max it keeps following the cosine (back up to base_lr at 2 T_max), as PyTorch does.
    """
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2


def restart_position(step, T_0, T_mult=1):
    """(T_cur, T_i): steps since the last warm restart and the length of the current cycle."""
    t_cur, t_i = step, T_0
    if T_mult == 1:
        return step % T_0, T_0
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= T_mult
    return t_cur, t_i


def cosine_warm_restarts(step, base_lr, T_0, T_mult=1, eta_min=0.0):
    """Cosine from base_lr to η_min over T_i steps, restarting; T_i grows by T_mult each cycle.

    `step` may be fractional (e.g. epoch + batch / batches), as in PyTorch.
    """
    t_cur, t_i = restart_position(step, T_0, T_mult)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def linear(step, base_lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    """base_lr times a factor going linearly from start to end over total_iters (LinearLR)."""
    progress = min(total_iters, step) / total_iters
    return base_lr * (start_factor + (end_factor - start_factor) * progress)


def sequential(step, schedules, milestones):
    """schedules[i](t − milestones[i−1]) between milestones (SequentialLR: warmup, then decay).

    schedules: functions of the step, e.g. functools.partial(cosine, base_lr=0.1, T_max=90).
    """
    i = bisect_right(milestones, step)
    return schedules[i](step - milestones[i - 1] if i else step)


def _anneal(start, end, pct, strategy):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_phases(total_steps, pct_start, three_phase):
    """(end step, start point, end point) of each phase; points index (low, peak, floor)."""
    if three_phase:
        return [
            (float(pct_start * total_steps) - 1, 0, 1),
            (float(2 * pct_start * total_steps) - 2, 1, 0),
            (total_steps - 1, 0, 2),
        ]
    return [(float(pct_start * total_steps) - 1, 0, 1), (total_steps - 1, 1, 2)]


def _one_cycle_value(step, points, total_steps, pct_start, anneal_strategy, three_phase):
    start_step = 0.0
    phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    for i, (end_step, start, end) in enumerate(phases):
        if step <= end_step or i == len(phases) - 1:
            pct = (step - start_step) / (end_step - start_step)
            return _anneal(points[start], points[end], pct, anneal_strategy)
        start_step = end_step


def one_cycle(
    step,
    max_lr,
    total_steps,
    pct_start=0.3,
    anneal_strategy="cos",
    div_factor=25.0,
    final_div_factor=1e4,
    three_phase=False,
):
    """OneCycleLR's learning rate: up from max_lr/div_factor to max_lr over pct_start of the
    steps, then down to max_lr/(div_factor·final_div_factor) (three_phase: back to the start
    value first, then down)."""
    initial_lr = max_lr / div_factor
    points = (initial_lr, max_lr, initial_lr / final_div_factor)
    return _one_cycle_value(step, points, total_steps, pct_start, anneal_strategy, three_phase)


def one_cycle_momentum(
    step,
    total_steps,
    base_momentum=0.85,
    max_momentum=0.95,
    pct_start=0.3,
    anneal_strategy="cos",
    three_phase=False,
):
    """OneCycleLR's momentum (or Adam's β₁): moves opposite to the learning rate."""
    points = (max_momentum, base_momentum, max_momentum)
    return _one_cycle_value(step, points, total_steps, pct_start, anneal_strategy, three_phase)
