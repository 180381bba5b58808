"""The loss kernels of a compiled step: the loss value and its gradient with respect to the
model's output in one pass (the fused softmax cross-entropy: (softmax(z) − onehot(y)) / n).

`loss_kernel(loss_fn)` gives a factory `make(out_shape, dtype)` for the losses the tape
supports with their default options (reduction 'mean' or 'sum'), or None. A kernel's
`target(y)` returns the target array it takes, or None for a batch it cannot take (labels
out of range, a shape the loss would reject): that batch runs the eager step, which raises
the error the user should see.
"""

from __future__ import annotations

import math

from .. import native
from ..engine.backend import xp
from ..nn.primitives import bce_with_logits


class CrossEntropyKernel:
    """Softmax cross-entropy of (n, C) logits against integer labels in [0, C).

    NOTE: row sums are products with a vector of ones (BLAS gemv), and the label check a
    `take` that raises on a bad label: NumPy's reductions cost several microseconds each on
    arrays this small, a third of a tiny model's step."""

    def __init__(self, out_shape, dtype, reduction):
        n, self.classes = out_shape
        self.shifted = xp.empty(out_shape, dtype)
        self.grad = xp.empty(out_shape, dtype)
        self.shifted_flat, self.grad_flat = self.shifted.reshape(-1), self.grad.reshape(-1)
        self.row_max = xp.empty(n, dtype)
        self.row_sum = xp.empty(n, dtype)
        self.ones_n, self.ones_c = xp.ones(n, dtype), xp.ones(self.classes, dtype)
        self.offsets = xp.arange(n) * self.classes  # flat index of each row's first class
        self.picked = xp.empty(n, xp.intp)
        self.picks = xp.empty(n, dtype)  # the shifted logit at each row's label
        self.valid = xp.zeros(self.classes, xp.int8)  # indexed by the labels to check them
        self.scale = 1.0 / n if reduction == "mean" else 1.0
        self.inverse = 1.0 / self.scale
        self.reduction = reduction

    def target(self, y):
        kind = y.dtype.kind
        if kind not in "iu" or y.shape != self.offsets.shape or not len(y):
            return None
        try:  # viewed as unsigned, a negative label is too large as well
            self.valid.take(y.view(f"u{y.dtype.itemsize}") if kind == "i" else y)
        except IndexError:
            return None
        return y

    def _row_max(self, z):
        if self.classes <= 4:  # a few columns: elementwise maxima beat a reduction
            out = xp.maximum(z[:, 0], z[:, -1], out=self.row_max)
            for c in range(1, self.classes - 1):
                xp.maximum(out, z[:, c], out=out)
            return out
        return z.max(axis=1, out=self.row_max)

    def __call__(self, z, y):
        shifted, grad, row_sum, label_logits = self.shifted, self.grad, self.row_sum, self.picks
        picked = xp.add(self.offsets, y, out=self.picked)  # flat indices of the labels
        if not native.cross_entropy_shift(shifted, self.row_max, label_logits, z, picked):
            xp.subtract(z, self._row_max(z)[:, None], out=shifted)
            self.shifted_flat.take(picked, out=label_logits)
        xp.exp(shifted, out=grad)
        xp.dot(grad, self.ones_c, out=row_sum)
        # (softmax − onehot)·scale, the scale folded into the division.
        inverse = self.inverse
        if not native.cross_entropy_normalize(
            grad, self.row_max, row_sum, picked, inverse, self.scale
        ):
            scaled_sum = xp.multiply(row_sum, inverse, out=self.row_max)
            xp.divide(grad, scaled_sum[:, None], out=grad)
            self.grad_flat[picked] -= self.scale
        per_row = xp.subtract(xp.log(row_sum, out=row_sum), label_logits, out=label_logits)
        return float(xp.dot(per_row, self.ones_n)) * self.scale, grad


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


class ExactCrossEntropyKernel:
    """Cross-entropy with default options by label_cross_entropy's own arithmetic, for exact
    plans: the eager step's bits. For labels in range with no weights, smoothing or ignored
    labels (the one-pass kernel checks the targets), label_loss and label_grad for the seed 1
    reduce to the NumPy calls below, made on buffers kept across steps: one log-softmax
    (ops.log_softmax: max, shift, exp, row sums, log), −Σ log p at the labels divided by the
    count, and exp(log p)·s − s at the labels for the scale s = 1/count (tested bit for bit
    against label_loss and label_grad)."""

    def __init__(self, kernel, reduction):
        self.kernel, self.reduction = kernel, reduction
        n, classes = kernel.shifted.shape
        dtype = kernel.shifted.dtype
        self.log_p, self.grad = xp.empty((n, classes), dtype), xp.empty((n, classes), dtype)
        self.log_p_flat, self.grad_flat = self.log_p.reshape(-1), self.grad.reshape(-1)
        self.row = xp.empty((n, 1), dtype)  # the log of the row sums
        self.row_flat, self.row_max = self.row.reshape(-1), xp.empty(n, dtype)
        self.picked_log_p = xp.empty(n, dtype)
        self.at_label = xp.empty(n, xp.intp)  # the flat index of each row's label
        self.count = float(n) if reduction == "mean" else 1.0
        seed = xp.ones((), dtype)  # the backward's seed gradient, as label_grad scales it
        self.scale = seed / self.count if reduction == "mean" else seed

    def target(self, y):
        return self.kernel.target(y)

    def __call__(self, z, y):
        log_p, grad, row, picked = self.log_p, self.grad, self.row, self.picked_log_p
        at_label = xp.add(self.kernel.offsets, y, out=self.at_label)
        # log_p := z − the row's maximum (the picked at the labels), then − log Σ exp.
        if not native.cross_entropy_shift(log_p, self.row_max, picked, z, at_label):
            xp.subtract(z, z.max(axis=-1, keepdims=True, out=row), out=log_p)
            self.log_p_flat.take(at_label, out=picked)
        xp.exp(log_p, out=grad).sum(axis=-1, keepdims=True, out=row)
        xp.subtract(log_p, xp.log(row, out=row), out=log_p)
        xp.subtract(picked, self.row_flat, out=picked)
        loss = -picked.sum() / self.count
        xp.exp(log_p, out=grad)
        grad *= self.scale
        self.grad_flat[at_label] -= self.scale
        return float(loss), grad


class EagerLoss:
    """The loss on the model's output as the eager step computes it (a graph of the loss
    alone, its backward), for plans that must give the eager step's bits (Plan.exact); the
    one-pass kernel still checks the targets."""

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
