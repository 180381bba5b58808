"""train/norms.square_sums: the sums of squares the guard, the monitor and the step recorder
read, the compiled loop and the NumPy path bit for bit, a parameter's bits the same in a flat
buffer and on its own, float64 accuracy (no float32 overflow)."""

import math

import numpy as np
import pytest

from chainrule import native
from chainrule.train.norms import square_sums

SIZES = (0, 1, 7, 8, 9, 1000, 12_345)


def _both_paths(*args):
    compiled = square_sums(*args)
    previous = native.use_native(False)
    try:
        plain = square_sums(*args)
    finally:
        native.use_native(previous)
    return compiled, plain


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_b", [False, True])
def test_compiled_and_numpy_paths_give_the_same_bits(dtype, with_b):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(sum(SIZES)) * rng.uniform(1e-3, 1e3, sum(SIZES))).astype(dtype)
    b = rng.standard_normal(a.size).astype(dtype) if with_b else None
    ends = tuple(np.cumsum(SIZES).tolist())
    compiled, plain = _both_paths(a, ends, b)
    assert native.available() and compiled == plain and len(compiled) == len(SIZES)
    assert all(type(s) is float for s in compiled)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_segment_of_a_flat_buffer_gives_what_the_array_alone_gives(dtype):
    rng = np.random.default_rng(1)
    parts = [rng.standard_normal(n).astype(dtype) for n in (13, 64, 5, 300)]
    flat = np.concatenate(parts)
    ends = tuple(np.cumsum([p.size for p in parts]).tolist())
    alone = [square_sums(p, (p.size,))[0] for p in parts]
    assert square_sums(flat, ends) == alone


def test_sums_are_float64_accurate_where_float32_squares_overflow():
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(777) * 1e20).astype(np.float32)  # a² overflows float32
    b = (rng.standard_normal(777) * 1e19).astype(np.float32)
    exact_a = math.fsum(float(x) ** 2 for x in a)
    exact_d = math.fsum((float(x) - float(y)) ** 2 for x, y in zip(a, b))
    for sums in _both_paths(a, (a.size,)):
        assert sums[0] == pytest.approx(exact_a, rel=1e-14)
    for sums in _both_paths(a, (a.size,), b):
        assert sums[0] == pytest.approx(exact_d, rel=1e-14)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.dot(a, a))  # what a float32 dot gave


def test_an_offset_past_the_array_or_a_non_contiguous_array_takes_the_numpy_path():
    a = np.arange(10.0)
    assert native.square_sums(a, None, (11,)) is False
    assert native.square_sums(a[::2], None, (5,)) is False
    assert square_sums(a[::2], (5,)) == [float(np.sum(a[::2] ** 2))]


@pytest.mark.parametrize("ends", [(5, 3), (11,), (-1, 4)])
def test_segments_that_do_not_fit_the_array_are_refused_on_both_paths(ends):
    a = np.arange(10.0)
    for compiled in (True, False):
        previous = native.use_native(compiled)
        try:
            with pytest.raises(ValueError, match="segments ending at"):
                square_sums(a, ends)
        finally:
            native.use_native(previous)
