"""Cross-entropy's compiled passes (chainrule.native.cross_entropy_shift and _normalize)
against the NumPy path of nn/cross_entropy.py's buffer forms, as compile/losses.py's
CrossEntropyKernel runs them: the same bits for the loss and the gradient, and nothing written
when they decline."""

import numpy as np
import pytest
from test_native import (  # noqa: F401 (a fixture)
    FLOATS,
    assert_same_bits,
    awkward_values,
    needs_extension,
    numpy_then_native,
)

from chainrule import native
from chainrule.compile.losses import CrossEntropyKernel


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(8, 2), (5, 3), (7, 4), (32, 10), (128, 17), (3, 1)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan-zeros"])
def test_cross_entropy_passes_are_bit_identical_to_the_numpy_path(numpy_then_native, dtype,
                                                                   shape, reduction, special):
    rng = np.random.default_rng(sum(shape))
    z = awkward_values(rng, shape, dtype, special=special)
    y = rng.integers(0, shape[1], shape[0])

    def run():
        kernel = CrossEntropyKernel(shape, dtype, reduction)
        losses, grads = [], []
        for _ in range(2):  # the kernel's buffers reused
            loss, grad = kernel(z, kernel.target(y))
            losses.append(np.array(loss))
            grads.append(grad.copy())
        return losses + grads

    plain, compiled = numpy_then_native(run)
    for a, b in zip(plain, compiled):
        assert_same_bits(a, b)


@needs_extension
@pytest.mark.parametrize("case", ["index in another row", "index out of range", "int32 indices",
                                  "mixed dtypes", "strided logits", "rows differ"])
def test_cross_entropy_passes_decline_what_they_cannot_do_and_write_nothing(case):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 3))
    picked = np.arange(4) * 3 + 1
    shifted, grad = np.full((4, 3), 7.0), np.full((4, 3), 7.0)
    row_max, picks, row_sum = np.full(4, 7.0), np.full(4, 7.0), np.full(4, 2.0)
    if case == "index in another row":
        picked[1] = 0
    elif case == "index out of range":
        picked[3] = 12
    elif case == "int32 indices":
        picked = picked.astype(np.int32)
    elif case == "mixed dtypes":
        z = z.astype(np.float32)
        grad = grad.astype(np.float32)
    elif case == "strided logits":
        z = np.repeat(z, 2, axis=1)[:, ::2]
    elif case == "rows differ":
        row_max, picks, row_sum = np.full(3, 7.0), np.full(3, 7.0), np.full(3, 2.0)
    arrays = (z, shifted, grad, row_max, picks, row_sum)
    before = [a.copy() for a in arrays]
    assert native.cross_entropy_shift(shifted, row_max, picks, z, picked) is False
    if case != "strided logits":  # the logits are not an argument of the second pass
        assert native.cross_entropy_normalize(grad, row_max, row_sum, picked, 4.0, 0.25) is False
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)
