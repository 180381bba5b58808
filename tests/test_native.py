"""The compiled loops (chainrule.native) against the NumPy paths they stand in for: the same
bits, and nothing written when they decline.

The extension is optional (built only where a C compiler is): without it these tests skip,
saying so, unless CHAINRULE_REQUIRE_NATIVE=1 (CI sets it) makes its absence a failure.
"""

import itertools
import os
import types

import numpy as np
import pytest

import chainrule as cr
from chainrule import native, nn, optim
from chainrule.compile import compile_step

FLOATS = [np.float32, np.float64]
REQUIRE_NATIVE = os.environ.get("CHAINRULE_REQUIRE_NATIVE") == "1"
needs_extension = pytest.mark.skipif(
    not native.available() and not REQUIRE_NATIVE,
    reason="chainrule._native is not built (no C compiler at install); "
           "CHAINRULE_REQUIRE_NATIVE=1 makes this a failure")


class CountingLoops:
    """Stands in for the extension module, counting the calls its loops accepted."""

    def __init__(self, module):
        self.module, self.accepted = module, 0

    def __getattr__(self, name):
        loop = getattr(self.module, name)

        def counted(*args):
            done = loop(*args)
            self.accepted += done
            return done
        return counted


@pytest.fixture
def numpy_then_native(monkeypatch):
    """Yields a function that runs f() once on the NumPy path and once on the native one,
    checking that the native run did go through the compiled loops."""
    def both(f):
        previous = native.use_native(False)
        try:
            with np.errstate(all="ignore"):  # NumPy warns about the inf and NaN on purpose
                plain = f()
        finally:
            native.use_native(previous)
        loops = CountingLoops(native._native)
        monkeypatch.setattr(native, "_native", loops)
        with np.errstate(all="ignore"):  # e.g. SGD's first step with momentum is NumPy's
            compiled = f()
        assert loops.accepted > 0
        return plain, compiled
    return both


