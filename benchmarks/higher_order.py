"""Higher-order gradients side by side with PyTorch: a gradient penalty and a Hessian-vector
product on a small MLP (float32), chainrule's cr.autograd.grad against torch.autograd.grad.

Each repeat times both libraries back to back; each runs with 1 and 2 threads (torch's own,
NumPy's OpenBLAS through threadpoolctl) and the faster counts. Reports medians in ms.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/higher_order.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import chainrule as cr


def penalty_step(lib, grad, x, w1, w2, labels):
    """Loss + ‖∂loss/∂x‖², differentiated w.r.t. the weights (WGAN-GP style)."""
    F = cr.nn.functional if lib is cr else torch.nn.functional
    loss = F.cross_entropy(F.linear(F.linear(x, w1).tanh(), w2), labels)
    (gx,) = grad(loss, [x], create_graph=True)
    total = loss + (gx * gx).sum()
    return grad(total, [w1, w2])


def hvp_step(lib, grad, x, w1, w2, labels, v1):
    F = cr.nn.functional if lib is cr else torch.nn.functional
    loss = F.cross_entropy(F.linear(F.linear(x, w1).tanh(), w2), labels)
    (g1,) = grad(loss, [w1], create_graph=True)
    return grad((g1 * v1).sum(), [w1])


def make(lib, arrays, labels):
    tensors = [lib.tensor(a, requires_grad=True) for a in arrays[:3]]
    direction = lib.tensor(arrays[3])
    return tensors, (labels if lib is cr else torch.from_numpy(labels)), direction


def time_once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) * 0.3 for s in
              [(args.batch, 64), (128, 64), (10, 128), (128, 64)]]
    labels = rng.integers(0, 10, args.batch)
    runs = {}
    for lib, grad in ((cr, cr.autograd.grad), (torch, torch.autograd.grad)):
        (x, w1, w2), y, v = make(lib, arrays, labels)
        runs[lib.__name__] = {
            "penalty": lambda lib=lib, g=grad, x=x, w1=w1, w2=w2, y=y: penalty_step(
                lib, g, x, w1, w2, y),
            "hvp": lambda lib=lib, g=grad, x=x, w1=w1, w2=w2, y=y, v=v: hvp_step(
                lib, g, x, w1, w2, y, v)}
    times = {(lib, task, threads): [] for lib in runs for task in ("penalty", "hvp")
             for threads in (1, 2)}
    for _ in range(3):  # warm up
        for fns in runs.values():
            for fn in fns.values():
                fn()
    for _ in range(args.repeats):
        for (lib, task, threads), samples in times.items():
            torch.set_num_threads(threads)
            with threadpool_limits(threads, user_api="blas"):
                samples.append(time_once(runs[lib][task]))
    print(f"batch {args.batch}, MLP 64-128-10 float32, {args.repeats} repeats; median ms")
    print("| task | chainrule ms | torch ms | torch / chainrule |  (each the best of 1, 2 threads)")
    print("|---|---:|---:|---:|")
    for task in ("penalty", "hvp"):
        ours = min(statistics.median(times[("chainrule", task, t)]) for t in (1, 2)) * 1e3
        theirs = min(statistics.median(times[("torch", task, t)]) for t in (1, 2)) * 1e3
        print(f"| {task} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
