"""Every registered primitive's differentiable VJP (create_graph) through central differences.

For each case of tests/cases/, the gradient of ⟨fn(inputs), r⟩ is computed with
cr.autograd.grad(create_graph=True); it must equal the ordinary backward's, and the function
inputs ↦ Σᵢ ⟨gradᵢ, sᵢ⟩ goes through cr.gradcheck, which checks the second derivatives.
Parametrised over REGISTRY: a primitive added without a graph VJP fails unless listed below.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import CASE_TABLES

import chainrule as cr

# Primitives whose gradient cannot be differentiated yet (create_graph through them raises):
# their VJPs are array code (the convolutions' GEMMs and scatter, an Allreduce across
# processes), not recorded ops.
WITHOUT_GRAPH_VJP = {"conv_windows", "conv_gemm", "max_pool", "avg_pool", "adaptive_avg_pool",
                     "sum_over_ranks"}


def _grads(fn, tensors, upstream, create_graph):
    out = fn(*tensors)
    wanted = [t for t in tensors if t.requires_grad]
    return cr.autograd.grad(out, wanted, grad_outputs=upstream(out.shape),
                            create_graph=create_graph, allow_unused=True)


@pytest.mark.parametrize("name", sorted(cr.REGISTRY))
def test_second_derivatives_by_central_differences(name):
    if name in WITHOUT_GRAPH_VJP:
        assert cr.REGISTRY[name]._graph_vjp is None, f"{name} has a graph VJP: test it"
        return
    assert cr.REGISTRY[name]._graph_vjp is not None, f"{name} has no @graph_vjp"
    rng = np.random.default_rng(0)
    for number, (fn, inputs, *_) in enumerate(CASE_TABLES[name](np.random.default_rng(0))):
        upstream_arrays = {}

        def upstream(shape):
            return upstream_arrays.setdefault(shape, rng.standard_normal(shape))

        floating = [np.asarray(x).dtype.kind == "f" for x in inputs]
        directions = [rng.standard_normal(np.shape(x)) for x in inputs]
        tensors = [cr.tensor(x, requires_grad=f) for x, f in zip(inputs, floating)]
        recorded = _grads(fn, tensors, upstream, create_graph=True)
        plain = _grads(fn, [cr.tensor(x, requires_grad=f) for x, f in zip(inputs, floating)],
                       upstream, create_graph=False)
        for g, h in zip(recorded, plain):
            assert (g is None) == (h is None)
            if g is not None:
                np.testing.assert_allclose(g.data, h.data, rtol=1e-12, atol=1e-14)

        def contracted(*ts):
            # gradcheck moves one input at a time as a constant: make each a leaf again
            ts = [cr.tensor(t.data, requires_grad=True) if f and not t.requires_grad else t
                  for t, f in zip(ts, floating)]
            grads = _grads(fn, ts, upstream, create_graph=True)
            used = [d for d, f in zip(directions, floating) if f]
            total = sum((t * 0.0).sum() for t, f in zip(ts, floating) if f)  # linear ops: 0
            for g, d in zip(grads, used):
                if g is not None:
                    total = total + (g * d).sum()
            return total

        result = cr.gradcheck(contracted, *inputs)
        assert result, f"{name} case {number}: second derivatives\n{result}"
