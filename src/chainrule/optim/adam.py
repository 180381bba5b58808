"""Adam and AdamW: moving averages of the gradient and of its square, bias-corrected."""

from __future__ import annotations

from .. import native
from ..engine.backend import xp
from .inplace import effective_grad, lerp_
from .optimizer import Optimizer, OptimizerError, check_non_negative


class Adam(Optimizer):
    r"""Adam (torch.optim.Adam's arguments, defaults and formula).

    With g = ∇J(θ) (−∇J with maximize=True), step t, betas (β₁, β₂):
        m := β₁ m + (1 − β₁) g,         v := β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ),              v̂ = v / (1 − β₂ᵗ)
        θ := θ − η m̂ / (√v̂ + ε)
    amsgrad=True divides by the running maximum of v instead: v_max := max(v_max, v).

    weight_decay λ (coupled, as in torch's Adam) adds λθ to g before the moments, which is
    the gradient of an L2 penalty (λ/2)‖θ‖² (cr.nn.l2_penalty(model, λ/2)) not shown in the
    loss; through the division by √v̂ its pull on θ shrinks where gradients are large. AdamW
    decouples it (see AdamW).

    By default (fused=None) the rule runs once over flat buffers holding the whole group
    (see chainrule.optim.flat); fused=False runs it per parameter.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        fused=None,
        decoupled_weight_decay=False,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_non_negative({"learning rate": group["lr"], "epsilon value": group["eps"]})
        if len(group["betas"]) != 2:
            raise OptimizerError(f"betas must be a pair (beta1, beta2), got {group['betas']}")
        for i, beta in enumerate(group["betas"]):
            if not 0.0 <= beta < 1.0:
                raise OptimizerError(f"Invalid beta parameter at index {i}: {beta}")
        check_non_negative({"weight_decay value": group["weight_decay"]})

    def _init_state(self, group, data):
        state = {"step": 0, "exp_avg": xp.zeros_like(data), "exp_avg_sq": xp.zeros_like(data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(data)
        return state

    def _update(self, group, param, grad, state, work):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        decay, decay_factor = group["weight_decay"], 1.0
        if decay and group["decoupled_weight_decay"]:
            decay, decay_factor = 0.0, 1.0 - lr * decay
        step = state["step"]
        step_size = lr / (1.0 - beta1**step)
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        # torch's step_size·m / (√v / c₂ + ε), with c₂ multiplied through: one pass fewer.
        eps, scale = eps * bias_correction2_sqrt, step_size * bias_correction2_sqrt
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        max_exp_avg_sq = state["max_exp_avg_sq"] if group["amsgrad"] else None
        if native.adam(
            param,
            grad,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
            decay_factor=decay_factor,
            weight_decay=decay,
            maximize=group["maximize"],
            lerp_weight=1.0 - beta1,
            beta2=beta2,
            eps=eps,
            scale=scale,
        ):
            return
        if decay_factor != 1.0:
            param *= decay_factor
        g = effective_grad(param, grad, decay, group["maximize"], work[0])
        lerp_(exp_avg, g, 1.0 - beta1, work[1])
        exp_avg_sq *= beta2
        exp_avg_sq += xp.multiply(xp.square(g, out=work[1]), 1.0 - beta2, out=work[1])
        second = exp_avg_sq
        if max_exp_avg_sq is not None:
            second = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = xp.sqrt(second, out=work[1])
        denom += eps
        update = xp.divide(exp_avg, denom, out=work[1])
        update *= scale
        param -= update


class AdamW(Adam):
    r"""Adam with decoupled weight decay (torch.optim.AdamW's arguments and defaults).

    The decay shrinks θ directly, outside the adaptive scaling, before the Adam step:
        θ := θ (1 − η λ),   then Adam's update with g = ∇J(θ) (no λθ in g).
    An L2 penalty in the loss would instead pass through m and √v̂, so parameters with large
    gradients would be decayed less; here every weight decays at the same rate η λ.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        foreach=None,
        fused=None,
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            foreach=foreach,
            maximize=maximize,
            fused=fused,
            decoupled_weight_decay=True,
        )
