"""state_dict round trips, torch's layout, zero_grad, argument errors, the fused buffers."""

import json

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim

from optim_oracle import cr_loss, cr_params, make_problem, torch_loss, torch_params

OPTIMIZERS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.1)),
]


def train(params, opt, steps, X, y):
    for _ in range(steps):
        opt.zero_grad()
        cr_loss(params, X, y).backward()
        opt.step()


@pytest.mark.parametrize("fused_before, fused_after", [(False, False), (True, True),
                                                       (False, True), (True, False)])
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[n for n, _ in OPTIMIZERS])
def test_state_dict_resume_is_bit_identical(name, kwargs, fused_before, fused_after):
    X, y, weights = make_problem()
    params = cr_params(weights)
    opt = getattr(optim, name)(params, fused=fused_before, **kwargs)
    train(params, opt, 30, X, y)
    saved = opt.state_dict()
    saved_weights = [p.data.copy() for p in params]
    train(params, opt, 40, X, y)  # the run that is never interrupted

    resumed = cr_params(saved_weights)
    opt2 = getattr(optim, name)(resumed, fused=fused_after, **kwargs)
    opt2.load_state_dict(saved)
    # load_state_dict restores the saved group options, "fused" too (as torch does): switch
    # the path after loading so a checkpoint is resumed by the other path
    assert opt2.param_groups[0]["fused"] == fused_before
    opt2.param_groups[0]["fused"] = fused_after
    train(resumed, opt2, 40, X, y)
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[n for n, _ in OPTIMIZERS])
def test_state_dict_has_torch_layout(name, kwargs):
    X, y, weights = make_problem()
    ours, theirs = cr_params(weights), torch_params(weights)
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for o, loss in ((opt, cr_loss(ours, X, y)), (ref, torch_loss(theirs, X, y))):
        loss.backward()
        o.step()
    mine, torchs = opt.state_dict(), ref.state_dict()
    assert mine["state"].keys() == torchs["state"].keys()
    for index, entry in torchs["state"].items():
        assert mine["state"][index].keys() == entry.keys()
        for key, value in entry.items():
            np.testing.assert_allclose(mine["state"][index][key], value.numpy(), rtol=1e-12)
    group, torch_group = mine["param_groups"][0], torchs["param_groups"][0]
    assert set(group) - {"fused"} <= set(torch_group)
    assert {k: group[k] for k in group if k not in ("foreach", "fused")} == {
        k: torch_group[k] for k in group if k not in ("foreach", "fused")
    }


def test_state_dict_is_a_snapshot_and_json_friendly():
    X, y, weights = make_problem()
    params = cr_params(weights)
    opt = optim.Adam(params, lr=0.01)
    train(params, opt, 3, X, y)
    saved = opt.state_dict()
    before = saved["state"][0]["exp_avg"].copy()
    train(params, opt, 3, X, y)
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)
    as_json = json.loads(json.dumps({
        "state": {k: {n: v.tolist() if isinstance(v, np.ndarray) else v for n, v in s.items()}
                  for k, s in saved["state"].items()},
        "param_groups": saved["param_groups"],
    }))
    opt.load_state_dict(as_json)
    np.testing.assert_array_equal(opt.state[params[0]]["exp_avg"], before)
    assert opt.state[params[0]]["step"] == 3


def test_load_state_dict_names_what_does_not_fit():
    params = cr_params(make_problem()[2])
    opt = optim.Adam(params)
    params[0].grad = np.ones_like(params[0].data)
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(optim.OptimizerError, match="group 0 has 4 parameters, the optimizer's has 2"):
        optim.Adam(params[:2]).load_state_dict(saved)
    other = [cr.tensor(np.zeros((2, 2)), requires_grad=True), *params[1:]]
    with pytest.raises(optim.OptimizerError, match=r"shape \(6, 4\).*shape \(2, 2\)"):
        optim.Adam(other).load_state_dict(saved)


@pytest.mark.parametrize("fused", [False, True])
def test_zero_grad(fused):
    X, y, weights = make_problem()
    params = cr_params(weights)
    opt = optim.SGD(params, lr=0.1, fused=fused)
    cr_loss(params, X, y).backward()
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


BAD_ARGUMENTS = [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(momentum=-0.1)),
    ("SGD", dict(weight_decay=-1e-3)), ("SGD", dict(nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adagrad", dict(lr=-0.1)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(weight_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-0.1)),
    ("Adagrad", dict(eps=-1e-10)),
    ("RMSprop", dict(lr=-0.1)), ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-0.5)),
    ("RMSprop", dict(weight_decay=-1.0)), ("RMSprop", dict(alpha=-0.9)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(lr=float("nan"))), ("Adam", dict(eps=-1e-8)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-0.1)),
    ("AdamW", dict(lr=-1e-3)), ("AdamW", dict(betas=(0.9, 1.0))),
    ("AdamW", dict(weight_decay=-0.01)),
]


@pytest.mark.parametrize("name, kwargs", BAD_ARGUMENTS, ids=[f"{n}-{k}" for n, k in BAD_ARGUMENTS])
def test_bad_hyperparameters_raise_torchs_message(name, kwargs):
    with pytest.raises(ValueError) as torch_error:
        getattr(torch.optim, name)(torch_params(make_problem()[2]), **kwargs)
    with pytest.raises(optim.OptimizerError) as ours:
        getattr(optim, name)(cr_params(make_problem()[2]), **kwargs)
    assert str(ours.value) == str(torch_error.value)
    # per-group options are checked too
    params = cr_params(make_problem()[2])
    opt = getattr(optim, name)(params[:2])
    with pytest.raises(optim.OptimizerError, match="Invalid|Nesterov"):
        opt.add_param_group({"params": params[2:], **kwargs})
    assert len(opt.param_groups) == 1


