"""A scheduler made for a resumed optimizer, then load_state_dict: torch's lrs step for step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

SCHEDULERS = {
    "StepLR": ({"step_size": 2, "gamma": 0.5}, {}),
    "MultiStepLR": ({"milestones": [2, 5], "gamma": 0.3}, {}),
    "ExponentialLR": ({"gamma": 0.8}, {}),
    "CosineAnnealingLR": ({"T_max": 6, "eta_min": 1e-5}, {}),
    "LinearLR": ({"start_factor": 0.25, "total_iters": 4}, {}),
    "OneCycleLR": ({"max_lr": 0.01, "total_steps": 20}, {}),
    "CosineAnnealingWarmRestarts": ({"T_0": 3}, {}),
}


def _lrs(lib, name, kwargs):
    """Train 5 steps, save; resume in a fresh optimizer and scheduler; the lrs seen after."""
    params = [(lib.nn.Parameter(lib.ones(2)))]
    opt = lib.optim.SGD(params, lr=1e-3)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    for _ in range(5):
        params[0].grad = np.ones(2) if lib is cr else torch.ones(2)
        opt.step()
        sched.step()
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    fresh = [lib.nn.Parameter(lib.ones(2))]
    opt2 = lib.optim.SGD(fresh, lr=1e-3)
    opt2.load_state_dict(opt_state)
    sched2 = getattr(lib.optim.lr_scheduler, name)(opt2, **kwargs)
    sched2.load_state_dict(sched_state)
    seen = [(opt2.param_groups[0]["lr"], sched2.get_last_lr()[0])]
    for _ in range(5):
        fresh[0].grad = np.ones(2) if lib is cr else torch.ones(2)
        opt2.step()
        sched2.step()
        seen.append((opt2.param_groups[0]["lr"], sched2.get_last_lr()[0]))
    return seen


@pytest.mark.parametrize("name", sorted(set(SCHEDULERS) - {"LinearLR"}))
def test_resumed_scheduler_shows_torchs_lr_step_for_step(name):
    kwargs, _ = SCHEDULERS[name]
    ours, theirs = _lrs(cr, name, kwargs), _lrs(torch, name, kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)


def test_resumed_linear_lr_returns_to_its_schedule_where_torch_stays_scaled():
    """torch's LinearLR made for a resumed optimizer multiplies the held lr by start_factor
    and, past total_iters, never undoes it; chainrule's lr is a function of the step."""
    kwargs = SCHEDULERS["LinearLR"][0]
    ours, theirs = _lrs(cr, "LinearLR", kwargs), _lrs(torch, "LinearLR", kwargs)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)  # right after loading: equal
    np.testing.assert_allclose([lr for lr, _ in ours[1:]], 1e-3, rtol=1e-12)
    np.testing.assert_allclose([lr for lr, _ in theirs[1:]], 0.25e-3, rtol=1e-12)
