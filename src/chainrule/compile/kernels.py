"""The layer kernels a compiled step replays: each layer's forward and backward on arrays.

A kernel is made for one input shape and keeps its output and gradient buffers across
steps, so a replay allocates (almost) nothing. The arithmetic is the primitives' own: each
kernel calls its layer primitive's buffer-writing form (`linear_into`/`linear_grads`,
`relu_into`/`relu_grad_in_place`, `draw_dropout_mask`, batch norm's forward and VJP) with its
buffers as `out=`, and an elementwise activation without a special kernel calls its
primitive's forward and VJP. What a kernel adds is where results go: in place, fused with the
layer before (a Linear's bias and the ReLU after it in one pass), into the optimizer's flat
gradient buffer.

Every kernel has `forward(x) -> y` and `backward(g) -> gradient of x`; a kernel with
parameters (`trains`) writes their gradients into the arrays `bind_grads` gave it.
"""

from __future__ import annotations

from ..engine import ops
from ..engine.backend import xp
from ..engine.ops import relu_into
from ..nn.batch_norm_ops import train_backward, train_forward
from ..nn.primitives import (
    bias_relu_into,
    gelu,
    linear_grads,
    linear_into,
    relu_grad_in_place,
)
from ..nn.state_ops import draw_dropout_mask


class LinearKernel:
    """z = x Wᵀ + b for x of shape (n, in); the last one allocates its output (the model's
    output is handed to callers, who may keep it)."""

    trains = True

    def __init__(self, module, in_shape, dtype, *, input_grad, fresh_output):
        n = in_shape[0]
        self.module = module
        self.out_shape = (n, module.out_features)
        self.out = None if fresh_output else xp.empty(self.out_shape, dtype)
        self.gx = xp.empty(in_shape, dtype) if input_grad else None
        self.ones = xp.ones(n, dtype)
        self.weight = self.weight_t = self.bias = None  # set by bind_grads
        self.grad_weight = self.grad_bias = self.x = None
        self.needs = self.into = None  # set by bind_grads
        self.bias_added_by_next = False  # a ReLU kernel after it adds the bias in its pass
        self.bias_summed_by_next = False  # a BatchNorm kernel after it: adds it, sums its grad
        self.exact = False  # the bias gradient summed as the eager VJP sums (Plan.exact)

    def bind_grads(self, destinations):
        """Take the arrays to write the gradients into, and the parameters' arrays as they
        are now (the step binds again whenever a parameter's .data is replaced)."""
        module = self.module
        self.weight = module.weight.data
        self.weight_t = self.weight.T  # a view: BLAS reads it transposed, nothing is copied
        self.bias = None if module.bias is None else module.bias.data
        self.grad_weight = destinations[id(module.weight)]
        self.grad_bias = None if module.bias is None else destinations[id(module.bias)]
        # A BatchNorm kernel after it sums the bias gradient in its last pass.
        summed = self.grad_bias is not None and not self.bias_summed_by_next
        self.needs = (self.gx is not None, True, summed)
        self.into = (self.gx, self.grad_weight, self.grad_bias)

    def forward(self, x):
        self.x = x
        out = self.out
        if out is None:  # a fresh output, made here so the product writes into it (np.dot)
            out = xp.empty(self.out_shape, x.dtype)
        return linear_into(x, self.weight_t, None if self.bias_added_by_next else self.bias, out)

    def backward(self, g):
        ones = None if self.exact else self.ones  # exact: the bias gradient as eagerly summed
        return linear_grads(g, self.x, self.weight, self.bias, self.needs, self.into, ones)[0]


