"""Inference speed of one MLP three ways: cr.predict, ONNX Runtime on its cr.onnx.export
file, and torch (the same weights) in eval mode; 1 and 2 threads for ONNX Runtime and torch,
the faster kept. Rows per second, medians of interleaved rounds.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/onnx_inference.py
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile

import numpy as np
import onnxruntime
import torch

import chainrule as cr

sys.path.insert(0, os.path.dirname(__file__))
from common import interleave, layer_sizes


def build(config):
    """The config's ReLU MLP in chainrule, and torch's twin holding the same weights."""
    sizes = layer_sizes(config)

    def stack(nn):
        layers = []
        for n_in, n_out in itertools.pairwise(sizes):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        return nn.Sequential(*layers[:-1]).eval()

    cr.manual_seed(0)
    model, twin = stack(cr.nn), stack(torch.nn)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return model, twin


def runners(config, rows, folder):
    model, twin = build(config)
    X = np.random.default_rng(0).standard_normal((rows, layer_sizes(config)[0]))
    X = X.astype(np.float32)
    path = os.path.join(folder, f"{config}.onnx")
    cr.onnx.export(model, X[:2], path)
    steps = {"chainrule": lambda: cr.predict(model, X)}
    for threads in (1, 2):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(path, options,
                                               providers=["CPUExecutionProvider"])
        steps[f"onnxruntime-{threads}"] = lambda s=session: s.run(None, {"input": X})

        def torch_step(t=threads):
            torch.set_num_threads(t)
            with torch.no_grad():
                twin(torch.from_numpy(X))
        steps[f"torch-{threads}"] = torch_step
    expected = cr.predict(model, X)
    np.testing.assert_allclose(steps["onnxruntime-1"]()[0], expected, rtol=1e-4, atol=1e-5)
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    print("| config | rows | chainrule rows/s | ONNX Runtime rows/s | torch rows/s | "
          "ORT / chainrule |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for config in ("small", "medium", "large"):
            for rows in (1, 1024):
                rates = interleave(runners(config, rows, folder), args.rounds, args.seconds)
                med = {k: statistics.median(v) * rows for k, v in rates.items()}
                ort = max(med["onnxruntime-1"], med["onnxruntime-2"])
                tor = max(med["torch-1"], med["torch-2"])
                print(f"| {config} {layer_sizes(config)} | {rows} | {med['chainrule']:,.0f} | "
                      f"{ort:,.0f} | {tor:,.0f} | {ort / med['chainrule']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
