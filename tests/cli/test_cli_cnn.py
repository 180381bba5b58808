"""`chainrule train --model cnn`: the network it builds for images and signals, and a run."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import config as cfg
from chainrule.cli.options import OptionError
from chainrule.cli.setup import build_model


def kinds(model):
    return [type(m).__name__ for m in model.children()]


def test_square_rows_are_images():
    model = build_model(64, 10, cfg.resolve({"model": "cnn", "batchnorm": True,
                                             "dropout": 0.2}))
    assert kinds(model) == ["Unflatten"] + ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"] * 2 \
        + ["Flatten", "Dropout", "Linear"]
    out = model(cr.tensor(np.zeros((3, 64), np.float32)))
    assert out.shape == (3, 10)


def test_other_rows_are_signals_through_convbase():
    model = build_model(40, 10, cfg.resolve({"model": "cnn", "activation": "tanh"}))
    assert kinds(model) == ["Unflatten"] + ["Conv1d", "Tanh"] * 3 + ["Flatten", "Linear"]
    convs = [m for m in model.children() if isinstance(m, cr.nn.Conv1d)]
    assert [(c.kernel_size, c.stride, c.padding, c.out_channels) for c in convs] == [
        ((5,), (2,), (1,), 25), ((3,), (2,), (1,), 25), ((3,), (2,), (1,), 25)]
    assert model[-1].in_features == 125  # 40 -> 19 -> 10 -> 5 positions of 25 channels
    assert model(cr.tensor(np.zeros((2, 40), np.float32))).shape == (2, 10)


def test_too_few_features_is_an_option_error():
    with pytest.raises(OptionError, match="--model cnn needs at least 7 features"):
        build_model(2, 2, cfg.resolve({"model": "cnn"}))


def test_train_cnn_on_digits_then_evaluate_and_gradcheck(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--dataset", "digits", "--model", "cnn", "--epochs", "4",
                     "--lr", "3e-3", "--out", out, timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85
    model = cr.load(out / "model.safetensors")
    assert "Conv2d" in {type(m).__name__ for m in model.modules()}
    evaluated = run_cli("evaluate", "--model", out, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    checked = run_cli("gradcheck", "--model", out, "--rows", "4", timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