def assert_same_bits(a, b):
    """Equal bit for bit (signed zeros included); NaN only where the other is NaN."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    nan = np.isnan(a)
    np.testing.assert_array_equal(nan, np.isnan(b))
    bits = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    np.testing.assert_array_equal(a[~nan].view(bits), b[~nan].view(bits))


def awkward_values(rng, shape, dtype, special=True):
    x = rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 4, shape)
    if special:
        flat = x.reshape(-1)
        flat[:6] = [0.0, -0.0, 1e-42, -1e30, np.inf, np.nan][: flat.size]
    return x.astype(dtype)


@needs_extension
def test_the_extension_is_built():
    # CI installs with a C compiler: the fast path must be there, not silently missing.
    assert native.available(), "chainrule._native was not built (was there a C compiler?)"


def test_a_module_built_from_another_source_is_refused_with_a_warning():
    stale = types.SimpleNamespace(VERSION=native.VERSION - 1, adam=None)
    with pytest.warns(RuntimeWarning, match="reinstall chainrule"):
        assert native._checked(stale) is None
    assert native._checked(native._native) is native._native
    assert native._checked(None) is None


@needs_extension
def test_use_native_switches_and_reports_the_previous_setting():
    z = np.ones((2, 3))
    assert native.use_native(False) is True
    try:
        assert native.bias_relu(z, None) is False
    finally:
        assert native.use_native(True) is False
    assert native.bias_relu(z, None) is True


def grid(**choices):
    """Every combination of the choices, as option dicts."""
    return [dict(zip(choices, values)) for values in itertools.product(*choices.values())]


UPDATES = (
    [(optim.Adam, o) for o in grid(weight_decay=[0.0, 0.1], amsgrad=[False, True],
                                   maximize=[False, True], betas=[(0.9, 0.999), (0.3, 0.6)])]
    + [(optim.AdamW, o) for o in grid(amsgrad=[False, True], maximize=[False, True],
                                      betas=[(0.9, 0.999), (0.3, 0.6)])]
    + [(optim.SGD, o) for o in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3],
                                    nesterov=[False, True], weight_decay=[0.0, 0.1],
                                    maximize=[False, True])
       if not o["nesterov"] or (o["momentum"] and not o["dampening"])]
    + [(optim.RMSprop, o) for o in grid(alpha=[0.99, 0.3], centered=[False, True],
                                        momentum=[0.0, 0.9], weight_decay=[0.0, 0.1],
                                        maximize=[False, True])]
    + [(optim.Adagrad, o) for o in grid(lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.1],
                                        maximize=[False, True])])


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("cls, options", UPDATES, ids=lambda x: x.__name__ if isinstance(
    x, type) else "-".join(map(str, x.values())))
def test_updates_are_bit_identical_to_the_numpy_path(numpy_then_native, dtype, cls, options,
                                                     fused):
    rng = np.random.default_rng(0)
    start = [awkward_values(rng, (7, 5), dtype, special=False), awkward_values(rng, 5, dtype)]
    grads = [[awkward_values(rng, p.shape, dtype, special=k == 3) for p in start]
             for k in range(12)]

    def run():
        params = [nn.Parameter(p.copy()) for p in start]
        opt = cls(params, lr=0.01, fused=fused, **options)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = g.copy()
            opt.step()
        states = [opt.state[p][key] for p in params for key in sorted(opt.state[p])
                  if key != "step"]
        return [p.data for p in params] + states

    plain, compiled = numpy_then_native(run)
    for a, b in zip(plain, compiled):
        assert_same_bits(a, b)


def adam_arrays(n=10, dtype=np.float64):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(n).astype(dtype) for _ in range(4)]


ADAM_CONSTANTS = dict(decay_factor=1.0, weight_decay=0.0, maximize=False, lerp_weight=0.1,
                      beta2=0.999, eps=1e-8, scale=1e-3)


@needs_extension
@pytest.mark.parametrize("case", ["strided", "mixed dtypes", "param is grad", "ints", "list",
                                  "lengths differ", "shapes differ", "read-only",
                                  "numpy scalar lr", "exp_avg is None"])
def test_adam_declines_what_it_cannot_do_and_writes_nothing(case):
    p, g, m, v = adam_arrays()
    if case == "strided":
        p = np.zeros(20)[::2]
    elif case == "mixed dtypes":
        g = g.astype(np.float32)
    elif case == "param is grad":
        g = p
    elif case == "ints":
        p, g, m, v = (np.arange(10) for _ in range(4))
    elif case == "list":
        g = list(g)
    elif case == "lengths differ":
        g = g[:9]
    elif case == "shapes differ":
        p, g, m, v = (a.reshape(2, 5) for a in (p, g, m, v))
        g = g.T.copy()
    elif case == "read-only":
        p.flags.writeable = False
    constants = dict(ADAM_CONSTANTS)
    if case == "numpy scalar lr":
        constants["scale"] = np.float64(1e-3)
    before = [np.array(a, copy=True) for a in (p, g, m, v)]
    if case == "exp_avg is None":
        assert native.adam(p, g, None, v, None, **constants) is False
    else:
        assert native.adam(p, g, m, v, None, **constants) is False
    for a, b in zip((p, g, m, v), before):
        np.testing.assert_array_equal(a, b)


@needs_extension
def test_every_update_declines_a_missing_state_buffer_instead_of_crashing():
    p, g, s = (np.ones(4) for _ in range(3))
    flags = dict(weight_decay=0.0, maximize=False)
    assert native.sgd(None, g, None, **flags, momentum=0.0, dampening=0.0, nesterov=False,
                      lr=0.1) is False
    assert native.rmsprop(p, g, None, None, None, **flags, alpha=0.99, momentum=0.0,
                          eps=1e-8, lr=0.01) is False
    assert native.adagrad(p, g, None, **flags, eps=1e-10, lr=0.1) is False
    assert native.adam(p, None, s, s.copy(), None, **ADAM_CONSTANTS) is False
    np.testing.assert_array_equal(p, 1.0)


@needs_extension
@pytest.mark.parametrize("cls, options", [(optim.Adam, {}), (optim.SGD, {"momentum": 0.9}),
                                          (optim.RMSprop, {}), (optim.Adagrad, {})])
def test_numpy_scalar_hyperparameters_give_the_numpy_paths_bits(cls, options):
    """np.float64(lr) is not a weak scalar: float32 parameters then update in float64."""
    def run():
        rng = np.random.default_rng(4)
        p = nn.Parameter(rng.standard_normal(1000).astype(np.float32))
        opt = cls([p], lr=np.float64(0.01), **options)
        for _ in range(4):
            p.grad = rng.standard_normal(1000).astype(np.float32)
            opt.step()
        return p.data
    previous = native.use_native(False)
    try:
        plain = run()
    finally:
        native.use_native(previous)
    assert_same_bits(run(), plain)


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_bias_relu_matches_numpy_add_then_maximum(dtype, with_bias):
    rng = np.random.default_rng(2)
    z = awkward_values(rng, (9, 13), dtype)
    z.reshape(-1)[6:9] = [-np.inf, np.inf, -0.0]
    bias = awkward_values(rng, 13, dtype) if with_bias else None
    with np.errstate(all="ignore"):
        expected = np.maximum(z + bias if with_bias else z, 0)
    assert native.bias_relu(z, bias) is True
    assert_same_bits(z, expected)


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
def test_relu_grad_matches_numpy_multiply_by_the_mask(dtype):
    rng = np.random.default_rng(3)
    z = np.maximum(awkward_values(rng, (9, 13), dtype), 0)
    g = awkward_values(rng, (9, 13), dtype)
    g.reshape(-1)[20:23] = [np.inf, np.nan, -np.inf]
    with np.errstate(all="ignore"):
        expected = g * (z > 0)
    assert native.relu_grad(g, z) is True
    assert_same_bits(g, expected)


@needs_extension
def test_relu_loops_decline_mismatched_arrays():
    z = np.ones((4, 6), np.float32)
    assert native.bias_relu(z, np.ones(5, np.float32)) is False  # 24 is not rows × 5
    assert native.bias_relu(z, np.ones(6)) is False  # float64 bias on float32 z
    assert native.bias_relu(z[:, ::2], np.ones(3, np.float32)) is False
    assert native.bias_relu(z, np.ones((1, 6), np.float32)) is False  # NumPy would broadcast
    assert native.bias_relu(np.ones((3, 8), np.float32), np.ones(6, np.float32)) is False
    assert native.relu_grad(z, np.ones(23, np.float32)) is False
    assert native.relu_grad(z, np.ones((6, 4), np.float32)) is False  # same size, other shape
    np.testing.assert_array_equal(z, 1.0)


@needs_extension
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("bias", [True, False])
def test_a_compiled_training_run_is_bit_identical_with_and_without_native(
        numpy_then_native, dtype, bias):
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((32, 6)).astype(dtype), rng.integers(0, 3, 32)

    def run():
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16, bias=bias, dtype=dtype), nn.ReLU(),
                              nn.Linear(16, 16, dtype=dtype), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(16, 3, dtype=dtype))
        step = compile_step(model, nn.CrossEntropyLoss(),
                            optim.AdamW(model.parameters(), lr=0.01))
        losses = [step(X, y) for _ in range(10)]
        assert step.compiled
        return [np.array(losses)] + [p.data.copy() for p in model.parameters()]

    plain, compiled = numpy_then_native(run)
    for a, b in zip(plain, compiled):
        assert_same_bits(a, b)
