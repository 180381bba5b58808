"""Compiled one-pass loops (the optional extension `_native.c`) for the hot elementwise work
of a training step: the optimizers' updates (Adam/AdamW, SGD, RMSprop, Adagrad), ReLU
after a Linear layer, batch norm in training, and the elementwise passes of the fused
cross-entropy.

NumPy makes one pass over memory per operation (Adam: about twelve); these loops make one,
performing the NumPy path's operations in its order and precision, so the numbers are
bit-identical. The extension is built at install time when a C compiler is present. Each
function returns False, doing nothing, when the extension is missing or switched off or the
arrays are not C-contiguous arrays of one float type and shape, or a hyperparameter is a
NumPy scalar rather than a Python number: the caller then runs its NumPy path.
`use_native(False)` switches the loops off, e.g. to compare the two paths.
"""

from __future__ import annotations

import warnings

from .engine import backend

VERSION = 10  # _native.c's VERSION: the functions and arguments this module calls


def _checked(module):
    """The built module, or None (with a warning) when it was built from another _native.c."""
    if module is not None and getattr(module, "VERSION", None) != VERSION:
        warnings.warn(
            "chainrule._native was built from a different _native.c than this "
            "chainrule's; reinstall chainrule (e.g. pip install -e .) to rebuild it. "
            "Using the NumPy paths meanwhile.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return module


try:
    from . import _native
except ImportError:  # installed without a C compiler
    _native = None
_native = _checked(_native)
_enabled = _native is not None
_switched_on = True  # use_native(False) turns the CPU and the CUDA loops off


def available() -> bool:
    """Whether the extension was built."""
    return _native is not None


def use_native(flag: bool) -> bool:
    """Use the compiled loops (when built; on a CUDA device, its kernels) or the NumPy paths;
    returns the previous setting."""
    global _enabled, _switched_on
    previous, _switched_on = _switched_on, bool(flag)
    _enabled = _switched_on and _native is not None
    return previous


_PYTHON_NUMBERS = frozenset((float, int, bool))


def _plain(*constants) -> bool:
    """Whether every constant is a Python number. A NumPy scalar is not weak under NEP 50:
    the NumPy path would compute with it in its own precision, so the loops decline it."""
    return _PYTHON_NUMBERS.issuperset(map(type, constants))  # no generator: once per step


def adam(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    *,
    decay_factor,
    weight_decay,
    maximize,
    lerp_weight,
    beta2,
    eps,
    scale,
) -> bool:
    """θ := θ·decay_factor, then one Adam step (see chainrule.optim.Adam._update) in place."""
    return _plain(decay_factor, weight_decay, lerp_weight, beta2, eps, scale) and _loops(
        param
    ).adam(
        param,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
        grad,
        weight_decay,
        maximize,
        decay_factor,
        lerp_weight,
        beta2,
        1.0 - beta2,
        eps,
        scale,
    )


def sgd(
    param, grad, momentum_buffer, *, weight_decay, maximize, momentum, dampening, nesterov, lr
) -> bool:
    """One SGD step (see chainrule.optim.SGD._update) in place; momentum_buffer is None
    without momentum."""
    return _plain(weight_decay, momentum, dampening, lr) and _loops(param).sgd(
        param,
        momentum_buffer,
        grad,
        weight_decay,
        maximize,
        momentum,
        1.0 - dampening,
        nesterov,
        -lr,
    )


def rmsprop(
    param,
    grad,
    square_avg,
    grad_avg,
    momentum_buffer,
    *,
    weight_decay,
    maximize,
    alpha,
    momentum,
    eps,
    lr,
) -> bool:
    """One RMSprop step (see chainrule.optim.RMSprop._update) in place; grad_avg is None
    unless centered, momentum_buffer None without momentum."""
    return _plain(weight_decay, alpha, momentum, eps, lr) and _loops(param).rmsprop(
        param,
        square_avg,
        grad_avg,
        momentum_buffer,
        grad,
        weight_decay,
        maximize,
        alpha,
        1.0 - alpha,
        1.0 - alpha,
        momentum,
        eps,
        lr,
    )


def adagrad(param, grad, state_sum, *, weight_decay, maximize, eps, lr) -> bool:
    """One Adagrad step with the decayed step size lr (see chainrule.optim.Adagrad._update)."""
    return _plain(weight_decay, eps, lr) and _loops(param).adagrad(
        param, state_sum, grad, weight_decay, maximize, eps, lr
    )


def _loops(param):
    """The module whose loops fit `param`: CUDA kernels for a device array, else _native's
    (or one whose functions decline, when the loops are off or not built)."""
    if not _switched_on:
        return _Declined
    if backend.is_device_array(param):
        from . import cuda_kernels

        return cuda_kernels
    return _native if _enabled else _Declined


class _Declined:
    """Stands for the loops when they are off: every update returns False."""

    adam = sgd = rmsprop = adagrad = staticmethod(lambda *args: False)


def bias_relu(z, bias) -> bool:
    """z := max(z + bias, 0) in place (bias may be None), z of shape (rows, len(bias))."""
    return _enabled and _native.bias_relu(z, bias)


def relu_grad(grad, z) -> bool:
    """grad := grad · (z > 0) in place: ReLU's backward from its output z."""
    return _enabled and _native.relu_grad(grad, z)


def square_sums(a, b, ends: tuple):
    """[Σ (a − b)² over a[start:end] for each segment] (b None: Σ a²), the segments ending at
    `ends`, in float64 lane by lane (train/norms.py), or False when not applicable."""
    return _enabled and _native.square_sums(a, b, ends)


def batch_norm_forward(out, mean, var, x, weight, bias, eps, relu=False, add=None) -> bool:
    """Batch norm in training of x (rows × width, width ≥ 2) into out, per column: μ into
    mean, the biased σ² into var, out := (x − μ)/√(σ² + eps)·weight + bias (weight and bias
    may be None), then max(out, 0) with relu; see nn/batch_norm_ops.py. With a vector `add`,
    x := x + add (in place) first, in the pass that sums x."""
    return (
        _enabled
        and type(eps) is float
        and _native.batch_norm_forward(out, mean, var, x, weight, bias, eps, bool(relu), add)
    )


def batch_norm_backward(gx, gw, gb, g, x, weight, eps, gx_sum=None, mean=None, var=None):
    """Batch norm's gradients for the upstream g into gx, gw, gb (each None when not
    wanted); gx_sum (with gx) := gx.sum(axis=0) as NumPy sums it. The statistics are
    computed again from x, or given: batch_norm_forward's mean and var of this x."""
    return (
        _enabled
        and type(eps) is float
        and _native.batch_norm_backward(gx, gw, gb, g, x, weight, eps, gx_sum, mean, var)
    )


def running_update(running, batch, factor, correction) -> bool:
    """running := running·(1 − factor) + (factor·batch)·correction in place, as
    nn/state_ops.running_update computes it (the same bits), for vectors of one length."""
    return (
        _enabled
        and type(factor) is float
        and type(correction) is float
        and _native.running_update(running, batch, factor, correction)
    )


def cross_entropy_shift(shifted, row_max, picked_logits, z, picked) -> bool:
    """For (rows, C) logits z: row_max := each row's maximum, shifted := z − row_max (per
    row), picked_logits := shifted.flat[picked] (picked: one flat index per row, in its row)."""
    return _enabled and _native.cross_entropy_shift(shifted, row_max, picked_logits, z, picked)


def cross_entropy_normalize(grad, factors, row_sum, picked, factor, label_step) -> bool:
    """factors := factor / row_sum, grad := grad · factors (per row), then
    grad.flat[picked] −= label_step."""
    return (
        _enabled
        and _plain(factor, label_step)
        and _native.cross_entropy_normalize(
            grad, factors, row_sum, picked, float(factor), float(label_step)
        )
    )
