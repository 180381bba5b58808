"""Training results of issue 5, the slow ones: digits (accuracy and speed side by side with
scikit-learn and PyTorch), MNIST-1D, and the three modes of gradient descent plotted.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/train_results.py all

Subcommands: digits [--repeats N], mnist1d [--seeds N], mnist1d-select [--seeds N] (the
configuration chosen on a validation split of the training rows, never on the test set),
gd-modes [--out docs/gd_modes.png], all.
Timings are wall-clock seconds of the whole training call, medians of interleaved repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import chainrule as cr
from chainrule import nn, optim

DIGITS = dict(hidden=128, epochs=50, batch_size=32, lr=1e-3)


def digits_chainrule(data, seed):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, DIGITS["hidden"]), nn.ReLU(),
                          nn.Linear(DIGITS["hidden"], 10))
    opt = optim.Adam(model.parameters(), lr=DIGITS["lr"])
    start = time.perf_counter()
    cr.fit(model, nn.CrossEntropyLoss(), opt, data.X_train, data.y_train,
           epochs=DIGITS["epochs"], batch_size=DIGITS["batch_size"], seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, cr.metrics.accuracy(data.y_test, cr.predict(model, data.X_test))


def digits_sklearn(data, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(DIGITS["hidden"],), solver="adam", alpha=0.0,
                          batch_size=DIGITS["batch_size"], learning_rate_init=DIGITS["lr"],
                          max_iter=DIGITS["epochs"], n_iter_no_change=DIGITS["epochs"] + 1,
                          tol=0.0, shuffle=True, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    return seconds, float(np.mean(model.predict(data.X_test) == data.y_test))


def digits_torch(data, seed, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    model = torch.nn.Sequential(torch.nn.Linear(64, DIGITS["hidden"]), torch.nn.ReLU(),
                                torch.nn.Linear(DIGITS["hidden"], 10))
    opt = torch.optim.Adam(model.parameters(), lr=DIGITS["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(DIGITS["epochs"]):
        order = torch.randperm(len(X))
        for i in range(0, len(X), DIGITS["batch_size"]):
            rows = order[i:i + DIGITS["batch_size"]]
            opt.zero_grad()
            loss_fn(model(X[rows]), y[rows]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.X_test)).argmax(1).numpy()
    return seconds, float(np.mean(predicted == data.y_test))


def run_digits(repeats):
    import functools

    data = cr.data.digits(seed=0)
    runners = {"chainrule": digits_chainrule, "scikit-learn": digits_sklearn,
               "pytorch, 1 thread": functools.partial(digits_torch, threads=1),
               "pytorch, 2 threads": functools.partial(digits_torch, threads=2)}
    times = {name: [] for name in runners}
    accuracy = {name: [] for name in runners}
    for seed in range(repeats):  # interleaved, so load changes hit every library alike
        for name, runner in runners.items():
            seconds, acc = runner(data, seed)
            times[name].append(seconds)
            accuracy[name].append(acc)
    print(f"digits 64-128-10 ReLU MLP, Adam lr 1e-3, {DIGITS['epochs']} epochs, batch 32; "
          f"{len(data.X_train)} train / {len(data.X_test)} test; {repeats} interleaved "
          f"repeats (seeds 0..{repeats - 1})")
    print("| library | fit wall time, median (s) | test accuracy, median (min) | "
          "time relative to chainrule |")
    print("|---|---|---|---|")
    ours = statistics.median(times["chainrule"])
    for name in runners:
        median = statistics.median(times[name])
        print(f"| {name} | {median:.3f} | {statistics.median(accuracy[name]):.4f} "
              f"({min(accuracy[name]):.4f}) | {median / ours:.2f}x |")


# (label, hidden widths, dropout, Adam lr, epochs of 40 batches of 100)
MNIST1D_MODELS = (
    ("tuned: 40-512-512-512-10, dropout 0.4", (512, 512, 512), 0.4, 1e-3, 60),
    ("40-512-512-10, dropout 0.5", (512, 512), 0.5, 1e-3, 80),
    ("Greydanus's MLP: 40-100-100-10", (100, 100), 0.0, 1e-2, 150),  # 6,000 steps, as published
)


def mnist1d_chainrule(data, hidden, dropout, lr, epochs, seed):
    return mnist1d_fit_score(data.X_train, data.y_train, data.X_test, data.y_test,
                             hidden, dropout, lr, epochs, seed)


def mnist1d_fit_score(X, y, X_eval, y_eval, hidden, dropout, lr, epochs, seed):
    """Train a ReLU MLP by `cr.fit` (default options) on (X, y); return the fit time and
    the accuracy on (X_eval, y_eval) after the last epoch."""
    cr.manual_seed(seed)
    layers, width = [], 40
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    start = time.perf_counter()
    cr.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr),
           X, y, epochs=epochs, batch_size=100, seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, cr.metrics.accuracy(y_eval, cr.predict(model, X_eval))


def mnist1d_torch(data, hidden, dropout, lr, epochs, seed):
    """The same model and loop in PyTorch (1 thread), as an independent reference."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    layers, width = [], 40
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        layers += [torch.nn.Dropout(dropout)] if dropout else []
        width = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for i in range(0, len(X), 100):
            rows = order[i:i + 100]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.X_test)).argmax(1).numpy()
    return seconds, float(np.mean(predicted == data.y_test))


