"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients."""

from __future__ import annotations

from .. import native
from ..engine.backend import xp
from .inplace import effective_grad
from .optimizer import Optimizer, check_non_negative


class Adagrad(Optimizer):
    r"""Adagrad (torch.optim.Adagrad's arguments, defaults and formula).

    With g = ∇J(θ) (−∇J with maximize=True) at step t:
        η_t = η / (1 + (t − 1) · lr_decay)
        s := s + g²                         (s starts at initial_accumulator_value)
        θ := θ − η_t g / (√s + ε)

    weight_decay λ adds λθ to g first: the gradient of an L2 penalty (λ/2)‖θ‖²
    (cr.nn.l2_penalty(model, λ/2)) that is not part of the reported loss; it also feeds s.

    The state (step 0, s) is created when the optimizer is, as in PyTorch.
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        foreach=None,
        *,
        maximize=False,
        fused=None,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            fused=fused,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._init_state(group, p.data)

    def _check_group(self, group):
        check_non_negative(
            {
                "learning rate": group["lr"],
                "lr_decay value": group["lr_decay"],
                "weight_decay value": group["weight_decay"],
                "initial_accumulator_value value": group["initial_accumulator_value"],
                "epsilon value": group["eps"],
            }
        )

    def _init_state(self, group, data):
        return {"step": 0, "sum": xp.full_like(data, group["initial_accumulator_value"])}

    def _update(self, group, param, grad, state, work):
        clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        if native.adagrad(
            param,
            grad,
            state["sum"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            eps=group["eps"],
            lr=clr,
        ):
            return
        g = effective_grad(param, grad, group["weight_decay"], group["maximize"], work[0])
        state["sum"] += xp.square(g, out=work[1])
        std = xp.sqrt(state["sum"], out=work[1])
        std += group["eps"]
        update = xp.divide(g, std, out=work[1])
        update *= clr
        param -= update
