"""Training steps on one GPU: chainrule on CuPy beside PyTorch CUDA (issue 22).

Rows: the MLP configurations of issue 7 (common.py: ReLU, Adam lr 1e-3, float32, F.cross_entropy,
a few fixed batches already on the GPU) and the MNIST-1D ConvBase (batch 100 × 40). Columns,
steps/s (median of interleaved rounds) and the ratio to PyTorch CUDA eager:
- torch eager: a hand-written loop; `loss.item()` each step, as chainrule's step returns the loss;
- torch.compile (--torch-compile; inductor's default mode, compiled before timing);
- chainrule eager on the GPU (the same loop);
- chainrule compile_step: the recorded step replayed as one CUDA graph (compile/graphs.py).

    python benchmarks/gpu_speed.py --rounds 5 --seconds 0.5 [--torch-compile]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CONFIGS, LR, batches, interleave, layer_sizes, ratio_median  # noqa: E402
from conv_results import conv_base  # noqa: E402

CONV = "ConvBase"
CONV_BATCH = 100


def _data(config, seed=0):
    import numpy as np

    if config != CONV:
        return batches(config, seed)
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((CONV_BATCH, 40)).astype(np.float32),
             rng.integers(0, 10, CONV_BATCH).astype(np.int64)) for _ in range(8)]


def _model(lib, config):
    if config == CONV:
        return conv_base(lib)
    sizes = layer_sizes(config)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [lib.Linear(a, b), lib.ReLU()]
    return lib.Sequential(*layers[:-1])


def _chainrule(config, compiled):
    import chainrule as cr
    from chainrule.nn import functional as F

    cr.manual_seed(0)
    model = _model(cr.nn, config).to("cuda")
    opt = cr.optim.Adam(model.parameters(), lr=LR)
    data = [(cr.tensor(X, device="cuda"), cr.tensor(y, device="cuda")) for X, y in _data(config)]
    nxt = itertools.cycle(data).__next__
    if compiled:
        step = cr.compile_step(model, F.cross_entropy, opt)
        run = lambda: step(*nxt())  # noqa: E731
        run.describe = lambda: step.graph_reason or "one CUDA graph per step"
        return run

    def eager():
        X, y = nxt()
        opt.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return float(loss.data)
    return eager


def _torch(config, compiled):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = _model(torch.nn, config).cuda()
    forward = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    data = [(torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()) for X, y in _data(config)]
    nxt = itertools.cycle(data).__next__

    def step():
        X, y = nxt()
        opt.zero_grad()
        loss = F.cross_entropy(forward(X), y)
        loss.backward()
        opt.step()
        return loss.item()
    for _ in range(3 if compiled else 0):
        step()  # compile before timing
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=[*CONFIGS, CONV])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--torch-compile", action="store_true")
    args = parser.parse_args()
    import cupy
    import torch

    print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}; "
          f"CuPy {cupy.__version__}")
    print("| config | torch eager | torch.compile | chainrule eager | chainrule compile_step "
          "| how chainrule replayed |")
    print("|---|---|---|---|---|---|")
    for config in args.configs:
        steps = {"torch eager": _torch(config, False), "chainrule eager": _chainrule(config, False),
                 "chainrule compiled": _chainrule(config, True)}
        if args.torch_compile:
            steps["torch.compile"] = _torch(config, True)
        rates = interleave(steps, args.rounds, args.seconds)
        base = rates["torch eager"]

        def cell(name):
            if name not in rates:
                return "—"
            return f"{statistics.median(rates[name]):,.0f} **{ratio_median(rates[name], base):.2f}x**"
        print(f"| {config} | {statistics.median(base):,.0f} | {cell('torch.compile')} | "
              f"{cell('chainrule eager')} | {cell('chainrule compiled')} | "
              f"{steps['chainrule compiled'].describe()} |", flush=True)


if __name__ == "__main__":
    main()