def run_mnist1d(seeds):
    """Final test accuracy (the test set is never looked at during training)."""
    data = cr.data.mnist1d()
    print(f"MNIST-1D (mnist1d.make_dataset defaults), {len(data.X_train)} train / "
          f"{len(data.X_test)} test; ReLU MLPs, Adam, batch 100; seeds {list(seeds)}")
    print("| model | library | epochs | test accuracy, median (min-max) | fit time, median (s) |")
    print("|---|---|---|---|---|")
    for label, hidden, dropout, lr, epochs in MNIST1D_MODELS:
        for library, runner in (("chainrule", mnist1d_chainrule), ("pytorch", mnist1d_torch)):
            results = [runner(data, hidden, dropout, lr, epochs, seed) for seed in seeds]
            report_row(f"{label}, lr {lr:g} | {library} | {epochs}", results)


# The candidates of the selection (label, hidden widths, dropout, Adam lr, epochs)
MNIST1D_CANDIDATES = (
    ("40-100-100-10, lr 1e-2", (100, 100), 0.0, 1e-2, 150),
    ("40-512-512-10, dropout 0.3", (512, 512), 0.3, 1e-3, 80),
    ("40-512-512-10, dropout 0.5", (512, 512), 0.5, 1e-3, 80),
    ("40-512-512-512-10, dropout 0.4", (512, 512, 512), 0.4, 1e-3, 60),
)


def run_mnist1d_select(seeds, validation_fraction=0.1):
    """Model selection that never looks at the test set: each candidate is trained on the
    first 90% of the training rows and scored on the last 10% (the rows cr.fit's
    validation_split would hold out); the best median validation accuracy wins; the winner
    is then retrained on all training rows, and only then is the test set used, once per
    seed, to report it."""
    data = cr.data.mnist1d()
    n_val = int(round(validation_fraction * len(data.X_train)))
    X_fit, y_fit = data.X_train[:-n_val], data.y_train[:-n_val]
    X_val, y_val = data.X_train[-n_val:], data.y_train[-n_val:]
    print(f"MNIST-1D selection: {len(X_fit)} fit / {len(X_val)} validation rows (the last "
          f"{n_val} training rows); {len(data.X_test)} test rows unused until the end; "
          f"seeds {list(seeds)}")
    print("| candidate | epochs | validation accuracy, median (min-max) | fit time, median (s) |")
    print("|---|---|---|---|")
    medians = {}
    for label, *config in MNIST1D_CANDIDATES:
        results = [mnist1d_fit_score(X_fit, y_fit, X_val, y_val, *config, seed)
                   for seed in seeds]
        medians[label] = report_row(f"{label} | {config[-1]}", results)
    chosen = max(MNIST1D_CANDIDATES, key=lambda candidate: medians[candidate[0]])
    print(f"chosen by validation accuracy: {chosen[0]}; retrained on all "
          f"{len(data.X_train)} training rows, scored on the test set:")
    results = [mnist1d_chainrule(data, *chosen[1:], seed) for seed in seeds]
    report_row(f"{chosen[0]} (test) | {chosen[-1]}", results)


