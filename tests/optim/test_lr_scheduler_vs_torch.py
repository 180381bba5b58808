"""Every scheduler's learning rate matches torch.optim.lr_scheduler's over 300 steps."""

import json
import math

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as T

import chainrule as cr
import chainrule.optim.lr_scheduler as C
from chainrule import optim

from optim_oracle import cr_loss, cr_params, make_problem, torch_params

STEPS = 300

CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=30, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[50, 120, 120, 200], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.99),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=80, eta_min=1e-4),
    "CosineAnnealingLR-to-zero": lambda m, o: m.CosineAnnealingLR(o, T_max=300),
    "WarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=25),
    "WarmRestarts-Tmult": lambda m, o: m.CosineAnnealingWarmRestarts(o, 20, 2, eta_min=1e-3),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=40),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                              total_iters=250),
    "warmup-then-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=20), m.CosineAnnealingLR(o, 280)],
        milestones=[20]),
    "three-in-sequence": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.5, total_iters=10), m.ExponentialLR(o, 0.98),
            m.StepLR(o, 40, 0.5)], milestones=[10, 100]),
    "OneCycleLR-SGD": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=STEPS),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.3, epochs=30, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25, base_momentum=0.8, max_momentum=0.9),
}


def make_optimizers(name, weights):
    """Two param groups with different lr; Adam for one OneCycle case (it cycles β₁)."""
    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}]

    ours, theirs = cr_params(weights), torch_params(weights)
    if "3phase" in name:
        return ours, theirs, optim.Adam(groups(ours), lr=0.1), torch.optim.Adam(
            groups(theirs), lr=0.1)
    return (ours, theirs, optim.SGD(groups(ours), lr=0.1, momentum=0.9),
            torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9))


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def assert_same_lrs(sched, ref, opt, ref_opt):
    np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-9, atol=1e-16)
    np.testing.assert_allclose([g["lr"] for g in opt.param_groups], ref.get_last_lr(),
                               rtol=1e-9, atol=1e-16)
    np.testing.assert_allclose(momenta(opt), momenta(ref_opt), rtol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_scheduler_alone_matches_torch(name):
    X, y, weights = make_problem()
    _, _, opt, ref_opt = make_optimizers(name, weights)
    sched, ref = CASES[name](C, opt), CASES[name](T, ref_opt)
    assert_same_lrs(sched, ref, opt, ref_opt)
    seen = set()
    for _ in range(STEPS):
        opt.step()  # no gradients: nothing moves, the schedule alone is compared
        ref_opt.step()
        sched.step()
        ref.step()
        assert_same_lrs(sched, ref, opt, ref_opt)
        seen.add(round(sched.get_last_lr()[0], 12))
    assert len(seen) > 3  # the schedule did change the learning rate


@pytest.mark.parametrize("name", CASES)
def test_scheduler_driving_an_optimizer_matches_torch(name):
    X, y, weights = make_problem()
    ours, theirs, opt, ref_opt = make_optimizers(name, weights)
    sched, ref = CASES[name](C, opt), CASES[name](T, ref_opt)
    for _ in range(STEPS):
        opt.zero_grad()
        cr_loss(ours, X, y).backward()
        for p, q in zip(ours, theirs):
            q.grad = torch.from_numpy(p.grad.copy())
        opt.step()
        ref_opt.step()
        sched.step()
        ref.step()
        assert_same_lrs(sched, ref, opt, ref_opt)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_scheduler_state_dict_resumes_exactly(name):
    weights = make_problem()[2]
    _, _, opt, _ = make_optimizers(name, weights)
    sched = CASES[name](C, opt)
    for _ in range(97):
        sched.step()
    saved_sched = json.loads(json.dumps(sched.state_dict()))
    saved_opt = opt.state_dict()
    rest = []
    for _ in range(150):
        sched.step()
        rest.append(sched.get_last_lr() + momenta(opt))

    _, _, opt2, _ = make_optimizers(name, weights)
    sched2 = CASES[name](C, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    resumed = []
    for _ in range(150):
        sched2.step()
        resumed.append(sched2.get_last_lr() + momenta(opt2))
    assert resumed == rest


def test_one_cycle_refuses_to_step_past_its_end():
    opt = optim.SGD(cr_params(make_problem()[2]), lr=0.1, momentum=0.9)
    sched = C.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    for _ in range(5):
        sched.step()
    with pytest.raises(C.SchedulerError, match="Tried to step 6 times"):
        sched.step()


def test_warm_restarts_with_fractional_epochs_matches_torch():
    weights = make_problem()[2]
    _, _, opt, ref_opt = make_optimizers("", weights)
    sched = C.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=3, eta_min=0.01)
    ref = T.CosineAnnealingWarmRestarts(ref_opt, T_0=4, T_mult=3, eta_min=0.01)
    for epoch in np.arange(0, 50, 0.3):
        sched.step(float(epoch))
        ref.step(float(epoch))
        np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-9)
        assert sched.T_i == ref.T_i and math.isclose(sched.T_cur, ref.T_cur, rel_tol=1e-12)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.01, threshold_mode="abs", cooldown=3),
    dict(patience=0, cooldown=1, min_lr=[0.05, 0.001], factor=0.3),
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_torch(kwargs):
    weights = make_problem()[2]
    _, _, opt, ref_opt = make_optimizers("", weights)
    sched, ref = C.ReduceLROnPlateau(opt, **kwargs), T.ReduceLROnPlateau(ref_opt, **kwargs)
    rng = np.random.default_rng(3)
    # a noisy decreasing curve that flattens, then a slow rise
    metrics = np.concatenate([np.exp(-np.arange(150) / 30), 0.01 + np.arange(150) * 1e-3])
    metrics += rng.normal(scale=0.005, size=STEPS)
    lrs = []
    for i, metric in enumerate(metrics):
        if i == 100:
            saved = json.loads(json.dumps(sched.state_dict()))
            sched = C.ReduceLROnPlateau(opt, **kwargs)
            sched.load_state_dict(saved)
        sched.step(metric)
        ref.step(metric)
        assert sched.get_last_lr() == ref.get_last_lr()
        assert [g["lr"] for g in opt.param_groups] == ref.get_last_lr()
        lrs.append(sched.get_last_lr()[0])
    assert len(set(lrs)) > 1


