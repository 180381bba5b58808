"""compile_step(..., check=True): every replay followed by the eager step on the same batch
and state, and the two compared bit for bit (for users debugging a custom model)."""

from __future__ import annotations

from ..engine import random
from ..engine.backend import xp
from ..engine.tensor import ChainruleError


class CompileCheckError(ChainruleError, AssertionError):
    """compile_step(..., check=True): the replay and the eager step disagree."""


def checked_replay(step, program, X, y):
    """step's replay of program, then its eager step on the same batch and state: equal (the
    loss, the output, every gradient and buffer) or CompileCheckError."""
    model = step.model
    rng, buffers = random.get_state(), [b.copy() for b in model.buffers()]
    loss, output = step._replay(program, X, y)
    replayed = [None if p.grad is None else p.grad.copy() for p in step.params]
    after = [b.copy() for b in model.buffers()]
    random.set_state(rng)
    for buffer, saved in zip(model.buffers(), buffers):
        buffer[...] = saved
    eager_loss, eager_output = step._eager(X, y, counted=True)
    _compare("the loss", xp.asarray(loss), xp.asarray(eager_loss))
    _compare("the output", output, eager_output.data)
    for (name, p), grad in zip(model.named_parameters(), replayed):
        _compare(f"the gradient of {name}", grad, p.grad)
    for (name, buffer), value in zip(model.named_buffers(), after):
        _compare(f"the buffer {name}", value, buffer)
    return loss, output


def _compare(what, replayed, eager):
    if replayed is None and eager is None:
        return
    if replayed is None or eager is None or not xp.array_equal(replayed, eager, equal_nan=True):
        raise CompileCheckError(
            f"compile_step(check=True): {what} differs between the replay and the eager step"
        )
