"""`chainrule train`'s callbacks against a bare cr.fit (issue 13): the digits run of the README's
main job (64-128-10 ReLU, Adam 1e-3, batch 32, 20 epochs), trained by cr.fit with no callbacks
and with the callbacks the CLI adds (GradientMonitor with the CLI's samples per epoch,
StepRecorder, TrajectoryRecorder; the recorders' norms read inside the timing),
interleaved; seconds of training, medians.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/cli_overhead.py
"""

from __future__ import annotations

import statistics
import time

import chainrule as cr
from chainrule.cli.training import MONITOR_SAMPLES_PER_EPOCH


def train(with_cli_callbacks: bool) -> float:
    from chainrule.landscape import TrajectoryRecorder
    from chainrule.viz.steps import StepRecorder

    data = cr.data.load_dataset("digits", seed=0)
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 10))
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    callbacks = (
        [cr.callbacks.GradientMonitor(samples_per_epoch=MONITOR_SAMPLES_PER_EPOCH),
         StepRecorder(), TrajectoryRecorder()]
        if with_cli_callbacks
        else []
    )
    start = time.perf_counter()
    history = cr.fit(model, cr.nn.CrossEntropyLoss(), opt, data.X_train, data.y_train,
                     epochs=20, batch_size=32, seed=0, verbose=0, callbacks=callbacks)
    for callback in callbacks:  # what the CLI reads for its plots, inside the timing
        getattr(callback, "grad_norm", None)
    history.grad_monitor  # noqa: B018
    return time.perf_counter() - start


def main(rounds: int = 7) -> None:
    times = {False: [], True: []}
    for _ in range(rounds):
        for flag in times:
            times[flag].append(train(flag))
    bare, cli = statistics.median(times[False]), statistics.median(times[True])
    print(f"cr.fit, no callbacks: {bare:.3f} s; with the CLI's callbacks: {cli:.3f} s "
          f"({cli / bare:.2f}x)")


if __name__ == "__main__":
    main()
