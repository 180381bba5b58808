"""Data-parallel training on this machine (issue 17): 2 MPI ranks against 1 process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/distributed_scaling.py

For digits (64-128-10, Adam, global batch 32) and the four MLP configurations of
benchmarks/common.py, each round runs cr.fit (compiled step, float32) in three settings —
1 process × 1 BLAS thread, 1 process × 2 threads, `mpiexec -n 2` × 1 thread each — as fresh
subprocesses in turn, and takes steps/s over every epoch but the first (the first traces the
compiled step). Then it times MPI_Allreduce of each model's gradient buffer on 2 ranks, and
from those numbers and the ring-allreduce cost model it estimates the efficiency on 8, 64 and
512 nodes over 25 Gb/s Ethernet. Prints Markdown for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import CONFIGS, layer_sizes  # noqa: E402

HERE = pathlib.Path(__file__)
MPIEXEC = pathlib.Path(sys.executable).with_name("mpiexec")
SETTINGS = {"1 process × 1 thread": (0, "1"), "1 process × 2 threads": (0, "2"),
            "2 ranks × 1 thread": (2, "1")}
NAMES = ["digits", *CONFIGS]
ETHERNET_BYTES_PER_S = 25e9 / 8
ETHERNET_LATENCY_S = 50e-6  # one TCP message between nodes (assumed; not measurable here)
# A compiled step on one BLAS thread on a quiet machine (benchmarks/RESULTS.md, issue 7's
# third pass: medium GEMMs 1.9 + Adam 0.55 + rest 0.2 ms; large 54 + 5.2 + 1.3 ms).
QUIET_STEP_S = {"medium": 2.65e-3, "large": 60.5e-3}


def _model(sizes):
    import chainrule as cr

    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [cr.nn.Linear(n_in, n_out), cr.nn.ReLU()]
    return cr.nn.Sequential(*layers[:-1])


def _data(name):
    import chainrule as cr

    if name == "digits":
        ds = cr.data.load_dataset("digits", seed=0)
        return ds.X_train, ds.y_train, [64, 128, 10], 32, 8
    n_in, _, n_out, batch = CONFIGS[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch * 16, n_in)).astype(np.float32)
    return X, rng.integers(0, n_out, len(X)), layer_sizes(name), batch, 4


def fit_worker(name):
    """Train `name` with cr.fit (data-parallel under mpiexec); rank 0 prints steps/s."""
    import chainrule as cr

    X, y, sizes, batch, epochs = _data(name)
    cr.manual_seed(0)
    model = _model(sizes)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    history = cr.fit(model, cr.nn.CrossEntropyLoss(), opt, X, y, epochs=epochs,
                     batch_size=batch, seed=0, verbose=0)
    steps = -(-len(X) // batch) * (epochs - 1)
    if cr.distributed.rank() == 0:
        print(json.dumps({"steps_per_s": steps / sum(history.history["time"][1:])}))


def allreduce_worker():
    """Median seconds of one in-place Allreduce of each model's float32 gradients, and of
    8 bytes and 64 MiB (latency and bandwidth of this machine's shared-memory transport)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    sizes = {name: sum(a * b + b for a, b in zip(s[:-1], s[1:]))
             for name, s in [("digits", [64, 128, 10])] + [(n, layer_sizes(n)) for n in CONFIGS]}
    sizes.update({"8 bytes": 2, "64 MiB": 16 * 2**20})
    result = {}
    for name, n in sizes.items():
        buffer = np.ones(n, np.float32)
        repeats = 20 if n > 2**22 else 200
        times = []
        for _ in range(repeats):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(time.perf_counter() - start)
        result[name] = {"parameters": n, "seconds": statistics.median(times)}
    if comm.Get_rank() == 0:
        print(json.dumps(result))


def _launch(processes, threads, args):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    command = [sys.executable, str(HERE), *args]
    if processes:
        command = [str(MPIEXEC), "-n", str(processes), *command]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(rounds):
    rates = {(name, s): [] for name in NAMES for s in SETTINGS}
    for _ in range(rounds):
        for name in NAMES:
            for setting, (processes, threads) in SETTINGS.items():
                result = _launch(processes, threads, ["--fit", name])
                rates[name, setting].append(result["steps_per_s"])
    return {key: statistics.median(values) for key, values in rates.items()}


def ring_allreduce_seconds(nodes, nbytes):
    """Ring allreduce: 2(p−1) messages, each node sending and receiving 2(p−1)/p of the data."""
    return 2 * (nodes - 1) * ETHERNET_LATENCY_S + (
        2 * (nodes - 1) / nodes * nbytes / ETHERNET_BYTES_PER_S)


def report(rates, allreduce):
    one = list(SETTINGS)
    print("| model | batch | " + " | ".join(f"{s} steps/s" for s in one)
          + " | 2 ranks / (1 × 2 threads) | efficiency vs 2 × (1 × 1 thread) | Allreduce ms |")
    print("|---|---|" + "---|" * (len(one) + 3))
    for name in NAMES:
        r = [rates[name, s] for s in one]
        batch = 32 if name == "digits" else CONFIGS[name][3]
        print(f"| {name} | {batch} | " + " | ".join(f"{v:.0f}" for v in r)
              + f" | {r[2] / r[1]:.2f} | {r[2] / (2 * r[0]):.2f} | "
              f"{allreduce[name]['seconds'] * 1e3:.3f} |")
    lat, big = allreduce["8 bytes"]["seconds"], allreduce["64 MiB"]
    print(f"\nThis machine, 2 ranks, shared memory: Allreduce latency {lat * 1e6:.1f} µs, "
          f"bandwidth {big['parameters'] * 4 / big['seconds'] / 1e9:.2f} GB/s (64 MiB).\n")
    measured = {name: 1 / rates[name, one[0]] for name in ("medium", "large")}
    for title, step_seconds in (("1-thread step times measured above", measured),
                                ("1-thread step times of a quiet machine", QUIET_STEP_S)):
        print(f"Ring-allreduce model, 25 Gb/s, {ETHERNET_LATENCY_S * 1e6:.0f} µs per message; "
              f"compute from the {title}:\n")
        cost_model(step_seconds, allreduce)


def cost_model(step_seconds, allreduce):
    """Efficiency = compute / (compute + Allreduce) (no overlap: fit reduces after
    backward), at the configuration's batch per node, and the global batch reaching 90 %."""
    print("| model | step ms at batch/node | nodes | Allreduce ms | efficiency (global batch) | "
          "global batch for 90 % |")
    print("|---|---|---|---|---|---|")
    for name, step in step_seconds.items():
        batch = CONFIGS[name][3]
        nbytes = allreduce[name]["parameters"] * 4
        for nodes in (8, 64, 512):
            comm = ring_allreduce_seconds(nodes, nbytes)
            rows_for_90 = int(np.ceil(9 * comm / (step / batch)))  # compute = 9 × comm
            print(f"| {name} | {step * 1e3:.2f} | {nodes} | {comm * 1e3:.2f} | "
                  f"{step / (step + comm):.2f} ({nodes * batch}) | {nodes * rows_for_90} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fit", help=argparse.SUPPRESS)
    parser.add_argument("--allreduce", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        return fit_worker(args.fit)
    if args.allreduce:
        return allreduce_worker()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rates = measure(args.rounds)
    allreduce = _launch(2, "1", ["--allreduce"])
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    report(rates, allreduce)


if __name__ == "__main__":
    main()
