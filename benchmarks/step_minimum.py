"""Per-step time as the minimum over many short interleaved timings, one thread each (on a
shared machine the minimum is what a step costs; medians carry the other processes' load,
and two BLAS threads collapse under it). Issue 13's rows: compile_step on a Sequential and
on a custom Module with the same maths (within 5%), and the BatchNorm MLP against torch eager.

    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python \
        benchmarks/step_minimum.py --configs tiny small medium
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_speed import _chainrule, _torch  # noqa: E402


def step_microseconds(steps: dict, rounds: int, seconds: float) -> dict:
    """name -> the minimum over `rounds` interleaved timings of about `seconds`, µs/step."""
    calls = {}
    for name, step in steps.items():  # warm up, and size each timing
        getattr(step, "prepare", lambda: None)()
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            step()
            count += 1
        calls[name] = max(count, 3)
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            getattr(step, "prepare", lambda: None)()
            start = time.perf_counter()
            for _ in range(calls[name]):
                step()
            best[name] = min(best[name], (time.perf_counter() - start) / calls[name] * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=["tiny", "small", "medium"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=0.02)
    args = parser.parse_args()
    print("| config | Sequential (µs) | custom Module (µs) | custom / Sequential speed | "
          "torch BN eager, 1 thread (µs) | compile_step BN MLP (µs) | BN speed vs torch |")
    print("|---|---|---|---|---|---|---|")
    for config in args.configs:
        steps = {
            "sequential": _chainrule(config, "mlp", True),
            "custom": _chainrule(config, "custom", True),
            "torch bn": _torch(config, "bn", 1),
            "bn": _chainrule(config, "bn", True),
        }
        t = step_microseconds(steps, args.rounds, args.seconds)
        print(f"| {config} | {t['sequential']:.1f} | {t['custom']:.1f} | "
              f"**{t['sequential'] / t['custom']:.3f}** | {t['torch bn']:.1f} | {t['bn']:.1f} | "
              f"**{t['torch bn'] / t['bn']:.2f}x** |", flush=True)


if __name__ == "__main__":
    main()
