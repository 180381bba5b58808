"""Conv, pooling, BatchNorm2d and (Un)Flatten layers against torch.nn; gradcheck; weights
exchanged with torch through safetensors both ways; model files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import safetensors.torch
import torch
from nn_oracle import assert_close, assert_same_as_torch, copy_weights, gradcheck_module

import chainrule as cr

nn, tnn = cr.nn, torch.nn


def _cnn(lib, signal=True):
    """The same small CNN in chainrule.nn or torch.nn (same parameter names)."""
    if signal:
        return lib.Sequential(
            lib.Unflatten(1, (1, 12)), lib.Conv1d(1, 4, 5, stride=2, padding=1), lib.ReLU(),
            lib.Conv1d(4, 4, 3, padding="same", groups=2, dilation=2), lib.MaxPool1d(2),
            lib.AvgPool1d(2, padding=1, count_include_pad=False), lib.AdaptiveAvgPool1d(3),
            lib.Flatten(), lib.Linear(12, 3))
    return lib.Sequential(
        lib.Unflatten(1, (2, 6, 6)), lib.Conv2d(2, 4, (3, 2), padding=(1, 0), bias=False),
        lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2, stride=1, ceil_mode=True),
        lib.Conv2d(4, 6, 2, stride=(2, 1), dilation=(1, 2)), lib.AvgPool2d(2, ceil_mode=True),
        lib.AdaptiveAvgPool2d((2, None)), lib.Flatten(), lib.Linear(12, 3))


INPUT_WIDTH = {True: 12, False: 72}


@pytest.mark.parametrize("signal", [True, False])
def test_cnn_matches_torch_in_train_and_eval(signal):
    cr.manual_seed(0)
    model, reference = _cnn(nn, signal).double(), _cnn(tnn, signal)
    copy_weights(model, reference)
    rng = np.random.default_rng(2)
    for training in (True, False):
        model.train(training), reference.train(training)
        x = rng.standard_normal((5, INPUT_WIDTH[signal]))
        assert_same_as_torch(model, reference, x, what=f"training={training}")
    for name, array in model.state_dict().items():  # BatchNorm2d's running statistics too
        assert_close(array, reference.state_dict()[name], name)


@pytest.mark.parametrize("signal", [True, False])
def test_cnn_gradcheck(signal):
    cr.manual_seed(1)
    model = _cnn(nn, signal).double().eval()
    x = np.random.default_rng(3).standard_normal((2, INPUT_WIDTH[signal]))
    assert gradcheck_module(model, x)


@pytest.mark.parametrize("make, reference", [
    (lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2),
     tnn.Conv1d(4, 6, 3, 2, 1, groups=2)),
    (lambda: nn.Conv2d(3, 5, (2, 3), dilation=2, bias=False),
     tnn.Conv2d(3, 5, (2, 3), dilation=2, bias=False)),
])
def test_conv_parameters_have_torchs_names_shapes_and_initial_bounds(make, reference):
    cr.manual_seed(0)  # a fixed draw: the spread check of a 6-element bias holds for this one
    layer = make()
    shapes = {name: tuple(p.shape) for name, p in layer.named_parameters()}
    assert shapes == {name: tuple(p.shape) for name, p in reference.named_parameters()}
    fan_in = math.prod(layer.weight.shape[1:])
    for param in layer.parameters():  # kaiming_uniform_(a=√5) and the bias: U(±1/√fan_in)
        assert np.abs(param.data).max() <= 1 / math.sqrt(fan_in)
        assert param.data.std() > 0.2 / math.sqrt(fan_in)
    assert layer.weight.dtype == np.float32


def test_batchnorm2d_matches_torch_with_momentum_none_and_rejects_other_ranks():
    layer, reference = nn.BatchNorm2d(3, momentum=None).double(), tnn.BatchNorm2d(3,
                                                                                   momentum=None)
    copy_weights(layer, reference)
    rng = np.random.default_rng(4)
    for _ in range(2):
        assert_same_as_torch(layer, reference, rng.standard_normal((4, 3, 2, 5)))
    for name, array in layer.state_dict().items():
        assert_close(array, reference.state_dict()[name], name)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input of shape "
                                         r"\(N, 3, H, W\), got \(4, 3, 5\)"):
        layer(cr.tensor(np.ones((4, 3, 5))))


def test_unflatten_and_flatten_match_torch():
    x = np.random.default_rng(5).standard_normal((2, 3, 24))
    for layer, reference in ((nn.Unflatten(-1, (2, 3, 4)), tnn.Unflatten(-1, (2, 3, 4))),
                             (nn.Unflatten(1, (3, 1)), tnn.Unflatten(1, (3, 1))),
                             (nn.Flatten(0, 1), tnn.Flatten(0, 1))):
        assert_same_as_torch(layer, reference, x, what=repr(layer))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_keeps_the_dtype(dtype):
    model = _cnn(nn, signal=False).to(dtype)
    x = cr.tensor(np.random.default_rng(6).standard_normal((3, 72)).astype(dtype),
                  requires_grad=True)
    out = model(x)
    out.backward(np.ones(out.shape, dtype))
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert all(p.grad.dtype == dtype for p in model.parameters())


def test_state_dict_goes_to_torch_and_back_through_safetensors(tmp_path):
    cr.manual_seed(7)
    model = _cnn(nn, signal=False).double()
    model(cr.tensor(np.random.default_rng(7).standard_normal((4, 72))))  # move running stats
    path = tmp_path / "cnn.safetensors"
    cr.save_state_dict(model.state_dict(), path)
    reference = _cnn(tnn, signal=False).double()
    reference.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)
    model.eval(), reference.eval()
    x = np.random.default_rng(8).standard_normal((3, 72))
    with torch.no_grad():
        expected = reference(torch.from_numpy(x))
    assert_close(model(cr.tensor(x)).data, expected, "chainrule -> torch")

    torch.manual_seed(9)
    trained = _cnn(tnn, signal=True).double()
    back = tmp_path / "from_torch.safetensors"
    safetensors.torch.save_file(trained.state_dict(), str(back))
    ours = _cnn(nn, signal=True).double()
    ours.load_state_dict(cr.load_state_dict(back))
    x = np.random.default_rng(10).standard_normal((3, 12))
    with torch.no_grad():
        expected = trained(torch.from_numpy(x))
    assert_close(ours(cr.tensor(x)).data, expected, "torch -> chainrule")


@pytest.mark.parametrize("signal", [True, False])
def test_model_file_round_trip(tmp_path, signal):
    cr.manual_seed(11)
    model = _cnn(nn, signal)
    x = cr.tensor(np.random.default_rng(11).standard_normal((4, INPUT_WIDTH[signal]),
                                                           ).astype(np.float32))
    model(x)
    model.eval()
    path = tmp_path / "cnn.safetensors"
    cr.save(model, path)
    loaded = cr.load(path).eval()
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    spec = nn.to_spec(model)
    assert nn.spec.state_size(spec) == sum(a.size for a in model.state_dict().values())


def test_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="divisible by groups=2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv1d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(NotImplementedError, match="padding_mode 'reflect'"):
        nn.Conv1d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="kernel_size must be an int or 2 ints"):
        nn.Conv2d(1, 1, (1, 2, 3))
