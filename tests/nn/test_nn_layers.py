"""Layers and activations against torch.nn on identical float64 weights, and through gradcheck."""

import numpy as np
import pytest
import torch
from nn_oracle import assert_close, assert_same_as_torch, copy_weights, gradcheck_module

import chainrule as cr
from chainrule import nn


def normal(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


LINEAR_CASES = [(True, (5, 4)), (False, (5, 4)), (True, (2, 3, 4)), (True, (4,))]


@pytest.mark.parametrize("bias, shape", LINEAR_CASES)
def test_linear_matches_torch(bias, shape):
    cr.manual_seed(0)
    model = nn.Linear(4, 3, bias=bias).double()
    reference = torch.nn.Linear(4, 3, bias=bias)
    copy_weights(model, reference)
    assert_same_as_torch(model, reference, normal(shape), what="Linear")
    assert gradcheck_module(model, normal(shape))


def test_linear_skips_the_input_gradient_when_the_input_needs_none():
    model = nn.Linear(4, 3).double()
    out = model(cr.tensor(normal((5, 4))))
    out.sum().backward()
    assert model.weight.grad.shape == (3, 4) and model.bias.grad.shape == (3,)


def test_linear_names_the_shapes_that_do_not_fit():
    with pytest.raises(cr.ShapeError, match=r"\(5, 3\).*\(2, 4\)"):
        nn.Linear(4, 2)(cr.tensor(np.ones((5, 3), dtype=np.float32)))


ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()), (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)), (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(1)),
    (nn.Identity(), torch.nn.Identity()), (nn.Flatten(), torch.nn.Flatten()),
    (nn.Flatten(0, 1), torch.nn.Flatten(0, 1)),
]


@pytest.mark.parametrize("layer, reference", ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_matches_torch_and_gradcheck(layer, reference):
    x = normal((4, 3, 2), scale=3.0)
    assert_same_as_torch(layer, reference, x, what=repr(layer))
    assert gradcheck_module(layer, normal((3, 2, 2), seed=1) + 0.05)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_over_a_wide_range(approximate):
    x = np.concatenate([np.linspace(-12, 12, 4001), [0.0, -0.0, 1e-300, -1e-8, 40.0, -40.0]])
    assert_same_as_torch(nn.GELU(approximate), torch.nn.GELU(approximate), x, what="GELU")


def batch_norm_pair(**kwargs):
    model = nn.BatchNorm1d(3, **kwargs).double()
    reference = torch.nn.BatchNorm1d(3, **kwargs)
    for seed, param in enumerate(model.parameters()):
        param.data[...] = normal(3, seed=5 + seed)
    copy_weights(model, reference)
    return model, reference


def assert_same_buffers(model, reference):
    torch_buffers = dict(reference.named_buffers())
    assert [n for n, _ in model.named_buffers()] == list(torch_buffers)
    for name, buffer in model.named_buffers():
        assert_close(buffer, torch_buffers[name], f"buffer {name}")


BATCH_NORM_OPTIONS = [{}, {"momentum": None}, {"momentum": 0.3, "eps": 1e-3},
                      {"affine": False}, {"bias": False}, {"track_running_stats": False}]


@pytest.mark.parametrize("options", BATCH_NORM_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_matches_torch_over_several_steps_then_in_eval(options, shape):
    model, reference = batch_norm_pair(**options)
    for step in range(3):
        x = normal(shape, seed=step, scale=2.0) + step
        assert_same_as_torch(model, reference, x, upstream_seed=step, what=f"train {step}")
        assert_same_buffers(model, reference)
    model.eval(), reference.eval()
    assert_same_as_torch(model, reference, normal(shape, seed=9), what="eval")
    assert_same_buffers(model, reference)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 2)])
def test_batch_norm_gradcheck(training, shape):
    model, _ = batch_norm_pair()
    model(cr.tensor(normal(shape, seed=2) + 1))  # running statistics away from 0 and 1
    model.train(training)
    assert gradcheck_module(model, normal(shape, seed=3))


def test_batch_norm_refuses_one_value_per_channel_in_training_and_wrong_shapes():
    model = nn.BatchNorm1d(3)
    with pytest.raises(cr.ChainruleError, match="more than 1 value per channel"):
        model(cr.tensor(np.ones((1, 3))))
    with pytest.raises(cr.ShapeError, match=r"\(N, 3\).*\(4, 2\)"):
        model(cr.tensor(np.ones((4, 2))))
    model.eval()
    assert model(cr.tensor(np.ones((1, 3)))).shape == (1, 3)


LAYER_NORM_OPTIONS = [(4, {}), (4, {"eps": 1e-3}), (4, {"elementwise_affine": False}),
                      (4, {"bias": False}), ((3, 4), {})]


