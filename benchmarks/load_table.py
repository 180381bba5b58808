"""Loading a 500,000 x 20 numeric CSV: cr.data.load_csv against pandas.read_csv (and
pyarrow.csv.read_csv), time and peak memory; and the header-only file of 100,000 columns.

Each measurement runs in a fresh process (so peak RSS is its own), after its imports (pandas
included for chainrule, which imports it on first use); the readers alternate
within each repeat, so drifting machine load hits both alike. Peak memory is the process's
maximum resident set minus its resident set after imports, beside the float32 array's size.

    .venv/bin/python benchmarks/load_table.py [--rows 500000] [--repeats 5]
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
    "chainrule.load_csv": "import chainrule as cr, pandas\n"
                          "run = lambda p: cr.data.load_csv(p, target='c19', test_split=0.0)",
    "pandas.read_csv": "import pandas as pd\nrun = lambda p: pd.read_csv(p)",
    "pyarrow.csv": "import pyarrow.csv as pc\nrun = lambda p: pc.read_csv(p)",
}
MEASURE = """
import json, resource, sys, time
{setup}
def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
base = rss_kb()
start = time.perf_counter()
run(sys.argv[1])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mb": (peak - base) / 1024}}))
"""


def write_csv(path: str, rows: int, columns: int = 20) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((rows, columns)) * 100
    header = ",".join(f"c{j}" for j in range(columns))
    np.savetxt(path, data, fmt="%.6f", delimiter=",", header=header, comments="")


def measure(reader: str, path: str) -> dict:
    code = MEASURE.format(setup=READERS[reader])
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "numeric.csv")
        write_csv(path, args.rows)
        print(f"{args.rows} x 20 numeric CSV, {os.path.getsize(path) / 2**20:.0f} MiB; "
              f"float32 array {args.rows * 20 * 4 / 2**20:.0f} MiB")
        results = {name: [] for name in READERS}
        for _ in range(args.repeats):
            for name in READERS:
                results[name].append(measure(name, path))
        pandas_s = statistics.median(r["seconds"] for r in results["pandas.read_csv"])
        for name, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            print(f"{name:20s} {seconds:6.2f} s ({seconds / pandas_s:4.2f}x pandas)  "
                  f"peak +{peak:5.0f} MiB")
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
