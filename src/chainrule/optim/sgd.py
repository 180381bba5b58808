"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from .. import native
from ..engine.backend import xp
from .inplace import add_scaled, effective_grad
from .optimizer import Optimizer, OptimizerError, check_non_negative


class SGD(Optimizer):
    r"""Stochastic gradient descent (torch.optim.SGD's arguments, defaults and formula).

    Plain: θ := θ − η g, where g = ∇J(θ) (−∇J with maximize=True).

    Momentum, as the texts write it, keeps a velocity:
        v := β v − η g,    θ := θ + v.
    PyTorch (and this class) keeps b = −v/η instead, with dampening τ:
        b := β b + (1 − τ) g   (b := g on the first step),    θ := θ − η b,
    the same trajectory while η is constant (when η changes, PyTorch's form applies the new
    η to the whole accumulated direction). Nesterov (τ = 0): θ := θ − η (g + β b).

    weight_decay λ adds λθ to the gradient before the update (g := g + λθ). It is the
    gradient of (λ/2)‖θ‖², i.e. cr.nn.l2_penalty(model, λ/2) added to the loss gives the same
    step; unlike that penalty it does not show in the reported loss, and it is applied per
    param group, so groups (e.g. biases) can opt out.

    By default (fused=None) the rule runs once over flat buffers holding the whole group
    (see chainrule.optim.flat); fused=False runs it per parameter; the numbers are the same.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        fused=None,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_non_negative(
            {
                "learning rate": group["lr"],
                "momentum value": group["momentum"],
                "weight_decay value": group["weight_decay"],
            }
        )
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise OptimizerError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, group, param, grad, state, work):
        momentum = group["momentum"]
        buf = state.get("momentum_buffer") if momentum else None
        if (buf is not None or not momentum) and native.sgd(
            param,
            grad,
            buf,
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            momentum=momentum,
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            lr=group["lr"],
        ):
            return
        g = effective_grad(param, grad, group["weight_decay"], group["maximize"], work[0])
        if momentum:
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()  # allocated once, on the first step
            else:
                buf *= momentum
                add_scaled(buf, g, 1.0 - group["dampening"], work[1])
            if group["nesterov"]:
                g = xp.add(g, xp.multiply(buf, momentum, out=work[1]), out=work[1])
            else:
                g = buf
        add_scaled(param, g, -group["lr"], work[1])
