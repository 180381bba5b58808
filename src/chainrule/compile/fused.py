"""The fused road of a compiled step: a Sequential of built-in layers with a built-in loss,
run by hand-written layer kernels (kernels.py) and a one-pass loss kernel (losses.py) on
preallocated buffers, gradients written straight into the optimizer's flat buffer.

NOTE: this is the traced road's fusion for the most common models (Linear, BatchNorm1d and
activations), kept because it is measurably faster (one BLAS call per gradient into its
final buffer, ReLU fused with the bias); every other model takes the traced road (traced.py).
"""

from __future__ import annotations

from ..engine.backend import is_device_array
from .kernels import (
    BatchNormKernel,
    LinearKernel,
    PrimitiveKernel,
    ReLUKernel,
    build_kernels,
    kernel_factories,
    observer_of,
)
from .losses import CrossEntropyKernel, EagerLoss, loss_kernel

__all__ = ["FusedRoad", "Plan", "flatten_layers", "fused_support"]


class Plan:
    """The tape of one batch shape: kernels run forward, the loss, then backward.

    A plan with a BatchNorm1d is `exact`: the eager step's numbers bit for bit (Linear's
    bias gradient summed, and the loss computed, as eagerly), as the traced road gives them;
    a plain MLP keeps the faster bias sums (BLAS products with ones: the same up to
    rounding). The cross-entropy kernel gives the eager loss's bits in both."""

    def __init__(self, kernels, loss, loss_fn):
        self.exact = any(isinstance(k, BatchNormKernel) for k in kernels)
        if self.exact:
            if not isinstance(loss, CrossEntropyKernel):  # that one gives eager's bits
                loss = EagerLoss(loss_fn, loss)
            for kernel in kernels:
                if isinstance(kernel, LinearKernel):
                    kernel.exact = True
        self.kernels = kernels
        first = next(i for i, k in enumerate(kernels) if getattr(k, "trains", False))
        self.backward_kernels = kernels[first:][::-1]
        self.loss = loss
        last = kernels[-1]
        # The output is handed out (fit keeps it for metrics): copy it if it is a buffer.
        fresh = isinstance(last, (LinearKernel, PrimitiveKernel)) or (
            isinstance(last, ReLUKernel)
            and last.out is None
            and isinstance(kernels[-2], LinearKernel)
            and kernels[-2].out is None
        )
        self.copy_output = not fresh

    def bind_grads(self, destinations):
        """Write each kernel's parameter gradients into destinations[id(parameter)]."""
        for kernel in self.kernels:
            if getattr(kernel, "trains", False):
                kernel.bind_grads(destinations)

    def run(self, X, y):
        out = X
        for kernel in self.kernels:
            out = kernel.forward(out)
        loss, g = self.loss(out, y)
        for kernel in self.backward_kernels:
            g = kernel.backward(g)
        return loss, out.copy() if self.copy_output else out


def flatten_layers(model):
    """The model's layers in order, or (None, why) when the tape cannot take the model."""
    from ..nn import Identity, Sequential

    supported = kernel_factories()
    if "forward" in vars(model) and observer_of(model) is None:
        return None, f"{type(model).__name__} has a replaced forward"
    if type(model) is Sequential:
        layers = []
        for child in model:
            inner, why = flatten_layers(child)
            if inner is None:
                return None, why
            layers += inner
        return layers, None
    if type(model) in supported or type(model) is Identity:
        return [model], None
    return None, f"{type(model).__name__} is not a layer the tape supports"


def fused_support(model, loss_fn, params, layers=None):
    """The FusedRoad for this model (or these layers of it) and loss, or None."""
    if layers is None:
        layers, why = flatten_layers(model)
        if why is not None:
            return None
    make_loss = loss_kernel(loss_fn)
    if make_loss is None:
        return None
    if not any(isinstance(layer, _linear_class()) for layer in layers):
        return None
    if any(not p.requires_grad or is_device_array(p.data) for p in params):
        return None  # the kernels are NumPy's and the native loops
    if len({p.data.dtype for p in params}) != 1 or params[0].data.dtype.kind != "f":
        return None
    return FusedRoad(layers, make_loss, loss_fn)


def _batch_norm_class():
    from ..nn import BatchNorm1d

    return BatchNorm1d


_MODED = {_batch_norm_class()}


def _linear_class():
    from ..nn import Linear

    return Linear


class FusedRoad:
    """Layers and a loss (its kernel factory), with a Plan per kind of batch (False:
    declined)."""

    def __init__(self, layers, make_loss, loss_fn):
        self.layers, self.make_loss, self.loss_fn = layers, make_loss, loss_fn
        self.plans = {}
        # Layers whose kernels depend on the train/eval mode (the plan is made per mode).
        self.moded = [layer for layer in layers if type(layer) in _MODED]

    def plan(self, X, y, dtype):
        """The Plan for this batch (made on first sight), or None when it is declined."""
        key = (X.shape, X.dtype, y.shape, y.dtype)
        if self.moded:
            key += tuple([m.training for m in self.moded])
        plan = self.plans.get(key)
        if plan is None:
            kernels = build_kernels(self.layers, X.shape, dtype)
            loss = self.make_loss(kernels[-1].out_shape, dtype) if kernels else None
            plan = self.plans[key] = (
                Plan(kernels, loss, self.loss_fn) if loss is not None else False
            )
        return plan or None