def test_bad_parameters_raise_like_torch():
    params = cr_params(make_problem()[2])
    with pytest.raises(optim.OptimizerError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(params[0])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.Adam(set(params))
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        optim.SGD([params[0], np.zeros(3)])
    with pytest.raises(optim.OptimizerError, match="more than one parameter group"):
        optim.Adam([{"params": params[:2]}, {"params": params[1:]}])
    with pytest.raises(optim.OptimizerError, match="Invalid learning rate: nan"):
        optim.SGD(params, lr=float("nan"))  # torch's SGD lets a nan lr through
    with pytest.raises(optim.OptimizerError, match="betas must be a pair"):
        optim.Adam(params, betas=(0.9,))
    assert isinstance(optim.OptimizerError("x"), (cr.ChainruleError, ValueError))


def test_fused_path_shares_flat_buffers_and_follows_replaced_data():
    X, y, weights = make_problem()
    params = cr_params(weights)
    opt = optim.Adam(params, lr=0.01, fused=True)
    train(params, opt, 2, X, y)
    flat = params[0].data.base
    assert flat is not None and flat.size == sum(w.size for w in weights)
    assert all(p.data.base is flat for p in params)
    exp_avg = opt.state[params[0]]["exp_avg"].base
    assert exp_avg.size == flat.size and all(opt.state[p]["exp_avg"].base is exp_avg
                                             for p in params)
    # replacing .data (as loading weights does) is picked up on the next step
    params[0].data = np.zeros_like(params[0].data)
    train(params, opt, 1, X, y)
    assert np.abs(params[0].data).max() < 0.05 and params[0].data.base is not None



@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
def test_optimizer_and_warmup_cosine_checkpoint_resumes_bit_identically(fused):
    """Adam driven by warmup-then-cosine, checkpointed through JSON mid-warmup-run."""
    X, y, weights = make_problem()

    def build(params):
        opt = optim.Adam(params, lr=0.05, fused=fused)
        sched = optim.lr_scheduler.SequentialLR(opt, [
            optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=15),
            optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60)], milestones=[15])
        return opt, sched

    def run(params, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            cr_loss(params, X, y).backward()
            opt.step()
            sched.step()

    params = cr_params(weights)
    opt, sched = build(params)
    run(params, opt, sched, 10)  # inside the warmup
    saved = json.loads(json.dumps({
        "weights": [p.data.tolist() for p in params],
        "optimizer": {"state": {k: {n: v.tolist() if isinstance(v, np.ndarray) else v
                                    for n, v in s.items()}
                                for k, s in opt.state_dict()["state"].items()},
                      "param_groups": opt.state_dict()["param_groups"]},
        "scheduler": sched.state_dict()}))
    run(params, opt, sched, 50)

    resumed = cr_params([np.array(w) for w in saved["weights"]])
    opt2, sched2 = build(resumed)
    opt2.load_state_dict(saved["optimizer"])
    sched2.load_state_dict(saved["scheduler"])
    run(resumed, opt2, sched2, 50)
    assert sched2.get_last_lr() == sched.get_last_lr()
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("options, flat", [
    ({}, True), (dict(fused=False), False), (dict(foreach=False), False),
    (dict(fused=True), True), (dict(foreach=True), True),
])
def test_which_path_a_group_takes(options, flat):
    """By default a group whose parameters share a dtype takes the flat-buffer path: each
    parameter's data becomes a view of one buffer after the first step."""
    X, y, weights = make_problem()
    params = cr_params(weights)
    opt = optim.Adam(params, lr=0.01, **options)
    cr_loss(params, X, y).backward()
    opt.step()
    bases = {id(p.data.base) for p in params}
    assert (len(bases) == 1 and params[0].data.base is not None) == flat


def test_the_default_keeps_a_group_of_mixed_dtypes_per_parameter():
    params = [cr.tensor(np.ones(3, np.float32), requires_grad=True),
              cr.tensor(np.ones(2, np.float64), requires_grad=True)]
    opt = optim.SGD(params, lr=0.5)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    assert [p.data.dtype for p in params] == [np.float32, np.float64]
    assert all(p.data.base is None and np.all(p.data == 0.5) for p in params)
    with pytest.raises(cr.ChainruleError, match="mixes dtypes"):
        optim.SGD(params, lr=0.5, fused=True).step()


def test_flat_buffers_are_the_fused_groups_and_say_when_current():
    params = [cr.tensor(np.ones((2, 3)), requires_grad=True),
              cr.tensor(np.zeros(3), requires_grad=True)]
    opt = optim.SGD(params, lr=0.1, fused=True)
    assert opt.flat_buffers(params) is None  # no step yet: no buffers
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    flat = opt.flat_buffers(params)
    assert flat.current_data() is not None and flat.current_data().shape == (9,)
    assert all(np.shares_memory(p.data, flat.current_data()) for p in params)
    assert flat.current_grad() is None  # backward()'s own arrays, not the buffer's views
    assert opt.flat_buffers(params[::-1]) is None and opt.flat_buffers(params[:1]) is None
    params[1].data = np.zeros(3)  # replaced, e.g. by load_state_dict
    assert flat.current_data() is None
    plain = optim.SGD(params, lr=0.1, fused=False)
    plain.step()
    assert plain.flat_buffers(params) is None
