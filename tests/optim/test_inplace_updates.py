"""Updates are in place: after the first step, a step allocates no array per parameter.

tracemalloc sees NumPy's data buffers, so a step that made even one temporary the size of
the large parameter would show up as a peak of its size.
"""

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

from test_optimizers_vs_torch import CASES

SHAPES = [(250, 200), (200,), (3, 250), (3,)]  # 50,000 float64 entries: 400 kB
BIG = 250 * 200 * 8


def state_arrays(opt, params):
    return [(i, k, v) for i, p in enumerate(params) for k, v in opt.state.get(p, {}).items()
            if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_a_step_updates_in_place_and_allocates_no_arrays(name, kwargs, fused):
    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.normal(size=s), requires_grad=True) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(2)]
    opt = getattr(optim, name)(params, fused=fused, **kwargs)

    def step(t):
        for p, g in zip(params, grads[t % 2]):
            p.grad = g  # fresh gradients each step, as backward leaves them
        opt.step()

    for t in range(3):  # the first steps create the state (and the fused buffers)
        step(t)
    data = [p.data for p in params]
    state = state_arrays(opt, params)
    before = [p.data.copy() for p in params]

    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for t in range(3, 8):
            step(t)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak - start < BIG / 20, f"a step allocated {peak - start} bytes"
    assert all(p.data is d for p, d in zip(params, data))  # the same arrays, updated
    assert [(i, k) for i, k, _ in state] == [(i, k) for i, k, _ in state_arrays(opt, params)]
    assert all(opt.state[params[i]][k] is v for i, k, v in state)
    assert not np.array_equal(params[0].data, before[0])  # the step did move the weights
