"""Per-op overhead of the engine against PyTorch eager: a chain of small elementwise ops.

Small networks are overhead-bound: on arrays of a few dozen elements the arithmetic is nearly
free and what costs is the bookkeeping per op (recording the graph, dispatching the VJP).
Each repeat times chainrule and PyTorch back to back (interleaved, so drifting machine load
hits both alike); the report gives medians per op and the ratio torch / chainrule.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/engine_overhead.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import chainrule as cr

# One step of the chain: six ops that keep values bounded, each with an operand reused.
STEP_OPS = 6


def step(x, w):
    return ((x * w + x).tanh() - w).sigmoid() * 0.5 + 0.25


def run_once(x_leaf, w_leaf, steps, backward):
    start = time.perf_counter()
    y = x_leaf
    for _ in range(steps):
        y = step(y, w_leaf)
    middle = time.perf_counter()
    if backward:
        y.sum().backward()
    end = time.perf_counter()
    return middle - start, end - middle


def measure(size, steps, repeats, dtype):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)
    leaves = {
        "chainrule": (cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)),
        "torch": (torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)),
    }
    times = {(lib, part): [] for lib in leaves for part in ("forward", "backward")}
    for lib, (a, b) in leaves.items():  # warm-up
        run_once(a, b, steps, backward=True)
    for _ in range(repeats):
        for lib, (a, b) in leaves.items():
            a.grad = b.grad = None
            forward, backward = run_once(a, b, steps, backward=True)
            times[lib, "forward"].append(forward)
            times[lib, "backward"].append(backward)
    ops = steps * STEP_OPS
    return {key: statistics.median(values) / ops * 1e6 for key, values in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 1024])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 100],
                        help="chain lengths, in steps of 6 ops")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"chains of elementwise ops, {args.dtype}, medians of {args.repeats} interleaved "
          f"repeats, torch {torch.__version__} (1 thread), numpy {np.__version__}")
    print("| ops | elements | part | chainrule µs/op | torch µs/op | torch / chainrule |")
    print("|---:|---:|---|---:|---:|---:|")
    for steps in args.steps:
        for size in args.sizes:
            result = measure(size, steps, args.repeats, np.dtype(args.dtype))
            for lib in ("chainrule", "torch"):
                result[lib, "both"] = result[lib, "forward"] + result[lib, "backward"]
            for part in ("forward", "backward", "both"):
                ours, theirs = result["chainrule", part], result["torch", part]
                print(f"| {steps * STEP_OPS} | {size} | {part} | {ours:.2f} | {theirs:.2f} "
                      f"| {theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
