"""CompiledStep: one training step (forward, loss, backward, optimizer update) replayed on
preallocated buffers, with no Tensor, graph node or per-op dispatch on the way.

The first batch of a shape records the step's tape: a kernel per layer (kernels.py) and
the fused loss kernel (losses.py), each with the buffers that shape needs; later batches of
that shape replay it. A ragged last batch gets a tape of its own (they are cached by shape).
Gradients are written in place: for a fused optimizer (fused=True / foreach=True) straight
into its flat gradient buffer, so its step has nothing to gather.

What the tape does not cover runs the eager step instead, never something different: a
model that is not a Sequential of built-in Linear, ReLU, LeakyReLU, Tanh, Sigmoid, GELU,
Identity, Flatten and Dropout layers (BatchNorm, LayerNorm, Residual, custom modules, a
wrapped forward); a loss other than CrossEntropyLoss (integer labels, no class weights or
label smoothing), MSELoss, L1Loss, HuberLoss, BCEWithLogitsLoss (no weights) with reduction
'mean' or 'sum'; frozen parameters or mixed dtypes; a batch the loss would reject (labels out
of range or ignored, targets of another shape); anomaly detection or no_grad.
"""

from __future__ import annotations

from ..engine import anomaly
from ..engine.backend import xp
from ..engine.tensor import Tensor, is_grad_enabled
from .kernels import LinearKernel, PrimitiveKernel, ReLUKernel, build_kernels, kernel_factories
from .losses import loss_kernel

_ndarray = xp.ndarray


class Plan:
    """The tape of one batch shape: kernels run forward, the loss, then backward."""

    def __init__(self, kernels, loss):
        self.kernels = kernels
        first = next(i for i, k in enumerate(kernels) if isinstance(k, LinearKernel))
        self.backward_kernels = kernels[first:][::-1]
        self.loss = loss
        last = kernels[-1]
        # The output is handed out (fit keeps it for metrics): copy it if it is a buffer.
        fresh = isinstance(last, (LinearKernel, PrimitiveKernel)) or (
            isinstance(last, ReLUKernel) and last.out is None
            and isinstance(kernels[-2], LinearKernel) and kernels[-2].out is None)
        self.copy_output = not fresh

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
    if "forward" in vars(model):
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


