"""The optimizers' one-pass updates on a CUDA device: each `_native.c` loop as a CUDA kernel.

NumPy's path on CuPy arrays launches one kernel per operation (Adam: about twelve); each
kernel here makes one pass, with the element-by-element IEEE operations of `_native.c` in its
order and precision (constants rounded to the array's type first, no fused multiply-add:
compiled with --fmad=false), so a GPU step gives the numbers of the CPU step. One kernel is
compiled per optimizer, float type and set of options, on first use (CuPy caches the build).
chainrule/native.py calls these for device arrays; each returns False, doing nothing, when an
array is not a C-contiguous device array of the parameter's dtype and size.
"""

from __future__ import annotations

import functools

import numpy as np

from .engine import backend

_BLOCK = 256

# The loop bodies of _native.c, one element `i` per thread; `p`, `s1`, `s2`, `s3`, `g` are the
# parameter, up to three state buffers and the gradient. EFFECTIVE_GRAD and LERP as there.
_COMMON = """
#define NAN_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define EFFECTIVE_GRAD(gi, pi) \\
    if (COUPLED) gi = MAXIMIZE ? (pi) * decay - gi : (pi) * decay + gi; \\
    else if (MAXIMIZE) gi = -gi;
#define LERP(a, x) (LERP_HI ? (x) + ((x) - (a)) * w : (a) + ((x) - (a)) * w)
"""

_BODIES = {
    "adam": """
    const T pi = p[i] * decay_factor;
    T gi = g[i];
    EFFECTIVE_GRAD(gi, pi)
    const T mi = LERP(s1[i], gi);
    s1[i] = mi;
    T vi = s2[i] * sq_avg_decay + (gi * gi) * sq_avg_weight;
    s2[i] = vi;
    if (OPTION_2) { vi = NAN_MAX(s3[i], vi); s3[i] = vi; }
    p[i] = pi - (mi / (SQRT(vi) + eps)) * scale;
""",
    "sgd": """
    T gi = g[i];
    EFFECTIVE_GRAD(gi, p[i])
    if (OPTION_2) {
        const T b = s1[i] * momentum + gi * dampening_factor;
        s1[i] = b;
        gi = OPTION_3 ? gi + b * momentum : b;
    }
    p[i] = p[i] + gi * scale;
""",
    "rmsprop": """
    T gi = g[i];
    EFFECTIVE_GRAD(gi, p[i])
    const T s = s1[i] * sq_avg_decay + (gi * gi) * sq_avg_weight;
    s1[i] = s;
    T denom;
    if (OPTION_2) {
        const T ga = LERP(s2[i], gi);
        s2[i] = ga;
        denom = SQRT(s - ga * ga);
    } else {
        denom = SQRT(s);
    }
    T ratio = gi / (denom + eps);
    if (OPTION_3) { ratio = s3[i] * momentum + ratio; s3[i] = ratio; }
    p[i] = p[i] - ratio * scale;
""",
    "adagrad": """
    T gi = g[i];
    EFFECTIVE_GRAD(gi, p[i])
    const T s = s1[i] + gi * gi;
    s1[i] = s;
    p[i] = p[i] - (gi / (SQRT(s) + eps)) * scale;
""",
}

_CONSTANTS = (
    "decay",
    "decay_factor",
    "w",
    "sq_avg_decay",
    "sq_avg_weight",
    "momentum",
    "dampening_factor",
    "eps",
    "scale",
)


