"""In-place array steps the update rules share; each writes into arrays it is given."""

from __future__ import annotations

from ..engine.backend import xp


def effective_grad(param, grad, weight_decay, maximize, out):
    """The gradient a rule follows: g, or −g when maximizing, plus weight_decay·θ.

    Returns `grad` itself when there is nothing to add, else `out` (never writes to grad).
    """
    if not weight_decay:
        return xp.negative(grad, out=out) if maximize else grad
    xp.multiply(param, weight_decay, out=out)
    if maximize:
        out -= grad
    else:
        out += grad
    return out


def lerp_(start, end, weight, work):
    """start := start + weight·(end − start) in place (torch's two-sided form for accuracy)."""
    xp.subtract(end, start, out=work)
    if weight < 0.5:
        work *= weight
        start += work
    else:
        work *= weight - 1.0
        xp.add(end, work, out=start)


def add_scaled(target, x, alpha, work):
    """target += alpha·x in place; `work` may be x itself when x is scratch."""
    if alpha == 1:
        target += x
    else:
        target += xp.multiply(x, alpha, out=work)
