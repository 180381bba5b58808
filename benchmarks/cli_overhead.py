"""`chainrule train`'s callbacks against a bare cr.fit (issue 13): the digits run of the README's
main job (64-128-10 ReLU, Adam 1e-3, batch 32, 20 epochs), trained by cr.fit with no callbacks
and with exactly the callbacks the CLI builds (cli.training._callbacks: GradientMonitor with the
CLI's samples per epoch, StepRecorder, TrajectoryRecorder, ModelCheckpoint at most every
CHECKPOINT_EVERY_SECONDS on the CLI's background writer; the recorders' norms read inside the
timing), interleaved; seconds of training, medians. "+ last write" adds the wait for the
checkpoint's fsync, which the CLI overlaps with writing its outputs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/cli_overhead.py
"""

from __future__ import annotations

import statistics
import tempfile
import time

import chainrule as cr


def train(with_cli_callbacks: bool, folder: str) -> tuple[float, float]:
    """(seconds of cr.fit, seconds until the last checkpoint is on disk too)."""
    from chainrule.atomic import BackgroundWriter
    from chainrule.cli.training import _callbacks
    from chainrule.landscape import TrajectoryRecorder
    from chainrule.viz.steps import StepRecorder

    data = cr.data.load_dataset("digits", seed=0)
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 10))
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    writer = BackgroundWriter()
    recorders = (TrajectoryRecorder(), StepRecorder())
    callbacks = (
        _callbacks({"early_stopping": None}, folder, recorders, writer)
        if with_cli_callbacks
        else []
    )
    start = time.perf_counter()
    history = cr.fit(model, cr.nn.CrossEntropyLoss(), opt, data.X_train, data.y_train,
                     epochs=20, batch_size=32, seed=0, verbose=0, callbacks=callbacks)
    for callback in callbacks:  # what the CLI reads for its plots, inside the timing
        getattr(callback, "grad_norm", None)
    history.grad_monitor  # noqa: B018
    trained = time.perf_counter() - start
    writer.wait()
    return trained, time.perf_counter() - start


def main(rounds: int = 7) -> None:
    times = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            for flag in times:
                times[flag].append(train(flag, folder))
    bare = statistics.median(t for t, _ in times[False])
    cli = statistics.median(t for t, _ in times[True])
    written = statistics.median(w for _, w in times[True])
    print(f"cr.fit, no callbacks: {bare:.3f} s; with the CLI's callbacks: {cli:.3f} s "
          f"({cli / bare:.2f}x); + last write {written:.3f} s ({written / bare:.2f}x)")


if __name__ == "__main__":
    main()