@functools.cache
def _kernel(name: str, dtype: str, options: tuple):
    coupled, maximize, lerp_hi, option_2, option_3 = (int(o) for o in options)
    c_type, sqrt = ("float", "sqrtf") if dtype == "float32" else ("double", "sqrt")
    constants = ", ".join(f"const T {c}" for c in _CONSTANTS)
    source = f"""
typedef {c_type} T;
#define SQRT {sqrt}
#define COUPLED {coupled}
#define MAXIMIZE {maximize}
#define LERP_HI {lerp_hi}
#define OPTION_2 {option_2}
#define OPTION_3 {option_3}
{_COMMON}
extern "C" __global__ void {name}_update(
    T* __restrict__ p, T* __restrict__ s1, T* __restrict__ s2, T* __restrict__ s3,
    const T* __restrict__ g, {constants}, const long long n) {{
    const long long i = (long long)blockDim.x * blockIdx.x + threadIdx.x;
    if (i >= n) return;
    {_BODIES[name]}
}}
"""
    cupy = backend.cuda()
    return cupy.RawKernel(source, f"{name}_update", options=("--fmad=false",))


def _usable(param, buffers) -> bool:
    return all(
        backend.is_device_array(b)
        and b.dtype == param.dtype
        and b.size == param.size
        and b.flags.c_contiguous
        for b in (param, *buffers)
    ) and param.dtype.name in ("float32", "float64")


def _launch(name, param, grad, states, options, **constants) -> bool:
    """Run `name`'s kernel over (param, states..., grad); missing states are None."""
    present = [s for s in states if s is not None]
    if not _usable(param, [grad, *present]):
        return False
    weight = constants.pop("lerp_weight", 0.0)
    lerp_hi = not weight < 0.5
    constants["w"] = weight - 1.0 if lerp_hi else weight
    scalar = np.dtype(param.dtype).type
    values = [scalar(constants.get(c, 0.0)) for c in _CONSTANTS]
    s1, s2, s3 = (param if s is None else s for s in states)
    n = param.size
    kernel = _kernel(name, param.dtype.name, (*options[:2], lerp_hi, *options[2:]))
    kernel(
        ((n + _BLOCK - 1) // _BLOCK,), (_BLOCK,), (param, s1, s2, s3, grad, *values, np.int64(n))
    )
    return True


def adam(param, exp_avg, exp_avg_sq, max_exp_avg_sq, grad, weight_decay, maximize, *rest):
    decay_factor, lerp_weight, beta2, one_minus_beta2, eps, scale = rest
    return _launch(
        "adam",
        param,
        grad,
        (exp_avg, exp_avg_sq, max_exp_avg_sq),
        (weight_decay != 0.0, maximize, max_exp_avg_sq is not None, False),
        decay=weight_decay,
        decay_factor=decay_factor,
        lerp_weight=lerp_weight,
        sq_avg_decay=beta2,
        sq_avg_weight=one_minus_beta2,
        eps=eps,
        scale=scale,
    )


def sgd(param, momentum_buffer, grad, weight_decay, maximize, momentum, dampening_factor, *rest):
    nesterov, scale = rest
    return _launch(
        "sgd",
        param,
        grad,
        (momentum_buffer, None, None),
        (weight_decay != 0.0, maximize, momentum_buffer is not None, nesterov),
        decay=weight_decay,
        momentum=momentum,
        dampening_factor=dampening_factor,
        scale=scale,
    )


def rmsprop(param, square_avg, grad_avg, momentum_buffer, grad, weight_decay, maximize, *rest):
    sq_avg_decay, lerp_weight, sq_avg_weight, momentum, eps, lr = rest
    return _launch(
        "rmsprop",
        param,
        grad,
        (square_avg, grad_avg, momentum_buffer),
        (weight_decay != 0.0, maximize, grad_avg is not None, momentum_buffer is not None),
        decay=weight_decay,
        sq_avg_decay=sq_avg_decay,
        lerp_weight=lerp_weight,
        sq_avg_weight=sq_avg_weight,
        momentum=momentum,
        eps=eps,
        scale=lr,
    )


def adagrad(param, state_sum, grad, weight_decay, maximize, eps, lr):
    return _launch(
        "adagrad",
        param,
        grad,
        (state_sum, None, None),
        (weight_decay != 0.0, maximize, False, False),
        decay=weight_decay,
        eps=eps,
        scale=lr,
    )