class CompiledStep:
    """step(X, y) -> loss: zero_grad, forward, loss, backward and optimizer.step() on the
    batch, replayed from a recorded tape when the model and loss allow it (`compiled`; else
    `reason` says why not, and every call runs the eager step). X is cast to the model's
    dtype and y converted as fit() converts targets.

    The tape assumes the model's layers stay the ones it was made for; parameters may be
    replaced or reloaded (they are read at every replay)."""

    def __init__(self, model, loss_fn, optimizer):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.params = list(model.parameters())
        self.layers, self.reason = flatten_layers(model)
        self._make_loss = loss_kernel(loss_fn)
        self.dtype = self.params[0].data.dtype if self.params else None
        self.reason = self.reason or self._check_support()
        self._plans = {}
        self._bound_data = self._bound_grads = None  # see _bind_destinations
        self._prepared_step = None  # the optimizer's prepared_step(), see optimizer_step
        self.replays = self.eager_steps = 0  # how each batch ran (tests read these)
        self._replays_stepped = 0  # self.replays at the last optimizer_step

    def _check_support(self):
        if not any(type(layer).__name__ == "Linear" for layer in self.layers):
            return "the model has no Linear layer"
        if self._make_loss is None:
            return f"{type(self.loss_fn).__name__} with these options is not supported"
        if any(not p.requires_grad for p in self.params):
            return "some parameters do not require grad"
        if len({p.data.dtype for p in self.params}) != 1 or self.dtype.kind != "f":
            return "the parameters are not all of one floating dtype"
        return None

    @property
    def compiled(self) -> bool:
        return self.reason is None

    def __call__(self, X, y) -> float:
        loss, _ = self._forward_backward(X, y)
        self.optimizer_step()
        return loss

    def optimizer_step(self):
        """optimizer.step(), after forward_backward.

        After a replay every gradient is in the optimizer's flat buffers, so its prepared
        step (checks made once, re-validated cheaply) can stand in for step()."""
        fast = self._prepared_step if self.replays != self._replays_stepped else None
        self._replays_stepped = self.replays
        if fast is None or not fast():
            self.optimizer.step()
            prepare = getattr(self.optimizer, "prepared_step", None)
            self._prepared_step = prepare() if prepare is not None else None

    def forward_backward(self, X, y):
        """Every parameter's .grad set to the gradient of the loss on (X, y) (what was there
        is replaced, as after zero_grad); returns (loss as a float, output Tensor)."""
        loss, output = self._forward_backward(X, y)
        return loss, output if isinstance(output, Tensor) else Tensor(output)

    def _forward_backward(self, X, y):
        if type(X) is not _ndarray:
            X = X.data if isinstance(X, Tensor) else xp.asarray(X)
        if type(y) is not _ndarray:
            y = y.data if isinstance(y, Tensor) else xp.asarray(y)
        plan = target = None
        if self.reason is None and is_grad_enabled() and not anomaly.enabled:
            key = (X.shape, X.dtype, y.shape, y.dtype)
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = self._record(X.shape) or False
            if plan:
                target = plan.loss.target(y)
        if target is None:
            return self._eager(X, y)
        if not self._bind_destinations():
            return self._eager(X, y)
        if X.dtype != self.dtype:
            X = X.astype(self.dtype)
        self.replays += 1
        return plan.run(X, target)

    def _record(self, shape):
        kernels = build_kernels(self.layers, shape, self.dtype)
        if not kernels:
            return None
        loss = self._make_loss(kernels[-1].out_shape, self.dtype)
        if loss is None:
            return None
        self._bound_data = None  # new kernels: bind their gradient arrays
        return Plan(kernels, loss)

    def _bind_destinations(self):
        """Point each parameter's .grad at the array its gradient is written into: its view
        of a fused optimizer's flat gradient buffer, else a buffer of the tape's own. They
        are looked up again when a parameter's .data was replaced (a fused optimizer
        re-points .data at its flat buffer when it builds one). False, binding nothing, when
        the parameters were cast (Module.to, a .data of another dtype): the tapes are
        dropped, to be recorded again for the new dtype, and this batch runs eagerly."""
        if self._bound_data is not None and all(
                [p.data is d for p, d in zip(self.params, self._bound_data)]):
            for p, grad in zip(self.params, self._bound_grads):
                p.grad = grad
            return True
        if any(p.data.dtype != self.dtype for p in self.params):
            self.dtype, self._plans = self.params[0].data.dtype, {}
            self.reason = self._check_support()
            return False
        destinations = {id(p): xp.empty_like(p.data) for p in self.params}
        flat_grad_views = getattr(self.optimizer, "flat_grad_views", _no_views)
        for group in getattr(self.optimizer, "param_groups", ()):
            group_views = flat_grad_views(group)
            if group_views is not None:
                destinations.update((id(p), v) for p, v in zip(group["params"], group_views)
                                    if id(p) in destinations)
        for plan in self._plans.values():
            for kernel in plan.kernels if plan else ():
                if isinstance(kernel, LinearKernel):
                    kernel.bind_grads(destinations)
        self._bound_grads = [destinations[id(p)] for p in self.params]
        self._bound_data = [p.data for p in self.params]
        return self._bind_destinations()

    def _eager(self, X, y):
        from ..train.inference import to_input, to_target

        self.eager_steps += 1
        self.optimizer.zero_grad()
        output = self.model(to_input(X, self.dtype or X.dtype))
        loss = self.loss_fn(output, to_target(y, output))
        loss.backward()
        return float(loss.data), output


def _no_views(group):
    return None


def compile_step(model, loss_fn, optimizer) -> CompiledStep:
    """A training step for (model, loss_fn, optimizer) replayed from a recorded tape:
    `step(X, y)` does zero_grad, forward, loss, backward and optimizer.step() and returns the
    loss. Models or losses the tape does not cover run the eager step (see `reason`)."""
    return CompiledStep(model, loss_fn, optimizer)
