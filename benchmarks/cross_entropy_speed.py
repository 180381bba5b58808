"""Cross-entropy alone (issue 13, item 5): the eager F.cross_entropy forward + backward per
call, with default options and with class weights and label smoothing, and the compiled
step's loss kernel (compile/losses.py CrossEntropyKernel: target check, value, gradient), in
float32 at the logits shapes of common.py's configs. Each cell is the minimum over rounds of
the mean µs per call (load-robust on a shared machine). Compare two trees by running it in
each, alternately (the older tree on PYTHONPATH):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/cross_entropy_speed.py
    env ... PYTHONPATH=../baseline/src .venv/bin/python benchmarks/cross_entropy_speed.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CONFIGS


def minimum_microseconds(call, rounds, repeats):
    for _ in range(repeats // 4):  # warm up
        call()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        best = min(best, (time.perf_counter() - start) / repeats * 1e6)
    return best


def calls(shape):
    """name -> a function making one call, for (n, C) logits."""
    import chainrule as cr
    from chainrule.compile.losses import CrossEntropyKernel
    from chainrule.nn import functional as F

    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, shape[1], shape[0])
    logits, labels = cr.tensor(z, requires_grad=True), cr.tensor(y)
    weight = cr.tensor(np.linspace(0.5, 2.0, shape[1]).astype(np.float32))
    kernel = CrossEntropyKernel(shape, np.float32, "mean")

    def eager(**options):
        def call():
            logits.grad = None
            F.cross_entropy(logits, labels, **options).backward()

        return call

    return {
        "eager F.cross_entropy": eager(),
        "eager, weight + label_smoothing": eager(weight=weight, label_smoothing=0.1),
        "compiled kernel": lambda: kernel(z, kernel.target(y)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=500)
    args = parser.parse_args()
    import chainrule

    print(f"chainrule from {Path(chainrule.__file__).parent}")
    rows = {}
    for config in args.configs:
        _, _, classes, batch = CONFIGS[config]
        for name, call in calls((batch, classes)).items():
            rows.setdefault(name, {})[config] = minimum_microseconds(
                call, args.rounds, args.repeats
            )
    shapes = [f"{c} ({CONFIGS[c][3]}×{CONFIGS[c][2]})" for c in args.configs]
    print("| µs per call (min of rounds) | " + " | ".join(shapes) + " |")
    print("|---" * (len(shapes) + 1) + "|")
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(f"{cells[c]:.2f}" for c in args.configs) + " |")


if __name__ == "__main__":
    main()
