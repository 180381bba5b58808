"""detect_anomaly(): name the op, and the user's line that called it, that first made NaN/Inf."""

from __future__ import annotations

import contextlib
import os
import sys
import types

from .backend import xp
from .tensor import ChainruleError

enabled = False
_UNKNOWN_SITE = "a line not recorded (run the forward pass inside detect_anomaly() too)"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AnomalyError(ChainruleError, FloatingPointError):
    """An op produced NaN or Inf while detect_anomaly() was on."""


@contextlib.contextmanager
def detect_anomaly():
    """Check every op's output (forward) and input gradients (backward) for NaN and Inf."""
    global enabled
    previous, enabled = enabled, True
    try:
        # NumPy's own warnings would only repeat, with less detail, what AnomalyError says.
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            yield
    finally:
        enabled = previous


def user_site() -> str:
    """'file:line' of the innermost caller outside chainrule."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _finite(array) -> bool:
    return (
        not isinstance(array, xp.ndarray)
        or array.dtype.kind != "f"
        or bool(xp.isfinite(array).all())
    )


def check_forward(name, inputs, out) -> str:
    site = user_site()
    if not _finite(out) and all(_finite(a) for a in inputs):
        raise AnomalyError(f"{name} produced NaN or Inf in the forward pass, called at {site}")
    return site


def check_backward(name, node, grad, input_grads) -> None:
    if not _finite(grad):
        return
    for i, g in enumerate(input_grads):
        if g is not None and not _finite(g):
            raise AnomalyError(
                f"{name} produced NaN or Inf in the gradient of its input {i} during backward; "
                f"the op was called at {node._site or _UNKNOWN_SITE}"
            )
