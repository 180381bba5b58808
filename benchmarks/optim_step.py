"""Time one optimizer step over a 10-layer MLP's parameters: chainrule vs torch.optim.

Parameters are those of 10 Linear(width, width) layers (weights and biases). Gradients are
fresh arrays each step, as backward() leaves them, so chainrule's fused path pays its
gradient gather. Variants run interleaved; medians over repeats are reported, with ratios
to torch.optim's default (for-loop) implementation.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/optim_step.py

With numexpr or numba importable, prototype fused Adam kernels written with them run too
(same flat buffers and gradient gather as chainrule's fused path), to decide whether an
accelerator is worth a dependency. `--flat-size N` times the update alone on one flat tensor
of N parameters (no gather anywhere: the kernels against NumPy's in-place passes).
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import time

import numpy as np
import torch

import chainrule as cr
from chainrule import native, optim

HYPER = {"Adam": dict(lr=1e-3), "SGD": dict(lr=1e-2, momentum=0.9),
         "RMSprop": dict(lr=1e-3), "Adagrad": dict(lr=1e-2)}


def mlp_shapes(width, layers):
    return [s for _ in range(layers) for s in ((width, width), (width,))]


def chainrule_variant(name, shapes, dtype, fused, rng):
    params = [cr.tensor(rng.normal(size=s).astype(dtype), requires_grad=True) for s in shapes]
    grads = [rng.normal(size=s).astype(dtype) for s in shapes]
    opt = getattr(optim, name)(params, fused=fused, **HYPER[name])

    def step():
        for p, g in zip(params, grads):
            p.grad = g  # backward hands over new arrays every step
        opt.step()

    return step


def numpy_only(step):
    """The step with chainrule.native switched off (NumPy's in-place passes)."""
    def run():
        previous = native.use_native(False)
        try:
            step()
        finally:
            native.use_native(previous)
    return run


def torch_variant(name, shapes, dtype, rng, **flags):
    tdtype = getattr(torch, np.dtype(dtype).name)
    params = [torch.tensor(rng.normal(size=s), dtype=tdtype, requires_grad=True) for s in shapes]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = getattr(torch.optim, name)(params, **HYPER[name], **flags)
    return opt.step


def flat_adam_buffers(shapes, dtype, rng):
    size = sum(int(np.prod(s)) for s in shapes)
    grads = [rng.normal(size=s).astype(dtype) for s in shapes]
    p = rng.normal(size=size).astype(dtype)
    # one tensor: the kernel reads its gradient directly, as chainrule's plain path does
    g = grads[0].ravel() if len(grads) == 1 else np.empty(size, dtype)
    return p, g, np.zeros_like(p), np.zeros_like(p), grads


def gather(grads, g):
    if len(grads) > 1:
        np.concatenate([x.ravel() for x in grads], out=g)


def numexpr_variant(shapes, dtype, rng):
    import numexpr as ne

    p, g, m, v, grads = flat_adam_buffers(shapes, dtype, rng)
    state = {"step": 0}
    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8

    def step():
        gather(grads, g)
        state["step"] += 1
        t = state["step"]
        scalar = np.dtype(dtype).type
        names = dict(p=p, g=g, m=m, v=v, a1=scalar(1 - b1), b2=scalar(b2), a2=scalar(1 - b2),
                     step_size=scalar(lr / (1 - b1**t)), bc2=scalar((1 - b2**t) ** 0.5),
                     eps=scalar(eps))
        ne.evaluate("m + a1 * (g - m)", local_dict=names, out=m)
        ne.evaluate("b2 * v + a2 * g * g", local_dict=names, out=v)
        ne.evaluate("p - step_size * m / (sqrt(v) / bc2 + eps)", local_dict=names, out=p)

    return step


def numba_variant(shapes, dtype, rng):
    import numba

    @numba.njit(fastmath=True)
    def adam_kernel(p, g, m, v, a1, b2, a2, step_size, bc2, eps):
        for i in range(p.size):  # one pass over memory instead of NumPy's ~10
            gi = g[i]
            mi = m[i] + a1 * (gi - m[i])
            vi = b2 * v[i] + a2 * gi * gi
            m[i], v[i] = mi, vi
            p[i] -= step_size * mi / (np.sqrt(vi) / bc2 + eps)

    p, g, m, v, grads = flat_adam_buffers(shapes, dtype, rng)
    state = {"step": 0}

    def step():
        gather(grads, g)
        state["step"] += 1
        t = state["step"]
        scalars = (0.1, 0.999, 0.001, 1e-3 / (1 - 0.9**t), (1 - 0.999**t) ** 0.5, 1e-8)
        adam_kernel(p, g, m, v, *map(np.dtype(dtype).type, scalars))

    step()  # compile outside the timing
    return step


def variants(name, shapes, dtype):
    rng = np.random.default_rng(0)
    out = {
        "torch default": torch_variant(name, shapes, dtype, rng),
        "torch foreach": torch_variant(name, shapes, dtype, rng, foreach=True),
        "chainrule plain": chainrule_variant(name, shapes, dtype, False, rng),
        "chainrule fused": chainrule_variant(name, shapes, dtype, True, rng),
    }
    if "fused" in inspect.signature(getattr(torch.optim, name)).parameters:
        out["torch fused"] = torch_variant(name, shapes, dtype, rng, fused=True)
    if native.available():  # the rows above use the compiled loops; these NumPy's passes
        out["chainrule plain, NumPy passes"] = numpy_only(
            chainrule_variant(name, shapes, dtype, False, rng))
        out["chainrule fused, NumPy passes"] = numpy_only(
            chainrule_variant(name, shapes, dtype, True, rng))
    if name == "Adam":
        for label, make in (("numexpr fused (prototype)", numexpr_variant),
                            ("numba fused (prototype)", numba_variant)):
            try:
                out[label] = make(shapes, dtype, rng)
            except ImportError:
                pass
    return out


def measure(steps_by_name, repeats, steps):
    times = {label: [] for label in steps_by_name}
    for fn in steps_by_name.values():
        fn()  # warm up: state allocation, flat buffers
    for _ in range(repeats):
        for label, fn in steps_by_name.items():  # interleaved, so drift hits all alike
            start = time.perf_counter()
            for _ in range(steps):
                fn()
            times[label].append((time.perf_counter() - start) / steps)
    return {label: statistics.median(ts) for label, ts in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--flat-size", type=int, default=None,
                        help="one tensor of this many parameters instead of the MLP's")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--optimizers", default="Adam,SGD,RMSprop,Adagrad")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    shapes = [(args.flat_size,)] if args.flat_size else mlp_shapes(args.width, args.layers)
    count = sum(int(np.prod(s)) for s in shapes)
    print(f"{len(shapes)} tensors, {count:,} {args.dtype} parameters; torch threads "
          f"{torch.get_num_threads()}; median of {args.repeats} x {args.steps} steps; "
          f"chainrule.native {'built' if native.available() else 'not built'}")
    for name in args.optimizers.split(","):
        medians = measure(variants(name, shapes, args.dtype), args.repeats, args.steps)
        base = medians["torch default"]
        print(f"\n{name}{HYPER[name]}\n| variant | µs / step | vs torch default |\n|---|---|---|")
        for label, seconds in medians.items():
            print(f"| {label} | {seconds * 1e6:.0f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