def report_row(label, results):
    """Print one table row of (seconds, accuracy) results; return the median accuracy."""
    accuracy = [a for _, a in results]
    median = statistics.median(accuracy)
    print(f"| {label} | {median:.4f} ({min(accuracy):.4f}-{max(accuracy):.4f}) | "
          f"{statistics.median(t for t, _ in results):.1f} |", flush=True)
    return median


class TrainingTime(cr.callbacks.Callback):
    """Seconds spent training in each epoch: from its start to the end of its last step
    (the full-data loss that fit logs afterwards is not counted)."""

    def __init__(self):
        self.seconds = []

    def on_epoch_begin(self, state):
        self._start = time.perf_counter()

    def on_batch_end(self, state):
        self._last = time.perf_counter()

    def on_epoch_end(self, state):
        self.seconds.append(self._last - self._start)


GD_MODES = (("batch (all 800)", None, 200), ("stochastic (1)", 1, 30),
            ("mini-batch (32)", 32, 30))  # label, batch_size, epochs


def gd_mode_curves(seed=0, lr=0.05, repeats=3):
    """Full-data training loss after each epoch and the cumulative training time (median
    over `repeats` identical runs, epoch by epoch), for batch, stochastic and mini-batch
    gradient descent on the same linear regression (batch GD, one step per epoch, gets
    more epochs to reach the floor)."""
    data = cr.data.linear(n_samples=1000, n_features=3, noise=0.1, seed=seed)
    X, y = data.X_train, data.y_train
    curves = {}
    for label, batch_size, epochs in GD_MODES:
        seconds = []
        for _ in range(repeats):
            cr.manual_seed(seed)
            model = nn.Linear(3, 1)
            timer = TrainingTime()
            history = cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), X, y,
                             epochs=epochs, batch_size=batch_size, validation_data=(X, y),
                             callbacks=[timer], seed=seed, verbose=0)
            seconds.append(timer.seconds)
        curves[label] = (np.arange(1, epochs + 1), np.array(history.history["val_loss"]),
                         np.cumsum(np.median(seconds, axis=0)))
    return curves, least_squares_loss(X, y)


def least_squares_loss(X, y):
    """The lowest training MSE any w, b can reach (the noise floor), by least squares."""
    A = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
    coefficients = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]
    return float(np.mean((A @ coefficients - y) ** 2))


def plot_gd_modes(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves, floor = gd_mode_curves()
    print(f"least-squares loss (the noise floor): {floor:.4g}")
    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 4))
    for label, (epochs, loss, seconds) in curves.items():
        by_epoch.plot(epochs, loss, marker=".", label=label)
        by_time.plot(seconds, loss, marker=".", label=label)
        near = np.flatnonzero(loss <= 1.05 * floor)
        reached = (f"within 5% of the floor after epoch {epochs[near[0]]} and "
                   f"{seconds[near[0]]:.3g} s" if len(near) else "never within 5% of the floor")
        print(f"{label}: loss after epoch 1 {loss[0]:.4g}, after {epochs[-1]} {loss[-1]:.4g}; "
              f"{reached}; {seconds[-1]:.3g} s in all")
    for axis, xlabel in ((by_epoch, "epoch (log scale)"), (by_time, "wall time (s, log scale)")):
        axis.set_xscale("log")
        axis.axhline(floor, color="gray", linestyle="--", linewidth=1, label="least squares")
        axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel("training loss (MSE, whole data set)")
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.suptitle("Batch, stochastic and mini-batch gradient descent "
                 "(linear regression, SGD lr 0.05)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["digits", "mnist1d", "mnist1d-select", "gd-modes",
                                         "all"])
    parser.add_argument("--repeats", type=int, default=5, help="digits: interleaved repeats")
    parser.add_argument("--seeds", type=int, default=3,
                        help="mnist1d, mnist1d-select: seeds 0..N-1")
    parser.add_argument("--out", default="docs/gd_modes.png")
    args = parser.parse_args(argv)
    if args.what in ("digits", "all"):
        run_digits(args.repeats)
    if args.what in ("mnist1d", "all"):
        run_mnist1d(range(args.seeds))
    if args.what in ("mnist1d-select", "all"):
        run_mnist1d_select(range(args.seeds))
    if args.what in ("gd-modes", "all"):
        plot_gd_modes(args.out)


if __name__ == "__main__":
    main()
