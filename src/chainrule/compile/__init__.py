"""Compiled training steps: one step recorded once and replayed on the arrays alone.

    import chainrule as cr
    step = cr.compile_step(model, loss_fn, optimizer)
    for X, y in loader:
        loss = step(X, y)

This is chainrule's answer to JAX's jit and CUDA graphs at small sizes: the per-op Python
work of the eager engine (Tensor objects, graph nodes, dispatch) goes away, and what is left
is the NumPy/BLAS calls of the step. `cr.fit` uses it by default. docs/compile.md explains
trace -> plan -> replay; chainrule.compile.step says which road a model takes.
"""

from .check import CompileCheckError
from .step import CompiledStep, compile_step
from .trace import observed_forward, tap

__all__ = ["CompileCheckError", "CompiledStep", "compile_step", "observed_forward", "tap"]