@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
def test_reduce_on_plateau_driving_an_optimizer_matches_torch(fused):
    """Stepped on the training loss each step, it cuts Adam's lr as torch's does."""
    X, y, weights = make_problem()
    ours, theirs = cr_params(weights), torch_params(weights)
    opt, ref_opt = optim.Adam(ours, lr=0.05, fused=fused), torch.optim.Adam(theirs, lr=0.05)
    kwargs = dict(factor=0.5, patience=3, threshold=1e-3, cooldown=2)
    sched, ref = C.ReduceLROnPlateau(opt, **kwargs), T.ReduceLROnPlateau(ref_opt, **kwargs)
    assert isinstance(sched, C.LRScheduler)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = cr_loss(ours, X, y)
        loss.backward()
        for p, q in zip(ours, theirs):
            q.grad = torch.from_numpy(p.grad.copy())
        opt.step()
        ref_opt.step()
        sched.step(loss.item())
        ref.step(loss.item())
        assert sched.get_last_lr() == ref.get_last_lr() == [opt.param_groups[0]["lr"]]
    assert opt.param_groups[0]["lr"] <= 0.05 / 4  # it did cut, at least twice
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6, atol=1e-12)


def test_pure_schedules_are_the_schedulers_values():
    cosine = [C.cosine(t, 0.1, T_max=50) for t in range(120)]
    opt = optim.SGD([cr.tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    sched = C.CosineAnnealingLR(opt, T_max=50)
    values = [sched.get_last_lr()[0]]
    for _ in range(119):
        sched.step()
        values.append(sched.get_last_lr()[0])
    assert values == cosine
    assert C.cosine(50, 0.1, T_max=50) == 0.0 and C.cosine(100, 0.1, T_max=50) == 0.1
    assert C.step_decay(29, 1.0, 10, 0.5) == 0.25
    assert C.linear(0, 2.0, 0.25, 1.0, 4) == 0.5 and C.linear(9, 2.0, 0.25, 1.0, 4) == 2.0
    warm = [C.sequential(t, [lambda s: C.linear(s, 1.0, 0.5, 1.0, 2),
                             lambda s: C.exponential_decay(s, 1.0, 0.5)], [3])
            for t in range(6)]
    assert warm == [0.5, 0.75, 1.0, 1.0, 0.5, 0.25]
    assert math.isclose(C.one_cycle(0, 0.5, 100), 0.02)
    assert math.isclose(C.one_cycle(99, 0.5, 100), 0.02 / 1e4, rel_tol=1e-9)
    assert C.one_cycle(29, 0.5, 100) == 0.5  # the peak ends the first 30% of the steps