class BatchNormKernel:
    """BatchNorm1d in training (or without running statistics) on (n, C) inputs, n > 1: its
    primitive's forward and VJP, with the arguments BatchNorm1d.forward gives them, read at
    every replay (the running statistics are updated in place as eagerly). `supports` says
    whether a batch of that shape in the layer's present mode can take it (FusedRoad keys its
    plans by the mode)."""

    def __init__(self, module, in_shape, dtype, *, input_grad, linear=None):
        self.module, self.out_shape = module, in_shape
        # The Linear before it: its bias added in the first pass, its bias gradient summed in
        # the last (the same operations in the same order as LinearKernel's).
        self.linear = linear
        if linear is not None:
            linear.bias_added_by_next = linear.bias_summed_by_next = True
        self.trains = module.weight is not None or module.bias is not None
        self.grad_weight = self.grad_bias = None
        self.arguments = self.y = None
        # Buffers of the compiled loops, reused by every replay (the NumPy path allocates).
        self.out = xp.empty(in_shape, dtype)
        self.statistics = xp.empty((2, 1, in_shape[1]), dtype)  # the batch's μ and σ²
        self.gx = xp.empty(in_shape, dtype) if input_grad else None
        self.relu_after = False  # a ReLU kernel after it: ReLU applied in the same pass

    @staticmethod
    def supports(module, in_shape):
        from .. import distributed

        return (
            len(in_shape) == 2
            and in_shape[0] > 1
            and in_shape[1] == module.num_features
            and (module.training or module.running_mean is None)
            and not distributed.batch_norm_is_synchronized()
        )

    def bind_grads(self, destinations):
        module = self.module
        self.grad_weight = None if module.weight is None else destinations[id(module.weight)]
        self.grad_bias = None if module.bias is None else destinations[id(module.bias)]

    def forward(self, x):
        m = self.module
        tracking = m.training and m.track_running_stats
        update = not m.training or m.track_running_stats
        self.arguments = (
            x,
            None if m.weight is None else m.weight.data,
            None if m.bias is None else m.bias.data,
            m.running_mean if update else None,
            m.running_var if update else None,
            m.num_batches_tracked if tracking else None,
        )
        into, add = (self.out, self.statistics), self.linear and self.linear.bias
        self.y = train_forward(*self.arguments, m.momentum, m.eps, self.relu_after, into, add)
        return self.y

    def backward(self, g):
        m = self.module
        into = (self.gx, self.grad_weight, self.grad_bias)
        gx_sum = self.linear and self.linear.grad_bias
        # The compiled forward (its output in self.out) left this x's μ and σ² there.
        statistics = self.statistics if self.y is self.out else None
        return train_backward(
            g, self.y, self.arguments, m.momentum, m.eps, into, gx_sum, statistics
        )


class ReLUKernel:
    """max(x, 0): in place on a Linear's output, adding that Linear's bias in the same pass
    (one compiled loop when chainrule.native is built), or taken by a BatchNorm kernel in its
    last pass; the backward masks by the output."""

    def __init__(self, module, in_shape, dtype, *, linear=None, norm=None):
        self.linear, self.norm = linear, norm
        if linear is not None:
            linear.bias_added_by_next = True
        if norm is not None:
            norm.relu_after = True
        fused = linear is not None or norm is not None
        self.out = None if fused else xp.empty(in_shape, dtype)
        self.mask = xp.empty(in_shape, bool)
        self.out_shape = in_shape
        self.y = None

    def forward(self, x):
        if self.norm is not None:
            self.y = x  # the batch norm kernel took max(·, 0) already
            return x
        if self.linear is None:
            self.y = relu_into(x, out=self.out)
            return self.y
        self.y = bias_relu_into(x, self.linear.bias)
        return x

    def backward(self, g):
        return relu_grad_in_place(g, self.y, self.mask)


class DropoutKernel:
    """Inverted dropout with the mask drawn as F.dropout draws it, from chainrule's generator
    at every replay; the identity in eval mode or for p = 0 (read at each replay)."""

    def __init__(self, module, in_shape, dtype, **_):
        self.module = module
        self.out = xp.empty(in_shape, dtype)
        self.scaled_mask = xp.empty(in_shape, dtype)
        self.out_shape = in_shape
        self.active = False

    def forward(self, x):
        p = self.module.p
        self.active = self.module.training and p != 0.0
        if not self.active:
            return x
        draw_dropout_mask(x, p, out=self.scaled_mask)
        return xp.multiply(x, self.scaled_mask, out=self.out)

    def backward(self, g):
        return xp.multiply(g, self.scaled_mask, out=g) if self.active else g


