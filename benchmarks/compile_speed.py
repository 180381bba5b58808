"""The compiled step beyond the Sequential road (issue 13), side by side with PyTorch eager.

Rows per MLP configuration (ReLU, Adam lr 1e-3, float32, the fixed batches of common.py):
- torch eager, a hand-written loop with F.cross_entropy (best of 1 and 2 threads, per round);
- chainrule eager, the same hand-written loop;
- chainrule compile_step with F.cross_entropy on the Sequential;
- chainrule compile_step on a custom Module (its own forward) with the same maths;
- a BatchNorm1d MLP (Linear, BatchNorm1d, ReLU per hidden layer) in torch and chainrule.
Rounds are interleaved; each cell is steps/s (median) and its ratio to torch eager.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/compile_speed.py
    ... --configs tiny small --rounds 5 --seconds 0.5
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CONFIGS, LR, batches, interleave, layer_sizes, ratio_median  # noqa: E402


def _chainrule(config, kind, compiled):
    import chainrule as cr
    from chainrule import nn
    from chainrule.nn import functional as F

    cr.manual_seed(0)
    sizes = layer_sizes(config)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if kind == "bn" else []) + [nn.ReLU()]
    model = nn.Sequential(*layers[:-1]) if kind != "bn" else nn.Sequential(*layers[:-2])
    if kind == "custom":
        model = _Custom(model)
    opt = cr.optim.Adam(model.parameters(), lr=LR, fused=True)
    nxt = itertools.cycle(batches(config)).__next__
    if compiled:
        step = cr.compile_step(model, F.cross_entropy, opt)
        return lambda: step(*nxt())

    def eager():
        X, y = nxt()
        opt.zero_grad()
        F.cross_entropy(model(cr.tensor(X)), cr.tensor(y)).backward()
        opt.step()
    return eager


def _Custom(sequential):
    from chainrule import nn

    class MLP(nn.Module):
        """The same layers, called from a forward of its own."""

        def __init__(self, layers):
            super().__init__()
            self.layers = nn.ModuleList(list(layers)) if hasattr(nn, "ModuleList") else layers

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    return MLP(sequential)


def _torch(config, kind, threads):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    sizes = layer_sizes(config)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b)]
        layers += ([torch.nn.BatchNorm1d(b)] if kind == "bn" else []) + [torch.nn.ReLU()]
    model = torch.nn.Sequential(*(layers[:-2] if kind == "bn" else layers[:-1]))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    data = itertools.cycle([(torch.from_numpy(X), torch.from_numpy(y))
                            for X, y in batches(config)]).__next__

    def step():
        X, y = data()
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    step.prepare = lambda: torch.set_num_threads(threads)
    return step


def steps_for(config):
    return {
        "torch eager 1 thread": _torch(config, "mlp", 1),
        "torch eager 2 threads": _torch(config, "mlp", 2),
        "chainrule eager loop": _chainrule(config, "mlp", False),
        "compile_step Sequential": _chainrule(config, "mlp", True),
        "compile_step custom Module": _chainrule(config, "custom", True),
        "torch BN eager 1 thread": _torch(config, "bn", 1),
        "torch BN eager 2 threads": _torch(config, "bn", 2),
        "compile_step BN MLP": _chainrule(config, "bn", True),
    }


def record_time(config):
    """Milliseconds to record and check the traced program (two eager steps recorded)."""
    import chainrule as cr

    timings = []
    for _ in range(5):
        step = _chainrule(config, "custom", True)
        start = time.perf_counter()
        step(), step()
        timings.append((time.perf_counter() - start) * 1e3)
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.6)
    args = parser.parse_args()
    print("| config | torch eager (best of 1, 2 threads) | chainrule eager loop | "
          "compile_step Sequential | compile_step custom Module | torch BN eager (best) | "
          "compile_step BN MLP | record (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for config in args.configs:
        rates = interleave(steps_for(config), args.rounds, args.seconds)
        torch_best = [max(a, b) for a, b in zip(rates["torch eager 1 thread"],
                                                rates["torch eager 2 threads"])]
        bn_best = [max(a, b) for a, b in zip(rates["torch BN eager 1 thread"],
                                             rates["torch BN eager 2 threads"])]

        def cell(name, base=torch_best):
            return f"{statistics.median(rates[name]):,.0f} **{ratio_median(rates[name], base):.2f}x**"
        print(f"| {config} | {statistics.median(torch_best):,.0f} | {cell('chainrule eager loop')} | "
              f"{cell('compile_step Sequential')} | {cell('compile_step custom Module')} | "
              f"{statistics.median(bn_best):,.0f} | {cell('compile_step BN MLP', bn_best)} | "
              f"{record_time(config):.1f} |", flush=True)


if __name__ == "__main__":
    main()
