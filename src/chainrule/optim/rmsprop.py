"""RMSprop: divide the step by a moving root mean square of the gradient."""

from __future__ import annotations

from .. import native
from ..engine.backend import xp
from .inplace import effective_grad, lerp_
from .optimizer import Optimizer, check_non_negative


class RMSprop(Optimizer):
    r"""RMSprop (torch.optim.RMSprop's arguments, defaults and formula).

    With g = ∇J(θ) (−∇J with maximize=True) and smoothing α:
        s := α s + (1 − α) g²
        centered=True:  ḡ := α ḡ + (1 − α) g,   d = √(s − ḡ²) + ε   (a variance estimate)
        otherwise:      d = √s + ε
        momentum β > 0: b := β b + g / d,   θ := θ − η b
        otherwise:      θ := θ − η g / d

    weight_decay λ adds λθ to g first: the gradient of an L2 penalty (λ/2)‖θ‖²
    (cr.nn.l2_penalty(model, λ/2)) that is not part of the reported loss; it also feeds s.
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        *,
        foreach=None,
        maximize=False,
        fused=None,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_non_negative(
            {
                "learning rate": group["lr"],
                "epsilon value": group["eps"],
                "momentum value": group["momentum"],
                "weight_decay value": group["weight_decay"],
                "alpha value": group["alpha"],
            }
        )

    def _init_state(self, group, data):
        state = {"step": 0, "square_avg": xp.zeros_like(data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(data)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(data)
        return state

    def _update(self, group, param, grad, state, work):
        alpha = group["alpha"]
        if native.rmsprop(
            param,
            grad,
            state["square_avg"],
            state["grad_avg"] if group["centered"] else None,
            state["momentum_buffer"] if group["momentum"] > 0 else None,
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            alpha=alpha,
            momentum=group["momentum"],
            eps=group["eps"],
            lr=group["lr"],
        ):
            return
        g = effective_grad(param, grad, group["weight_decay"], group["maximize"], work[0])
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += xp.multiply(xp.square(g, out=work[1]), 1.0 - alpha, out=work[1])
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1.0 - alpha, work[1])
            variance = xp.subtract(square_avg, xp.square(grad_avg, out=work[1]), out=work[1])
            denom = xp.sqrt(variance, out=work[1])
        else:
            denom = xp.sqrt(square_avg, out=work[1])
        denom += group["eps"]
        ratio = xp.divide(g, denom, out=work[1])
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += ratio
            ratio = xp.multiply(buf, group["lr"], out=work[1])
        else:
            ratio *= group["lr"]
        param -= ratio
