"""The exact plans' cross-entropy (compile/losses.py ExactCrossEntropyKernel) against
label_cross_entropy's own value and VJP for the seed 1 (what the eager step computes): the same
bits for the loss and the gradient, on the NumPy path and with the compiled shift, over both
dtypes, shapes from one class to many, both reductions, and inf, NaN and signed zeros."""

import numpy as np
import pytest
from test_native import (  # noqa: F401 (a fixture)
    FLOATS,
    assert_same_bits,
    awkward_values,
    needs_extension,
    numpy_then_native,
)

from chainrule.compile.losses import CrossEntropyKernel, ExactCrossEntropyKernel
from chainrule.nn.primitives import _LabelRows, label_grad, label_loss


def eager(z, y, reduction):
    rows = _LabelRows(z, y, None, -100, 0.0)
    loss = np.asarray(label_loss(rows, z, 0.0, reduction))
    return loss, label_grad(rows, np.ones_like(loss), z, 0.0, reduction)


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(8, 2), (5, 3), (1, 4), (32, 10), (128, 17), (3, 1)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_the_exact_cross_entropy_gives_label_cross_entropys_bits(numpy_then_native, dtype,
                                                                 shape, reduction, special):
    rng = np.random.default_rng(sum(shape))
    z = awkward_values(rng, shape, dtype, special=special)
    if special and shape[0] > 2:
        z[1] = 0.0  # a row of equal maxima, signed zeros among them
        z[1, 0] = -0.0
        z[2] = -np.inf
    y = rng.integers(0, shape[1], shape[0])
    with np.errstate(all="ignore"):
        expected = eager(z, y, reduction)

    def run():
        kernel = ExactCrossEntropyKernel(CrossEntropyKernel(shape, dtype, reduction), reduction)
        results = []
        for _ in range(2):  # the kernel's buffers reused
            loss, grad = kernel(z, kernel.target(y))
            results += [np.array(loss, dtype), grad.copy()]
        return results

    for results in numpy_then_native(run):
        for got, want in zip(results, expected * 2):
            assert_same_bits(got, want)
