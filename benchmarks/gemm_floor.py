"""How fast a training step of an MLP could be with NumPy's BLAS (issue 13's large target).

A step of an MLP must do its matrix products: per Linear layer the forward product, the weight
gradient and (except for the first layer) the input gradient. This times exactly those
products with NumPy (the OpenBLAS it ships, writing into preallocated arrays, best of 1 and 2
threads per round) beside PyTorch's whole eager step (its MKL products plus everything else,
best of 1 and 2 threads), interleaved. torch's step ÷ the products' time is the most any step
built on NumPy's products can reach against torch eager: when it is below a target, the target
needs faster products, not less overhead.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/gemm_floor.py
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CONFIGS, interleave, layer_sizes
from compile_speed import _torch


def _products(config, threads):
    """One step's matrix products, float32, into arrays allocated once."""
    from threadpoolctl import threadpool_limits

    batch = CONFIGS[config][3]
    rng = np.random.default_rng(0)
    sizes = layer_sizes(config)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        x = rng.standard_normal((batch, a), dtype=np.float32)
        w = rng.standard_normal((b, a), dtype=np.float32)
        g = rng.standard_normal((batch, b), dtype=np.float32)
        out, grad_w = np.empty((batch, b), np.float32), np.empty((b, a), np.float32)
        grad_x = None if i == 0 else np.empty((batch, a), np.float32)
        layers.append((x, w, g, out, grad_w, grad_x))
    limit = threadpool_limits(threads, user_api="blas")
    limit.unregister()  # re-applied before each timing (interleave's prepare)

    def step():
        for x, w, g, out, grad_w, grad_x in layers:
            np.dot(x, w.T, out=out)
            np.dot(g.T, x, out=grad_w)
            if grad_x is not None:
                np.dot(g, w, out=grad_x)

    step.prepare = lambda: threadpool_limits(threads, user_api="blas")
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=["medium", "large"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    print("| config | torch eager step/s (best of 1, 2 threads) | NumPy products alone, "
          "step/s (best of 1, 2 threads) | ceiling vs torch eager |")
    print("|---|---|---|---|")
    for config in args.configs:
        rates = interleave(
            {
                "torch 1": _torch(config, "mlp", 1),
                "torch 2": _torch(config, "mlp", 2),
                "numpy 1": _products(config, 1),
                "numpy 2": _products(config, 2),
            },
            args.rounds,
            args.seconds,
        )
        torch_best = [max(a, b) for a, b in zip(rates["torch 1"], rates["torch 2"])]
        numpy_best = [max(a, b) for a, b in zip(rates["numpy 1"], rates["numpy 2"])]
        ceiling = statistics.median(n / t for n, t in zip(numpy_best, torch_best))
        print(f"| {config} | {statistics.median(torch_best):,.0f} | "
              f"{statistics.median(numpy_best):,.0f} | **{ceiling:.2f}x** |", flush=True)


if __name__ == "__main__":
    main()
