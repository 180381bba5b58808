"""Reading a 500,000 x 20 numeric CSV in chunks into per-column float64 arrays: pandas'
read_csv(chunksize=...) against pyarrow.csv.open_csv (streaming record batches), beside a
whole pandas.read_csv; time and peak memory (the reader load_csv uses, issue 15).

Each measurement runs in a fresh process, after its imports; the readers alternate within
each repeat; medians. Peak memory: the process's maximum resident set minus its resident set
after the imports. The arrays are preallocated from a count of the file's lines.

    .venv/bin/python benchmarks/chunked_readers.py [--rows 500000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from load_table import write_csv

READ = """
import json, resource, sys, time
import numpy as np, pandas as pd, pyarrow.csv as pc
def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
path, how, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
base, start = rss_kb(), time.perf_counter()
if how == "pandas whole":
    pd.read_csv(path)
else:
    with open(path, "rb") as f:
        n = sum(block.count(b"\\n") for block in iter(lambda: f.read(1 << 22), b""))
    columns, at = None, 0
    if how == "pandas chunks":
        chunks = ((c.columns, [c[k].to_numpy() for k in c.columns])
                  for c in pd.read_csv(path, chunksize=size))
    else:
        reader = pc.open_csv(path, read_options=pc.ReadOptions(block_size=size))
        chunks = ((b.schema.names, [c.to_numpy() for c in b.columns]) for b in reader)
    for names, arrays in chunks:
        columns = columns or {k: np.empty(n) for k in names}
        for k, a in zip(names, arrays):
            columns[k][at : at + len(a)] = a
        at += len(arrays[0])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024}))
"""
READERS = {  # name: chunk size (rows for pandas, bytes for pyarrow)
    "pandas whole": 0,
    "pandas chunks": 13107,  # 2**18 cells of 20 columns, as load_csv
    "pyarrow open_csv": 1 << 20,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "numeric.csv")
        write_csv(path, args.rows)
        mib = args.rows * 20 * 4 / 2**20
        print(f"{args.rows} x 20 numeric CSV; float64 columns {2 * mib:.0f} MiB, "
              f"float32 array {mib:.0f} MiB")
        runs: dict[str, list] = {name: [] for name in READERS}
        for _ in range(args.repeats):
            for name, size in READERS.items():
                out = subprocess.run([sys.executable, "-c", READ, path, name, str(size)],
                                     capture_output=True, text=True, check=True)
                runs[name].append(json.loads(out.stdout))
        for name, results in runs.items():
            seconds = statistics.median(r["seconds"] for r in results)
            peak = statistics.median(r["peak_mb"] for r in results)
            print(f"{name:18s} {seconds:6.2f} s  peak +{peak:5.0f} MiB")


if __name__ == "__main__":
    main()
