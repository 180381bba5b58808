"""Shared pieces of the speed benchmarks: configurations, data, interleaved timing, BLAS facts."""

from __future__ import annotations

import statistics
import time

import numpy as np

# name -> (inputs, hidden widths, classes, batch); the four configurations of issue 7.
CONFIGS = {
    "tiny": (2, [16], 2, 8),
    "small": (64, [128], 10, 32),
    "medium": (784, [256, 256], 10, 128),
    "large": (784, [1024, 1024], 10, 512),
}
LR = 1e-3
N_BATCHES = 8  # each step trains on the next of a few fixed batches, as a loader would


def batches(config, seed=0):
    """N_BATCHES float32 (X, y) pairs for a configuration, the same for every library."""
    n_in, _, n_out, batch = CONFIGS[config]
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, n_in)).astype(np.float32),
             rng.integers(0, n_out, batch).astype(np.int64)) for _ in range(N_BATCHES)]


def layer_sizes(config):
    n_in, hidden, n_out, _ = CONFIGS[config]
    return [n_in, *hidden, n_out]


def steps_per_second(step, seconds):
    """Run `step` repeatedly for about `seconds`; return steps per second."""
    prepare = getattr(step, "prepare", None)
    if prepare is not None:
        prepare()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        step()
        count += 1
        if count % 4 == 0 and time.perf_counter() >= deadline:
            break
    return count / (time.perf_counter() - start)


def interleave(steps: dict, rounds: int, seconds: float) -> dict:
    """Time every step in turn (A B C A B C ...) for `rounds` rounds; name -> list of steps/s."""
    for step in steps.values():  # warm-up: first calls compile, allocate, fault pages in
        steps_per_second(step, min(seconds, 0.2))
    rates = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            rates[name].append(steps_per_second(step, seconds))
    return rates


def ratio_median(numerators, denominators):
    """Median of per-round ratios (the rounds were interleaved, so each pair shares load)."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def blas_description() -> str:
    """Which BLAS numpy calls and which kernel it picked (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            parts.append(f"{info.get('internal_api')} {info.get('version')}, kernel "
                         f"{info.get('architecture')}, {info.get('num_threads')} threads")
    return "; ".join(parts) or "no BLAS found"


def native_description() -> str:
    """Whether chainrule's compiled loops were built (else its NumPy paths run)."""
    from chainrule import native

    return "built, in use" if native.available() else "not built (NumPy paths)"


def cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return "unknown"
    wanted = ("avx2", "avx512f", "fma")
    return ", ".join(w for w in wanted if f" {w}" in flags) or "none of avx2/avx512f/fma"
