"""`chainrule serve` under load: views per second each page receives, steps per second each
session trains, and the time to answer a control request, with 1, 4 and 8 sessions playing.

    .venv/bin/python benchmarks/serve_stream.py [--seconds 5]

The stdlib ThreadingHTTPServer holds one thread per open stream; the training threads share
the interpreter (and its lock) with the request threads, so this is the number that decides
whether the standard library is enough: the page needs >= 10 views a second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from urllib.parse import urlsplit

from chainrule.serve import Sessions, make_server

SETTINGS = "dataset=spirals&points=600&hidden=8,8,8&speed=200"


def post(address, path):
    connection = http.client.HTTPConnection(*address, timeout=30)
    start = time.perf_counter()
    connection.request("POST", path)
    body = connection.getresponse().read()
    connection.close()
    return time.perf_counter() - start, body


def count_views(address, session_id, seconds, counts):
    connection = http.client.HTTPConnection(*address, timeout=30)
    connection.request("GET", f"/api/sessions/{session_id}/stream")
    response, views, end = connection.getresponse(), 0, time.monotonic() + seconds
    while time.monotonic() < end:
        if response.fp.readline().startswith(b"data: "):
            views += 1
    counts[session_id] = views / seconds
    connection.close()


def run(n_sessions: int, seconds: float) -> dict:
    server = make_server("127.0.0.1", 0, sessions=Sessions(max_sessions=n_sessions))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = urlsplit(server.url).netloc.split(":")
    address = (host, int(port))
    ids = [json.loads(post(address, f"/api/sessions?{SETTINGS}")[1])["session"]
           for _ in range(n_sessions)]
    for session_id in ids:
        post(address, f"/api/sessions/{session_id}/play")
    counts = {}
    readers = [threading.Thread(target=count_views, args=(address, i, seconds, counts))
               for i in ids]
    steps_before = {i: server.sessions.get(i).view["step"] for i in ids}
    start = time.perf_counter()
    for reader in readers:
        reader.start()
    latencies = [post(address, f"/api/sessions/{ids[0]}/play")[0] for _ in range(20)]
    for reader in readers:
        reader.join()
    elapsed = time.perf_counter() - start
    steps = [(server.sessions.get(i).view["step"] - steps_before[i]) / elapsed for i in ids]
    server.shutdown()
    server.server_close()
    return {"sessions": n_sessions, "views/s per page (median)": statistics.median(counts.values()),
            "views/s (slowest page)": min(counts.values()),
            "steps/s per session (median)": statistics.median(steps),
            "control request ms (median)": 1000 * statistics.median(latencies)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for n in (1, 4, 8):
        result = run(n, args.seconds)
        if n == 1:
            print("| " + " | ".join(result) + " |\n|" + "---:|" * len(result))
        print("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v)
                                for v in result.values()) + " |")


if __name__ == "__main__":
    main()
