"""Profile chainrule's training step per configuration with pyinstrument (text reports).

    .venv/bin/python benchmarks/profile_steps.py --label before --runner "chainrule eager 2 threads"
    .venv/bin/python benchmarks/profile_steps.py --label after --runner "chainrule compiled 2 threads"

Writes benchmarks/profiles/<label>_<config>.txt: the call tree of ~2 s of steps. (The
"before" profiles were taken of the eager step, before chainrule.compile existed.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import CONFIGS  # noqa: E402
from runners import RUNNERS  # noqa: E402


def profile(runner, config, seconds):
    from pyinstrument import Profiler

    step = RUNNERS[runner](config)
    step.prepare()  # the runner's thread setting
    for _ in range(3):
        step()
    profiler = Profiler(interval=0.0005)
    count, deadline = 0, time.perf_counter() + seconds
    profiler.start()
    while time.perf_counter() < deadline:
        step()
        count += 1
    profiler.stop()
    head = f"{runner}, {config} {CONFIGS[config]}: {count} steps in {seconds} s\n"
    return head + profiler.output_text(unicode=False, color=False, show_all=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", required=True)
    parser.add_argument("--runner", default="chainrule compiled 2 threads")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    args = parser.parse_args()
    for config in args.configs:
        path = HERE / "profiles" / f"{args.label}_{config}.txt"
        path.write_text(profile(args.runner, config, args.seconds))
        print(path)


if __name__ == "__main__":
    main()
