"""Training speed side by side: chainrule vs PyTorch eager, JAX jit, scikit-learn (issue 7).

Trains the four MLP configurations of issue 7 (ReLU, softmax cross-entropy, Adam lr 1e-3,
float32) in every library, interleaved (A B C ... A B C, several rounds; medians, min-max),
with the GEMM-only bound measured in the same run; then import time and peak memory (fresh
subprocesses), and the digits end-to-end fit (64-128-10, 50 epochs, batch 32). Writes the
tables between the train_speed markers of benchmarks/RESULTS.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/train_speed.py
    ... --quick            # a short run (1 s per config and library, 3 rounds)

Threads: torch (torch.set_num_threads) and numpy's OpenBLAS (threadpoolctl) are each timed
with 2 and with 1 thread, set before every timing window; the "best of" columns take the
faster setting in each round, for torch and chainrule alike; JAX/XLA uses its default.
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for this command only, so OpenBLAS picks its
own kernel for the CPU (reported in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    CONFIGS, blas_description, cpu_flags, interleave, native_description, ratio_median)
from runners import BEST_OF, RUNNERS  # noqa: E402

RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- train_speed:begin -->", "<!-- train_speed:end -->"
BASELINE = "PyTorch eager (best of 1, 2 threads)"
OURS = "chainrule compiled (best of 1, 2 threads)"
SUMMARY = [BASELINE, OURS, "chainrule eager (best of 1, 2 threads)",
           "PyTorch fused Adam 1 thread", "JAX jit", "sklearn partial_fit",
           "NumPy by hand (best of 1, 2 threads)", "GEMM only (best of 1, 2 threads)"]


def available_runners():
    names = list(RUNNERS)
    try:
        import jax  # noqa: F401
    except ImportError:
        names.remove("JAX jit")
    return names


def _cell(rates, baseline):
    return (f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) "
            f"**{ratio_median(rates, baseline):.2f}x**")


def speed_tables(rounds, seconds, configs):
    """Per config: every runner interleaved; the summary table (best thread setting per
    round, ratios to torch eager, ours to the hand-written step and the GEMM bound) and
    the table of every runner as measured."""
    import torch

    torch.set_num_threads(2)
    names = available_runners()
    summary_names = [n for n in SUMMARY if n in BEST_OF or n in names]
    summary = ["| config (in, hidden, out, batch) | " + " | ".join(summary_names)
               + " | compiled / NumPy by hand | compiled / GEMM bound |",
               "|---|" + "---:|" * (len(summary_names) + 2)]
    raw = ["| config | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for config in configs:
        steps = {name: RUNNERS[name](config) for name in names}
        rates = interleave(steps, rounds, seconds)
        for best, (a, b) in BEST_OF.items():
            rates[best] = [max(x, z) for x, z in zip(rates[a], rates[b])]
        n_in, hidden, n_out, batch = CONFIGS[config]
        label = f"{config} ({n_in}, {hidden}, {n_out}, {batch})"
        cells = [_cell(rates[name], rates[BASELINE]) for name in summary_names]
        hand = ratio_median(rates[OURS], rates["NumPy by hand (best of 1, 2 threads)"])
        bound = ratio_median(rates[OURS], rates["GEMM only (best of 1, 2 threads)"])
        summary.append(f"| {label} | " + " | ".join(cells) + f" | {hand:.2f}x | {bound:.2f}x |")
        raw.append(f"| {config} | " + " | ".join(
            f"{statistics.median(rates[n]):,.0f}" for n in names) + " |")
        print(summary[-1], flush=True)
    return summary, raw


# --- import time and peak memory (fresh interpreters) -------------------------------------

IMPORT_CODE = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"


def import_seconds(module, repeats):
    times = [float(subprocess.run([sys.executable, "-c", IMPORT_CODE.format(m=module)],
                                  capture_output=True, text=True, check=True).stdout)
             for _ in range(repeats)]
    return statistics.median(times), min(times), max(times)


def peak_memory_mib(library, steps=50):
    out = subprocess.run([sys.executable, __file__, "--memory-child", library, str(steps)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _memory_child(library, steps):
    if library.startswith("PyTorch"):
        import torch

        torch.set_num_threads(2)
    step = RUNNERS[library]("medium")
    for _ in range(steps):
        step()
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big parent (one that
    # imported torch) would report the parent's size.
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(json.dumps(kib / 1024))


def process_lines(repeats):
    lines = ["| measure | chainrule | torch | numpy |", "|---|---:|---:|---:|"]
    cells = []
    for module in ("chainrule", "torch", "numpy"):
        med, lo, hi = import_seconds(module, repeats)
        cells.append(f"{med:.3f} s ({lo:.3f}–{hi:.3f})")
    lines.append("| import time (median of %d fresh interpreters) | " % repeats
                 + " | ".join(cells) + " |")
    libraries = ["chainrule compiled 2 threads", "chainrule eager 2 threads"]
    best = {lib: min(peak_memory_mib(lib) for _ in range(2))
            for lib in [*libraries, "PyTorch eager 2 threads"]}
    ours = ", ".join(f"{best[lib]:.0f} MiB ({lib})" for lib in libraries)
    lines.append(f"| peak RSS training medium, 50 steps (VmHWM) | {ours} | "
                 f"{best['PyTorch eager 2 threads']:.0f} MiB | |")
    ratio = min(best[lib] for lib in libraries) / best["PyTorch eager 2 threads"]
    lines.append(f"| peak memory ratio chainrule (best) / torch | {ratio:.2f}x | | |")
    print("\n".join(lines), flush=True)
    return lines


# --- digits end to end --------------------------------------------------------------------

def digits_lines(rounds):
    from digits_fit import FITS

    results = {name: [] for name in FITS}
    for _ in range(rounds):
        for name, fit in FITS.items():
            results[name].append(fit())
    lines = ["| digits 64-128-10, 50 epochs, batch 32 | seconds (median, min–max) | "
             "test accuracy | speed-up of chainrule |", "|---|---:|---:|---:|"]
    ours = [s for s, _ in results["chainrule cr.fit(compile=True)"]]
    for name, runs in results.items():
        secs = [s for s, _ in runs]
        ratio = ratio_median(secs, ours)
        lines.append(f"| {name} | {statistics.median(secs):.2f} ({min(secs):.2f}–"
                     f"{max(secs):.2f}) | {runs[-1][1]:.3f} | {ratio:.2f}x |")
    print("\n".join(lines), flush=True)
    return lines


def write_results(blocks):
    text = RESULTS.read_text()
    body = "\n\n".join("\n".join(block) for block in blocks)
    generated = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: generated, text,
                      flags=re.S)
    else:
        text = text.replace("## Training speed side by side (issue 7)\n",
                            "## Training speed side by side (issue 7)\n\n" + generated + "\n",
                            1)
    RESULTS.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--no-write", action="store_true", help="print, do not edit RESULTS.md")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return _memory_child(args.memory_child[0], int(args.memory_child[1]))
    rounds, seconds = (3, 0.3) if args.quick else (5, 1.0)
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                     "OMP_NUM_THREADS")}
    header = [f"Run {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({cpu_flags()}), "
              f"{'--quick' if args.quick else 'full'}: {rounds} interleaved rounds of "
              f"{seconds:g} s per library and config; steps/s median (min–max) and the median "
              f"per-round ratio to {BASELINE} in bold.",
              f"numpy BLAS: {blas_description()}; chainrule.native loops "
              f"{native_description()}; torch and numpy BLAS each timed with 2 and 1 "
              f"threads; environment {env}; load average at the start "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores shared with other "
              f"work)."]
    print("\n".join(header), flush=True)
    summary, raw = speed_tables(rounds, seconds, args.configs)
    blocks = [header, summary, ["Every runner, steps/s (median):", "", *raw],
              process_lines(3 if args.quick else 7), digits_lines(2 if args.quick else 3)]
    blocks.append([f"Load average at the end: "
                   f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}."])
    print(blocks[-1][0])
    if not args.no_write:
        write_results(blocks)


if __name__ == "__main__":
    main()
