"""torch.nn.utils' names: clip_grad_norm_ and clip_grad_value_ (the same clipping as
cr.optim.clip_grad_norm / clip_grad_value, which own it; imported when called, so nn does not
load optim)."""

from __future__ import annotations

from ..engine.backend import array_like, xp
from ..engine.tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False) -> Tensor:
    """Scale the gradients in place to a global norm of at most max_norm; returns the norm
    before clipping as a 0-d tensor (torch's return type; cr.optim's returns a float)."""
    from ..optim.clip import clip_grad_norm

    total = clip_grad_norm(parameters, max_norm, norm_type, error_if_nonfinite)
    return Tensor(array_like(total, None, dtype=xp.float64))


def clip_grad_value_(parameters, clip_value) -> None:
    from ..optim.clip import clip_grad_value

    clip_grad_value(parameters, clip_value)