@pytest.mark.parametrize("normalized_shape, options", LAYER_NORM_OPTIONS, ids=str)
def test_layer_norm_matches_torch_and_gradcheck(normalized_shape, options):
    model = nn.LayerNorm(normalized_shape, **options).double()
    reference = torch.nn.LayerNorm(normalized_shape, **options)
    for i, param in enumerate(model.parameters()):
        param.data[...] = normal(param.shape, seed=10 + i)
    copy_weights(model, reference)
    x = normal((2, 3, 4), scale=3.0) + 1
    assert_same_as_torch(model, reference, x, what="LayerNorm")
    assert gradcheck_module(model, normal((2, 3, 4), seed=4))


def test_residual_is_x_plus_block_of_x_as_in_torch():
    cr.manual_seed(1)
    block = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    model = nn.Residual(block).double()

    class TorchResidual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh())

        def forward(self, x):
            return x + self.block(x)

    reference = TorchResidual()
    copy_weights(model, reference)
    assert_same_as_torch(model, reference, normal((4, 3)), what="Residual")
    assert gradcheck_module(model, normal((4, 3), seed=1))
    with pytest.raises(cr.ShapeError, match=r"\(4, 3\) to \(4, 2\)"):
        nn.Residual(nn.Linear(3, 2))(cr.tensor(np.ones((4, 3), dtype=np.float32)))


def test_dropout_with_the_same_mask_as_torch():
    p = 0.3
    x = normal((50, 40)) + 0.1  # no exact zeros, so zeros in the output mark dropped units
    cr.manual_seed(4)
    xc = cr.tensor(x, requires_grad=True)
    out = nn.Dropout(p)(xc)
    mask = out.data != 0
    xt = torch.tensor(x, requires_grad=True)
    out_t = xt * torch.from_numpy(mask) / (1 - p)
    upstream = normal(x.shape, seed=1)
    out.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    assert_close(out.data, out_t, "dropout output")
    assert_close(xc.grad, xt.grad, "dropout gradient")
    assert abs(1 - mask.mean() - p) < 0.03  # 2000 draws: standard error 0.01


def test_dropout_is_reproducible_off_in_eval_and_at_the_extremes():
    x = cr.tensor(normal((20, 10)))
    layer = nn.Dropout(0.5)
    cr.manual_seed(7)
    first = layer(x).data
    cr.manual_seed(7)
    np.testing.assert_array_equal(layer(x).data, first)
    assert not np.array_equal(layer(x).data, first)
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros((20, 10)))
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5)


def test_dropout_gradcheck_with_a_fixed_mask():
    assert gradcheck_module(nn.Dropout(0.4), normal((4, 5)), reseed=3)


def test_sequential_of_everything_matches_torch():
    cr.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.GELU(), nn.Linear(6, 6),
                          nn.LayerNorm(6), nn.LeakyReLU(0.1), nn.Linear(6, 2)).double()
    reference = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.GELU(), torch.nn.Linear(6, 6),
        torch.nn.LayerNorm(6), torch.nn.LeakyReLU(0.1), torch.nn.Linear(6, 2))
    copy_weights(model, reference)
    assert_same_as_torch(model, reference, normal((8, 4)), what="train")
    model.eval(), reference.eval()
    assert_same_as_torch(model, reference, normal((8, 4), seed=1), what="eval")


# --- float32 by default, float64 on request, through every layer and loss -----------------
DTYPE_LAYERS = [
    lambda: nn.Linear(4, 4), lambda: nn.BatchNorm1d(4), lambda: nn.LayerNorm(4),
    lambda: nn.GELU(), lambda: nn.GELU("tanh"), lambda: nn.Dropout(0.3), lambda: nn.ReLU(),
    lambda: nn.LeakyReLU(0.2), lambda: nn.Sigmoid(), lambda: nn.Tanh(), lambda: nn.Softmax(),
    lambda: nn.LogSoftmax(), lambda: nn.Residual(nn.Linear(4, 4)), lambda: nn.Flatten(),
    lambda: nn.Identity(),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", DTYPE_LAYERS)
def test_every_layer_keeps_the_dtype_in_train_and_eval(make, dtype):
    cr.manual_seed(0)
    layer = make().to(dtype)
    for training in (True, False):
        layer.train(training)
        layer.zero_grad()
        x = cr.tensor(np.random.default_rng(1).standard_normal((6, 4)).astype(dtype),
                      requires_grad=True)
        out = layer(x)
        out.backward(np.ones(out.shape, dtype))
        assert out.dtype == dtype and x.grad.dtype == dtype, repr(layer)
        for name, param in layer.named_parameters():
            assert param.grad is not None and param.grad.dtype == dtype, name
        assert all(b.dtype == dtype for b in layer.buffers() if b.dtype.kind == "f")
