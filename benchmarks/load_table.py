"""Loading a 500,000 x 20 numeric CSV: cr.data.load_csv against pandas.read_csv (and
pyarrow.csv.read_csv), time and peak memory; and the header-only file of 100,000 columns.

Each measurement runs in a fresh process (so peak RSS is its own), after its imports (pandas
and chainrule.data included for chainrule, which imports them on first use: module imports
are outside the timed region for every reader); the readers alternate
within each repeat, so drifting machine load hits both alike. Peak memory is the process's
maximum resident set minus its resident set after imports, beside the float32 array's size.

    .venv/bin/python benchmarks/load_table.py [--rows 500000] [--repeats 5] [--mixed]
        [--baseline OTHER_CHECKOUT/src] [--breakdown]

pandas 3.1 parses a whole file on min(CPUs, 6) threads ("pandas, 1 thread" is its read on
one); load_csv parses pieces of the file on its own thread and a lowest-priority helper
(data/csvsplit.py, data/inorder.py). `taskset -c 0 .venv/bin/python
benchmarks/load_table.py` compares them on one CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

READERS = {
    "chainrule.load_csv": "import chainrule as cr, chainrule.data, pandas\n"
                          "run = lambda p, t: cr.data.load_csv(p, target=t, test_split=0.0)",
    "pandas.read_csv": "import pandas as pd\nrun = lambda p, t: pd.read_csv(p)",
    "pyarrow.csv": "import pyarrow.csv as pc\nrun = lambda p, t: pc.read_csv(p)",
    # pandas 3.1 reads a whole file on min(CPUs, 6) threads; this is its one-thread read
    "pandas, 1 thread": "import pandas as pd\npd.set_option('mode.max_threads', 1)\n"
                        "run = lambda p, t: pd.read_csv(p)",
}
MEASURE = """
import json, resource, sys, time
{setup}
def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
base = rss_kb()
start = time.perf_counter()
result = run(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
x_mb = sum(getattr(result, p).nbytes for p in ("X_train", "X_val", "X_test")) / 2**20 \
    if hasattr(result, "X_train") else None
print(json.dumps({{"seconds": seconds, "peak_mb": (peak - base) / 1024, "x_mb": x_mb}}))
"""


def write_csv(path: str, rows: int, columns: int = 20) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((rows, columns)) * 100
    header = ",".join(f"c{j}" for j in range(columns))
    np.savetxt(path, data, fmt="%.6f", delimiter=",", header=header, comments="")


def write_mixed_csv(path: str, rows: int) -> None:
    """14 float columns, 2 integer ones, 2 text categories (5 and 50 values), an ISO date
    and a text target of 3 classes."""
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.standard_normal((rows, 14)) * 100,
                         columns=[f"c{j}" for j in range(14)])
    frame["n0"], frame["n1"] = rng.integers(0, 1000, rows), rng.integers(-50, 50, rows)
    frame["colour"] = np.array(["red", "green", "blue", "cyan", "grey"])[rng.integers(0, 5, rows)]
    frame["city"] = np.char.add("city", rng.integers(0, 50, rows).astype(str))
    frame["day"] = (np.datetime64("2015-01-01") + rng.integers(0, 3000, rows)).astype(str)
    frame["label"] = np.array(["a", "b", "c"])[rng.integers(0, 3, rows)]
    frame.to_csv(path, index=False, float_format="%.6f")


BASELINE = "chainrule baseline"  # load_csv of another source tree (--baseline)


def measure(reader: str, path: str, target: str, baseline: str | None = None) -> dict:
    code = MEASURE.format(setup=READERS["chainrule.load_csv" if reader == BASELINE else reader])
    env = dict(os.environ, PYTHONPATH=baseline) if reader == BASELINE and baseline else None
    out = subprocess.run([sys.executable, "-c", code, path, target], capture_output=True,
                         text=True, check=True, env=env)
    return json.loads(out.stdout)


def compare(path: str, target: str, repeats: int, baseline: str | None = None) -> None:
    """The readers on one file, alternating within each repeat; medians."""
    results: dict[str, list] = {name: [] for name in READERS}
    if baseline:
        results[BASELINE] = []
    for _ in range(repeats):
        for name in results:
            results[name].append(measure(name, path, target, baseline))
    pandas_s = statistics.median(r["seconds"] for r in results["pandas.read_csv"])
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        x_mb = runs[0]["x_mb"]
        what = f" (X {x_mb:.0f} MiB: {peak / x_mb:.2f}x)" if x_mb else ""
        print(f"{name:20s} {seconds:6.2f} s ({seconds / pandas_s:4.2f}x pandas)  "
              f"peak +{peak:5.0f} MiB{what}")


BREAKDOWN = """
import statistics, sys, time
import pandas as pd
import chainrule as cr
from chainrule.data import csvfile, csvtable
path, target, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = {}
def timed(name, function):
    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times.setdefault(name, []).append(time.perf_counter() - start)
    return run
def chunks():
    for _ in csvtable.open_chunks(path, None, csvfile.CHUNK_CELLS).parts:
        pass
def one_thread():
    with pd.option_context("mode.max_threads", 1):
        pd.read_csv(path)
csvfile._read_cells = timed("  load_csv: chunks parsed and stored", csvfile._read_cells)
csvfile.split_indices = timed("  load_csv: split", csvfile.split_indices)
csvfile.fit_table = timed("  load_csv: fit and standardize", csvfile.fit_table)
for _ in range(repeats):
    timed("pandas.read_csv", pd.read_csv)(path)
    timed("pandas.read_csv, 1 thread", one_thread)()
    timed("load_csv's pieces parsed and tidied, not stored", chunks)()
    timed("load_csv", cr.data.load_csv)(path, target=target, test_split=0.0)
for name, seconds in times.items():
    print(f"{name:40s} {statistics.median(seconds):6.3f} s")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mixed", action="store_true",
                        help="also a table with text, integer and date columns")
    parser.add_argument("--baseline", metavar="SRC",
                        help="also load_csv of this source folder (PYTHONPATH), alternating")
    parser.add_argument("--breakdown", action="store_true",
                        help="only where load_csv's time goes, beside pandas' reads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "numeric.csv")
        write_csv(path, args.rows)
        print(f"{args.rows} x 20 numeric CSV, {os.path.getsize(path) / 2**20:.0f} MiB; "
              f"float32 array {args.rows * 20 * 4 / 2**20:.0f} MiB")
        if args.breakdown:
            print(f"in one process, medians of {args.repeats}:")
            subprocess.run([sys.executable, "-c", BREAKDOWN, path, "c19", str(args.repeats)],
                           check=True)
            return
        compare(path, "c19", args.repeats, args.baseline)
        if args.mixed:
            mixed = os.path.join(folder, "mixed.csv")
            write_mixed_csv(mixed, args.rows)
            print(f"{args.rows} rows, mixed kinds (14 float, 2 int, 2 text categories, a date, "
                  f"a text target), {os.path.getsize(mixed) / 2**20:.0f} MiB")
            compare(mixed, "label", args.repeats, args.baseline)
        wide = os.path.join(folder, "wide.csv")
        with open(wide, "w") as handle:
            handle.write(",".join(f"c{j}" for j in range(100_000)) + "\n")
        code = ("import time, chainrule as cr\nstart = time.perf_counter()\ntry:\n"
                f"    cr.data.load_csv({wide!r}, target='c0')\n"
                "except cr.data.DataError as e:\n"
                "    print(f'{time.perf_counter() - start:.2f} s: {str(e)[-40:]}')")
        print("header-only, 100,000 columns:",
              subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.strip())


if __name__ == "__main__":
    main()
