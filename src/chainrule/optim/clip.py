"""Gradient clipping by global norm or by value, with torch.nn.utils' numerics."""

from __future__ import annotations

import warnings

from ..engine.backend import module_of, xp
from ..engine.tensor import ChainruleError, Tensor


class NonFiniteNormError(ChainruleError, RuntimeError):
    """clip_grad_norm(error_if_nonfinite=True) met a nan or infinite gradient norm."""


class NonFiniteGradientWarning(RuntimeWarning):
    """clip_grad_norm met a nan or infinite norm and left the gradients as they were."""


def _grads(params):
    params = [params] if isinstance(params, Tensor) else params
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm(params, max_norm, norm_type=2.0, error_if_nonfinite=False) -> float:
    """Scale all gradients together so their global norm is at most about max_norm.

    ‖g‖ is the norm_type-norm of every gradient entry at once (inf: the largest |gᵢ|);
    with c = max_norm / (‖g‖ + 1e-6), each g := g · min(1, c) in place, as PyTorch does.
    Returns ‖g‖ before clipping (0.0 when no parameter has a gradient).

    A nan or infinite norm raises NonFiniteNormError when error_if_nonfinite, otherwise it
    leaves the gradients unchanged (PyTorch would scale them into nan) and warns with
    NonFiniteGradientWarning; the step that follows should then be skipped.
    """
    grads = _grads(params)
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    norms = module_of(grads[0]).stack([xp.linalg.norm(xp.ravel(g), norm_type) for g in grads])
    total = float(xp.linalg.norm(norms, norm_type))
    if not xp.isfinite(total):
        message = (
            f"the total norm of order {norm_type} of the gradients is {total}; it cannot be clipped"
        )
        if error_if_nonfinite:
            raise NonFiniteNormError(message + " (error_if_nonfinite=True)")
        warnings.warn(
            message + ", so the gradients were left unchanged",
            NonFiniteGradientWarning,
            stacklevel=2,
        )
        return total
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            xp.multiply(g, coef, out=g)
    return total


def clip_grad_value(params, clip_value) -> None:
    """Clamp every gradient entry into [−clip_value, clip_value] in place (nan stays nan)."""
    clip_value = float(clip_value)
    for g in _grads(params):
        xp.clip(g, -clip_value, clip_value, out=g)