class PrimitiveKernel:
    """An elementwise activation through its primitive's forward and VJP (no graph)."""

    def __init__(self, op, options, in_shape):
        self.op, self.options, self.out_shape = op, options, in_shape
        self.x = self.out = None

    def forward(self, x):
        self.x = x
        self.out = self.op.forward(x, **self.options)
        return self.out

    def backward(self, g):
        return self.op._vjp(g, self.out, self.x, **self.options)[0]


class FlattenKernel:
    def __init__(self, module, in_shape, dtype, **_):
        self.in_shape = in_shape
        self.out_shape = module.forward(xp.empty(in_shape, dtype)).shape

    def forward(self, x):
        return x.reshape(self.out_shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class ObservedKernel:
    """A parameterless layer's kernel whose output a callback observes (observed_forward)."""

    def __init__(self, kernel, observer):
        self.kernel, self.observer, self.out_shape = kernel, observer, kernel.out_shape
        self._forward = kernel.forward
        self.backward = kernel.backward  # the layer's own: no call in between at every step

    def forward(self, x):
        out = self._forward(x)
        self.observer(out)
        return out


def observer_of(module):
    """The function a compile.observed_forward hands the module's output to, or None."""
    return getattr(vars(module).get("forward"), "observer", None)


def _activation(op, options_of):
    """A factory for PrimitiveKernel: `options_of(module)` gives the primitive's options."""

    def make(module, in_shape, dtype, **_):
        return PrimitiveKernel(op, options_of(module), in_shape)

    return make


def kernel_factories():
    """Layer type -> kernel factory, for exactly the built-in layers the tape supports."""
    from .. import nn

    return {
        nn.Linear: LinearKernel,
        nn.BatchNorm1d: BatchNormKernel,
        nn.ReLU: ReLUKernel,
        nn.Dropout: DropoutKernel,
        nn.Flatten: FlattenKernel,
        nn.Tanh: _activation(ops.tanh, lambda m: {}),
        nn.Sigmoid: _activation(ops.sigmoid, lambda m: {}),
        nn.LeakyReLU: _activation(ops.leaky_relu, lambda m: {"negative_slope": m.negative_slope}),
        nn.GELU: _activation(gelu, lambda m: {"approximate": m.approximate}),
    }


def build_kernels(layers, in_shape, dtype):
    """The kernels for these layers (Identity left out) on inputs of `in_shape`, or None when
    a Linear would get an input that is not (n, in_features), or a BatchNorm1d one it cannot
    take (BatchNormKernel.supports)."""
    factories = kernel_factories()
    last_linear = max(
        (i for i, m in enumerate(layers) if factories.get(type(m)) is LinearKernel), default=-1
    )
    kernels, shape, seen_params = [], tuple(in_shape), False
    for i, layer in enumerate(layers):
        make = factories.get(type(layer))
        if make is None:  # Identity
            continue
        if make is LinearKernel:
            if len(shape) != 2 or shape[1] != layer.in_features:
                return None
            kernel = LinearKernel(
                layer, shape, dtype, input_grad=seen_params, fresh_output=i == last_linear
            )
        elif make is BatchNormKernel:
            if not BatchNormKernel.supports(layer, shape):
                return None
            previous = kernels[-1] if kernels else None
            kernel = BatchNormKernel(
                layer,
                shape,
                dtype,
                input_grad=seen_params,
                linear=previous if isinstance(previous, LinearKernel) else None,
            )
        elif make is ReLUKernel:
            previous = kernels[-1] if kernels else None
            kernel = ReLUKernel(
                layer,
                shape,
                dtype,
                linear=previous if isinstance(previous, LinearKernel) else None,
                norm=previous if isinstance(previous, BatchNormKernel) else None,
            )
        else:
            kernel = make(layer, shape, dtype)
        observer = observer_of(layer)
        if observer is not None:
            if getattr(kernel, "trains", False):
                return None  # only activations are observed (a parameter's kernel is not)
            kernel = ObservedKernel(kernel, observer)
        kernels.append(kernel)
        seen_params = seen_params or getattr(kernel, "trains", False)
        shape = kernel.out_shape
    return kernels
