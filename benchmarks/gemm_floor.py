"""How fast a training step of an MLP could be with NumPy's BLAS (issue 13's large target).

A step of an MLP must do its matrix products: per Linear layer the forward product, the weight
gradient and (except for the first layer) the input gradient. This times exactly those
products with NumPy (the OpenBLAS it ships, writing into preallocated arrays, best of 1 and 2
threads per round) beside PyTorch's whole eager step (its MKL products plus everything else,
best of 1 and 2 threads), interleaved. torch's step ÷ the products' time is the most any step
built on NumPy's products can reach against torch eager: when it is below a target, the target
needs faster products, not less overhead. The last column adds what an Adam step cannot do
without: one pass of its compiled update over all the parameters (reading the weights, their
gradients and both moments, writing three of them back; bound by memory, not arithmetic).

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


def _products(config, threads, with_adam=False):
    """One step's matrix products, float32, into arrays allocated once; with_adam: and one
    pass of Adam's update over every parameter (the optimizer's least memory traffic: its
    compiled loop over one flat buffer)."""
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
    flat = [rng.standard_normal(_parameter_count(sizes), dtype=np.float32) for _ in range(4)]
    flat[3] **= 2  # the second moment is never negative
    limit = threadpool_limits(threads, user_api="blas")
    limit.unregister()  # re-applied before each timing (interleave's prepare)

    def step():
        for x, w, g, out, grad_w, grad_x in layers:
            np.dot(x, w.T, out=out)
            np.dot(g.T, x, out=grad_w)
            if grad_x is not None:
                np.dot(g, w, out=grad_x)
        if with_adam:
            _adam_pass(*flat)

    step.prepare = lambda: threadpool_limits(threads, user_api="blas")
    return step


def _parameter_count(sizes):
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def _adam_pass(param, grad, exp_avg, exp_avg_sq):
    from chainrule import native

    assert native.adam(param, grad, exp_avg, exp_avg_sq, None, decay_factor=1.0,
                       weight_decay=0.0, maximize=False, lerp_weight=0.1, beta2=0.999,
                       eps=1e-8, scale=1e-9), "chainrule's compiled loops are not built"


def _best(rates, name):
    return [max(a, b) for a, b in zip(rates[f"{name} 1"], rates[f"{name} 2"])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=["medium", "large"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    print("| config | torch eager step/s (best of 1, 2 threads) | NumPy products alone, "
          "step/s (best of 1, 2 threads) | ceiling vs torch eager | products + one Adam "
          "pass, step/s | ceiling vs torch eager |")
    print("|---|---|---|---|---|---|")
    for config in args.configs:
        rates = interleave(
            {
                "torch 1": _torch(config, "mlp", 1),
                "torch 2": _torch(config, "mlp", 2),
                "numpy 1": _products(config, 1),
                "numpy 2": _products(config, 2),
                "adam 1": _products(config, 1, with_adam=True),
                "adam 2": _products(config, 2, with_adam=True),
            },
            args.rounds,
            args.seconds,
        )
        torch_best = _best(rates, "torch")
        cells = []
        for floor in (_best(rates, "numpy"), _best(rates, "adam")):
            ceiling = statistics.median(n / t for n, t in zip(floor, torch_best))
            cells.append(f"{statistics.median(floor):,.0f} | **{ceiling:.2f}x**")
        print(f"| {config} | {statistics.median(torch_best):,.0f} | {' | '.join(cells)} |",
              flush=True)


if __name__ == "__main__":
    main()
