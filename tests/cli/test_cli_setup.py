"""How train's options map onto layers, optimizers and schedules (in process, no training)."""

import math

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.cli import config as cfg
from chainrule.cli.setup import build_model, build_optimizer, build_scheduler


def configured(**options):
    return cfg.resolve(options)


def one_parameter_optimizer(config):
    return build_optimizer(config, [nn.Parameter(np.zeros(3, dtype=np.float32))])


@pytest.mark.parametrize("name, cls, expected", [
    ("sgd", optim.SGD, {"lr": 0.1, "momentum": 0.0, "nesterov": False}),
    ("momentum", optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": False}),
    ("nesterov", optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adagrad", optim.Adagrad, {"lr": 0.05}),
    ("rmsprop", optim.RMSprop, {"lr": 1e-3, "momentum": 0.0}),
    ("adam", optim.Adam, {"lr": 1e-3, "weight_decay": 0.0}),
    ("adamw", optim.AdamW, {"lr": 1e-3, "weight_decay": 0.01}),  # torch's AdamW default
])
def test_optimizer_names(name, cls, expected):
    opt = one_parameter_optimizer(configured(optimizer=name))
    assert type(opt) is cls
    group = opt.param_groups[0]
    for key, value in expected.items():
        assert group[key] == value, key


def test_optimizer_options_pass_through():
    opt = one_parameter_optimizer(configured(optimizer="momentum", lr=0.3, momentum=0.5,
                                             weight_decay=1e-3))
    group = opt.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.3, 0.5, 1e-3)


def lrs(schedule, epochs=12, metrics=None, lr=1.0):
    config = configured(optimizer="sgd", lr=lr, schedule=schedule, epochs=epochs)
    opt = one_parameter_optimizer(config)
    scheduler = build_scheduler(config, opt)
    values = [opt.param_groups[0]["lr"]]
    for epoch in range(epochs - 1):
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        values.append(opt.param_groups[0]["lr"])
    return np.array(values)


def test_no_schedule():
    config = configured(schedule="none")
    assert build_scheduler(config, one_parameter_optimizer(config)) is None


def test_step_schedule_drops_tenfold_every_third_of_the_run():
    np.testing.assert_allclose(lrs("step"), [1.0] * 4 + [0.1] * 4 + [0.01] * 4)


def test_exponential_schedule_falls_100x_over_the_run():
    values = lrs("exp", epochs=10)
    ratios = values[1:] / values[:-1]
    np.testing.assert_allclose(ratios, ratios[0])
    assert ratios[0] ** 10 == pytest.approx(0.01)


def test_cosine_schedule():
    values = lrs("cosine", epochs=10)
    expected = [0.5 * (1 + math.cos(math.pi * t / 10)) for t in range(10)]
    np.testing.assert_allclose(values, expected, atol=1e-12)


def test_warmup_cosine_rises_then_decays():
    values = lrs("warmup-cosine", epochs=20)  # warm-up of 2 epochs from 0.1 × lr
    assert values[0] == pytest.approx(0.1)
    assert values[2] == pytest.approx(1.0)
    assert np.all(np.diff(values[2:]) < 0)
    assert values[-1] < 0.01


def test_plateau_halves_after_four_epochs_without_progress():
    values = lrs("plateau", epochs=8, metrics=[1.0] * 7)
    np.testing.assert_allclose(values, [1.0] * 5 + [0.5] * 3)


def test_model_layers():
    model = build_model(4, 3, configured(hidden=[8, 5], activation="tanh", dropout=0.2,
                                         batchnorm=True))
    kinds = [type(m).__name__ for m in model.children()]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout"] * 2 + ["Linear"]
    shapes = [p.shape for p in model.parameters()]
    assert shapes[0] == (8, 4) and shapes[-2] == (3, 5)


def test_no_hidden_layer_is_a_linear_model():
    model = build_model(4, 1, configured(hidden=[]))
    assert [type(m).__name__ for m in model.children()] == ["Linear"]
