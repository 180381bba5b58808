"""The compiled step's cross-entropy (compile/losses.py CrossEntropyKernel) against the eager
F.cross_entropy's value and gradient from backward() (what the eager step computes): the same
bits for the loss and the gradient, on the NumPy path and with the compiled passes, over both
dtypes, shapes from one class to many, both reductions, and inf, NaN and signed zeros. Both
call label_cross_entropy's buffer forms (nn/cross_entropy.py); the eager forward makes them
fresh per call, the kernel keeps them across steps."""

import numpy as np
import pytest
from test_native import (  # noqa: F401 (a fixture)
    FLOATS,
    assert_same_bits,
    awkward_values,
    needs_extension,
    numpy_then_native,
)

import chainrule as cr
from chainrule.compile.losses import CrossEntropyKernel
from chainrule.nn import functional as F
from chainrule.nn.cross_entropy import (
    SoftmaxPass,
    gradient_scales,
    label_grad_into,
    label_loss_into,
)


def eager(z, y, reduction):
    logits = cr.tensor(z.copy(), requires_grad=True)
    loss = F.cross_entropy(logits, cr.tensor(y), reduction=reduction)
    loss.backward()
    return [np.asarray(loss.data), logits.grad]


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(8, 2), (5, 3), (1, 4), (32, 10), (128, 17), (3, 1)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_the_compiled_cross_entropy_gives_the_eager_bits(numpy_then_native, dtype, shape,
                                                          reduction, special):
    rng = np.random.default_rng(sum(shape))
    z = awkward_values(rng, shape, dtype, special=special)
    if special and shape[0] > 2:
        z[1] = 0.0  # a row of equal maxima, signed zeros among them
        z[1, 0] = -0.0
        z[2] = -np.inf
    y = rng.integers(0, shape[1], shape[0])

    def run():
        with np.errstate(all="ignore"):
            expected = eager(z, y, reduction)
            kernel = CrossEntropyKernel(shape, dtype, reduction)
            results = []
            for _ in range(2):  # the kernel's buffers reused
                loss, grad = kernel(z, kernel.target(y))
                results += [np.array(loss, dtype), grad.copy()]
        return expected, results

    for expected, results in numpy_then_native(run):
        assert expected[0].dtype == dtype
        for got, want in zip(results, expected * 2):
            assert_same_bits(got, want)


@pytest.mark.parametrize("dtype", FLOATS)
def test_the_eager_gradient_scales_with_the_upstream_gradient(dtype):
    """An upstream g ≠ 1 (a scaled loss) and g = 0 through the same one-pass gradient."""
    rng = np.random.default_rng(5)
    z, y = rng.standard_normal((6, 4)).astype(dtype), rng.integers(0, 4, 6)
    softmax = np.exp(z.astype(np.float64))
    softmax /= softmax.sum(axis=1, keepdims=True)
    onehot = np.eye(4)[y]
    for factor in (3.0, -0.5, 0.0):
        logits = cr.tensor(z, requires_grad=True)
        (F.cross_entropy(logits, cr.tensor(y)) * factor).backward()
        assert logits.grad.dtype == dtype
        np.testing.assert_allclose(logits.grad, (softmax - onehot) * factor / 6,
                                   rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-7)


def test_the_gradient_pass_takes_per_row_weights_as_arrays():
    """Class weights or ignored rows give per-row factors: arrays, not numbers, and a row
    whose factor is 0 (ignored) gets a zero gradient without a warning."""
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    buffers = SoftmaxPass(z.shape, z.dtype)
    label_loss_into(buffers, z, y, 3.5)
    at_label = np.array([1.0, 0.0, 2.0, 0.5])
    scale, factor, step = gradient_scales(np.ones(()), z.dtype, 3.5, at_label, at_label)
    assert isinstance(factor, np.ndarray) and factor[1] == 0
    with np.errstate(all="raise"):
        grad = label_grad_into(buffers, factor, step)
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    want = (softmax - np.eye(3)[y]) * (at_label / 3.5)[:, None]
    np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-16)
    assert (grad[1] == 0).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8, np.uint64])
def test_a_plain_mlps_fused_step_reports_the_eager_loss_and_logit_gradient(dtype, label_dtype):
    """On the fused road (no BatchNorm: bias gradients summed another way) the first step's loss
    and the last layer's weight gradient, which only the loss gradient feeds, are eager's bits,
    for labels of any integer dtype."""
    from training_steps import train_step

    from chainrule import nn, optim

    rng = np.random.default_rng(7)
    X = rng.standard_normal((16, 5)).astype(dtype)
    y = rng.integers(0, 3, 16).astype(label_dtype)
    results = []
    for compiled in (True, False):
        cr.manual_seed(3)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).to(dtype)
        opt = optim.SGD(model.parameters(), lr=0.1)
        step = cr.compile_step(model, F.cross_entropy, opt) if compiled else None
        loss = train_step(step, model, opt, F.cross_entropy, X, y)
        if compiled:
            assert step.road == "fused", step.reason
        results.append((loss, model[2].weight.grad.copy()))
    (loss, grad), (eager_loss, eager_grad) = results
    assert loss == eager_loss
    assert_same_bits(grad, eager_grad)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, -1, 2] * 4, np.int64),
        np.array([0, 1, -3, 2] * 4, np.int64),
        np.array([0, 1, 3, 2] * 4, np.int32),
        np.array([0, 1, 2**64 - 1, 2] * 4, np.uint64),
        np.array([0, 1, 2**63, 2] * 4, np.uint64),
    ],
    ids=["int64 -1", "int64 -C", "int32 C", "uint64 max", "uint64 2**63"],
)
def test_a_label_out_of_range_raises_the_eager_error_through_compile_step(labels):
    """The kernel declines the batch (a negative label must not index the row before), so the
    eager step runs and raises what F.cross_entropy raises."""
    from chainrule import nn, optim

    X = np.random.default_rng(0).standard_normal((16, 5)).astype(np.float32)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    step = cr.compile_step(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1))
    weights = [p.data.copy() for p in model.parameters()]
    with pytest.raises(cr.nn.LossError, match="out of bounds"):
        step(X, labels)
    for p, before in zip(model.parameters(), weights):
        np.testing.assert_array_equal(p.data, before)
    kernel = CrossEntropyKernel((16, 3), np.dtype(np.float32), "mean")
    assert kernel.target(labels) is None
