"""Compiled training steps: one step's tape recorded once and replayed on fixed buffers.

    from chainrule.compile import compile_step
    step = compile_step(model, loss_fn, optimizer)
    for X, y in loader:
        loss = step(X, y)

This is chainrule's answer to JAX's jit and CUDA graphs at small sizes: the per-op Python
work of the eager engine (Tensor objects, graph nodes, dispatch, allocations) goes away,
and what is left is the NumPy/BLAS calls of the step. `cr.fit(..., compile=True)` uses it.
Anything the tape does not cover runs the eager step (see chainrule.compile.step).
"""

from .fit_hook import step_for_fit
from .step import CompiledStep, compile_step

__all__ = ["CompiledStep", "compile_step", "step_for_fit"]
