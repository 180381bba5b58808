"""The loss kernels of a compiled step: the loss value and its gradient with respect to the
model's output in one call. Cross-entropy runs label_cross_entropy's own buffer forms
(nn/cross_entropy.py) on kept buffers, so it gives the eager step's bits; the elementwise
losses apply their rule and reduce.

`loss_kernel(loss_fn)` gives a factory `make(out_shape, dtype)` for the losses the tape
supports with their default options (reduction 'mean' or 'sum'), or None. A kernel's
`target(y)` returns the target array it takes, or None for a batch it cannot take (labels
out of range, a shape the loss would reject): that batch runs the eager step, which raises
the error the user should see.
"""

from __future__ import annotations

import math

from ..engine.backend import xp
from ..nn.cross_entropy import (
    SoftmaxPass,
    gradient_scales,
    label_grad_into,
    label_loss_into,
)
from ..nn.primitives import bce_with_logits

_UNSIGNED = {size: xp.dtype(f"u{size}") for size in (1, 2, 4, 8)}


class CrossEntropyKernel:
    """Softmax cross-entropy of (n, C) logits against integer labels in [0, C), by
    label_cross_entropy's own arithmetic (nn/cross_entropy.py) on buffers kept across steps:
    the eager step's value and gradient for the seed 1, bit for bit.

    The labels are checked by one maximum over their unsigned view (a negative label is
    then too large as well): a batch with a label out of range runs the eager step, which
    raises the error the user should see."""

    def __init__(self, out_shape, dtype, reduction):
        n, self.classes = out_shape
        self.buffers = SoftmaxPass(out_shape, dtype)
        self.labels_shape = (n,)
        self.count = float(n) if reduction == "mean" else 1.0
        seed = xp.ones((), dtype)  # the gradient backward() starts from
        _, self.factor, self.label_step = gradient_scales(seed, xp.dtype(dtype), self.count)

    def target(self, y):
        dtype = y.dtype
        if dtype.kind not in "iu" or y.shape != self.labels_shape or not len(y):
            return None
        if y.view(_UNSIGNED[dtype.itemsize]).max() >= self.classes:
            return None
        return y if dtype.kind == "i" or dtype.itemsize < 8 else y.astype(xp.intp)

    def __call__(self, z, y):
        loss = label_loss_into(self.buffers, z, y, self.count)
        return float(loss), label_grad_into(self.buffers, self.factor, self.label_step)


class ElementwiseKernel:
    """A loss of (output − target) or (output, target) elementwise, reduced by mean or sum;
    the target takes the output's dtype, and (n,) becomes (n, 1) for one output column (as
    fit's targets do)."""

    def __init__(self, out_shape, dtype, reduction, rule):
        self.out_shape, self.dtype, self.rule = tuple(out_shape), dtype, rule
        self.scale = 1.0 / math.prod(out_shape) if reduction == "mean" else 1.0

    def target(self, y):
        if y.dtype != self.dtype:
            y = y.astype(self.dtype)
        if y.ndim == 1 and len(self.out_shape) == 2 and self.out_shape[1] == 1:
            y = y.reshape(-1, 1)
        return y if y.shape == self.out_shape else None

    def __call__(self, z, y):
        values, grad = self.rule(z, y)
        grad *= self.scale
        return float(values.sum()) * self.scale, grad


class EagerLoss:
    """The loss on the model's output as the eager step computes it (a graph of the loss
    alone, its backward), for plans that must give the eager step's bits (Plan.exact); the
    elementwise kernel still checks the targets."""

    def __init__(self, loss_fn, kernel):
        self.loss_fn, self.kernel = loss_fn, kernel

    def target(self, y):
        return self.kernel.target(y)

    def __call__(self, z, y):
        from ..engine.tensor import Tensor

        output = Tensor(z, requires_grad=True)
        loss = self.loss_fn(output, Tensor(y))
        loss.backward()
        return float(loss.data), output.grad


def _mse(z, y):
    diff = z - y
    return diff * diff, diff * 2.0


def _l1(z, y):
    diff = z - y
    return xp.abs(diff), xp.sign(diff)


def _huber(delta):
    def rule(z, y):
        diff = z - y
        size = xp.abs(diff)
        values = xp.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
        return values, xp.clip(diff, -delta, delta)

    return rule


def _bce_with_logits(z, y):  # the primitive's forward, and its VJP for the seed 1 (exact)
    grad = bce_with_logits._vjp(1.0, None, z, y, needs=(True, False, False))[0]
    return bce_with_logits.forward(z, y), grad


def _as_module(loss_fn):
    """The loss module a functional loss equals with its default options
    (F.cross_entropy -> CrossEntropyLoss()), or loss_fn itself."""
    from .. import nn
    from ..nn import functional as F

    modules = {
        F.cross_entropy: nn.CrossEntropyLoss,
        F.mse_loss: nn.MSELoss,
        F.l1_loss: nn.L1Loss,
        F.huber_loss: nn.HuberLoss,
        F.binary_cross_entropy_with_logits: nn.BCEWithLogitsLoss,
    }
    make = (
        modules.get(loss_fn) if callable(loss_fn) and not isinstance(loss_fn, nn.Module) else None
    )
    return loss_fn if make is None else make()


def loss_kernel(loss_fn):
    """A factory (out_shape, dtype) -> kernel for this loss module (or a functional loss with
    its default options), or None if unsupported."""
    from .. import nn

    loss_fn = _as_module(loss_fn)
    kind = type(loss_fn)
    reduction = getattr(loss_fn, "reduction", None)
    if reduction not in ("mean", "sum") or "forward" in vars(loss_fn):
        return None
    if kind is nn.CrossEntropyLoss:
        if loss_fn.weight is not None or loss_fn.label_smoothing:
            return None
        ignore = loss_fn.ignore_index

        def make(out_shape, dtype):
            if len(out_shape) != 2 or 0 <= ignore < out_shape[1]:
                return None
            return CrossEntropyKernel(out_shape, dtype, reduction)

        return make
    rules = {nn.MSELoss: _mse, nn.L1Loss: _l1}
    if kind is nn.HuberLoss and loss_fn.delta > 0:
        rules[kind] = _huber(loss_fn.delta)
    if kind is nn.BCEWithLogitsLoss and loss_fn.weight is None and loss_fn.pos_weight is None:
        rules[kind] = _bce_with_logits
    rule = rules.get(kind)
    if rule is None:
        return None
    return lambda out_shape, dtype: ElementwiseKernel(out_shape, dtype, reduction, rule)
