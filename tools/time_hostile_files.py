"""Time cr.load on the hostile model files of issue 20 (items 1 and 3): each must be refused
quickly, without the allocation its architecture asks for.

    python tools/time_hostile_files.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tracemalloc

import numpy as np
import safetensors.numpy

import chainrule as cr
from chainrule.io import ARCHITECTURE_KEY, ModelFileError

STATE = {"0.weight": np.ones((2, 3), np.float32), "0.bias": np.ones(2, np.float32)}
CASES = {
    "Linear('20000', '20000')": [{"type": "Linear",
                                  "args": {"in_features": "20000", "out_features": "20000"}}],
    "Linear(20000.0, 20000.0)": [{"type": "Linear",
                                  "args": {"in_features": 20000.0, "out_features": 20000.0}}],
    "1,000,000 ReLU": [{"type": "ReLU", "args": {}}] * 1_000_000,
}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        warm_up = os.path.join(folder, "warm-up.safetensors")  # imports the lazy parts
        cr.save(cr.nn.Sequential(cr.nn.Linear(3, 2)), warm_up)
        cr.load(warm_up)
        for name, children in CASES.items():
            path = os.path.join(folder, "model.safetensors")
            spec = json.dumps({"type": "Sequential", "args": {}, "children": children})
            with open(path, "wb") as handle:
                handle.write(safetensors.numpy.save(STATE, metadata={ARCHITECTURE_KEY: spec}))
            tracemalloc.start()
            start = time.perf_counter()
            try:
                cr.load(path)
                outcome = "loaded"
            except ModelFileError as error:
                outcome = error.problem[:70]
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            print(f"{name}: {os.path.getsize(path):,} bytes, {seconds * 1000:.0f} ms, "
                  f"peak {peak:.0f} MiB traced: {outcome}")


if __name__ == "__main__":
    main()
