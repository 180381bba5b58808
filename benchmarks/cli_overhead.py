"""`chainrule train`'s training time against a bare cr.fit (issue 13), on the README's main job
(the default configuration: digits, 64-128-10 ReLU, Adam, batch 32, 20 epochs, validation and
metrics). Both sides run the CLI's own cli.training.fit_model (the same data, model, fit
arguments); the bare side with the CLI's callbacks replaced by none. The CLI side therefore has
exactly `chainrule train`'s callbacks (GradientMonitor with the CLI's samples per epoch,
StepRecorder, TrajectoryRecorder, ModelCheckpoint at most every CHECKPOINT_EVERY_SECONDS and
after the last epoch, written on the CLI's background writer). Timed: the cr.fit call inside
fit_model, interleaved rounds, medians; "+ last write" adds the wait for the checkpoint's
fsync, which the CLI overlaps with writing its outputs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/cli_overhead.py

--ablation also times the CLI's callbacks less one at a time (the same interleaved rounds).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import chainrule as cr
from chainrule.atomic import BackgroundWriter
from chainrule.cli import config as cfg
from chainrule.cli import training

ABLATED = ("GradientMonitor", "StepRecorder", "TrajectoryRecorder", "ModelCheckpoint")


def _timed_fit(seconds: list):
    fit = cr.fit

    def timed(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        history = fit(*args, **kwargs)
        seconds.append((time.perf_counter() - start, time.process_time() - cpu))
        return history

    return timed


def train(config, data, with_cli_callbacks, folder: str) -> tuple[float, float, float]:
    """(seconds of cr.fit, seconds until the last checkpoint is on disk too, CPU seconds of
    the process during cr.fit: steadier than wall time on a busy machine). with_cli_callbacks:
    True, False, or the name of the one CLI callback class to leave out."""
    seconds: list[tuple[float, float]] = []
    fit, callbacks = cr.fit, training._callbacks
    cr.fit = _timed_fit(seconds)
    if with_cli_callbacks is False:
        training._callbacks = lambda *args: []
    elif with_cli_callbacks is not True:
        training._callbacks = lambda *args: [
            c for c in callbacks(*args) if type(c).__name__ != with_cli_callbacks
        ]
    writer = BackgroundWriter()
    try:
        training.fit_model(config, data, folder, False, 0, "cpu", writer)
        start = time.perf_counter()
        writer.close()
        waited = time.perf_counter() - start
    finally:
        cr.fit, training._callbacks = fit, callbacks
    ((wall, cpu),) = seconds
    return wall, wall + waited, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--ablation", action="store_true")
    args = parser.parse_args()
    config = cfg.resolve({})
    data = training.load_training_data(config)
    times: dict = {False: [], True: []}
    if args.ablation:
        times.update({name: [] for name in ABLATED})
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for flag in times:
                times[flag].append(train(config, data, flag, folder))
    bare, cli = (statistics.median(t[0] for t in times[flag]) for flag in (False, True))
    written = statistics.median(t[1] for t in times[True])
    bare_cpu, cli_cpu = (statistics.median(t[2] for t in times[flag]) for flag in (False, True))
    print(
        f"cr.fit, no callbacks: {bare:.3f} s; with the CLI's callbacks: {cli:.3f} s "
        f"({cli / bare:.2f}x); + last write {written:.3f} s ({written / bare:.2f}x); "
        f"CPU time {bare_cpu:.3f} s vs {cli_cpu:.3f} s ({cli_cpu / bare_cpu:.2f}x)"
    )
    for name in ABLATED if args.ablation else ():
        wall = statistics.median(t[0] for t in times[name])
        print(
            f"  without {name}: {wall:.3f} s ({wall / bare:.3f}x; its share {cli / wall - 1:+.1%})"
        )


if __name__ == "__main__":
    main()
