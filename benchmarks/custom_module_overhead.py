"""Per-step time of compile_step on a Sequential and on a custom Module with the same maths
(issue 13: within 5%), as the minimum over many short timings: on a shared machine the
minimum is what the step costs, medians carry the other processes' load.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python \
        benchmarks/custom_module_overhead.py --configs tiny small --rounds 40
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_speed import _chainrule  # noqa: E402


def step_microseconds(steps: dict, rounds: int, calls: int) -> dict:
    """name -> the minimum over `rounds` interleaved timings of `calls` steps, in µs/step."""
    for step in steps.values():
        for _ in range(calls):
            step()
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(calls):
                step()
            best[name] = min(best[name], (time.perf_counter() - start) / calls * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=["tiny", "small"])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    print("| config | Sequential (µs/step) | custom Module (µs/step) | custom speed / Sequential |")
    print("|---|---|---|---|")
    for config in args.configs:
        steps = {kind: _chainrule(config, kind, True) for kind in ("mlp", "custom")}
        best = step_microseconds(steps, args.rounds, args.calls)
        print(f"| {config} | {best['mlp']:.2f} | {best['custom']:.2f} | "
              f"**{best['mlp'] / best['custom']:.3f}** |", flush=True)


if __name__ == "__main__":
    main()
