"""Convolution networks: accuracy (MNIST-1D ConvBase, digits 8x8) and training-step speed,
chainrule beside PyTorch with the same loop.

    python benchmarks/conv_results.py mnist1d   # ConvBase, 3 seeds, both libraries
    python benchmarks/conv_results.py digits    # a small Conv2d net on 8x8 digits
    python benchmarks/conv_results.py speed     # ConvBase and a 28x28 Conv2d step, interleaved
                                                # (with a JAX row when jax is installed: [bench])
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from common import blas_description, interleave, ratio_median

import chainrule as cr
from chainrule import nn, optim

BATCH = 100


def conv_base(lib, channels=25, classes=10):
    """Greydanus (2020)'s ConvBase: 3 Conv1d (kernels 5/3/3, stride 2, padding 1), ReLU,
    Linear; the (N, 40) signal is first viewed as (N, 1, 40)."""
    return lib.Sequential(
        lib.Unflatten(1, (1, 40)), lib.Conv1d(1, channels, 5, stride=2, padding=1), lib.ReLU(),
        lib.Conv1d(channels, channels, 3, stride=2, padding=1), lib.ReLU(),
        lib.Conv1d(channels, channels, 3, stride=2, padding=1), lib.ReLU(),
        lib.Flatten(), lib.Linear(channels * 5, classes))


def digits_cnn(lib):
    """Two 3x3 Conv2d blocks with max pooling on (N, 1, 8, 8), then Linear."""
    return lib.Sequential(
        lib.Unflatten(1, (1, 8, 8)), lib.Conv2d(1, 32, 3, padding=1), lib.ReLU(),
        lib.MaxPool2d(2), lib.Conv2d(32, 64, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Dropout(0.3), lib.Linear(64 * 2 * 2, 10))


def image_cnn(lib):
    """The 28x28 speed row: two Conv2d layers with max pooling, then Linear."""
    return lib.Sequential(
        lib.Conv2d(1, 8, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(8, 16, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(16 * 7 * 7, 10))


def _chainrule_result(model, data, start):
    """(seconds since start, test accuracy) of a trained chainrule model."""
    seconds = time.perf_counter() - start
    model.eval()
    return seconds, cr.metrics.accuracy(data.y_test, cr.predict(model, data.X_test))


def _torch_result(model, data, start):
    """(seconds since start, test accuracy) of a trained torch model."""
    import torch

    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.X_test)).argmax(1).numpy()
    return seconds, float(np.mean(predicted == data.y_test))


def train_chainrule(make, data, lr, epochs, seed, batch=BATCH):
    """cr.fit with Adam; returns (seconds, test accuracy)."""
    cr.manual_seed(seed)
    model = make(nn)
    start = time.perf_counter()
    cr.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr),
           data.X_train, data.y_train, epochs=epochs, batch_size=batch, seed=seed, verbose=0)
    return _chainrule_result(model, data, start)


def train_torch(make, data, lr, epochs, seed, batch=BATCH):
    """The same model and loop in PyTorch (shuffled batches each epoch, Adam)."""
    import torch

    torch.manual_seed(seed)
    model = make(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for i in range(0, len(X), batch):
            rows = order[i:i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
            opt.step()
    return _torch_result(model, data, start)


def paper_loop_chainrule(make, data, lr, steps, seed, batch=BATCH):
    """The mnist1d repository's train_model loop: step t trains on rows
    [t·batch mod n, +batch) in order (no shuffling), Adam; returns (seconds, test accuracy)."""
    cr.manual_seed(seed)
    model = make(nn)
    opt = optim.Adam(model.parameters(), lr=lr)
    X, y = data.X_train, data.y_train
    start = time.perf_counter()
    for step in range(steps):
        rows = slice(step * batch % len(X), step * batch % len(X) + batch)
        opt.zero_grad()
        nn.functional.cross_entropy(model(cr.tensor(X[rows])), y[rows]).backward()
        opt.step()
    return _chainrule_result(model, data, start)


def paper_loop_torch(make, data, lr, steps, seed, batch=BATCH):
    import torch

    torch.manual_seed(seed)
    model = make(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    start = time.perf_counter()
    for step in range(steps):
        rows = slice(step * batch % len(X), step * batch % len(X) + batch)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
        opt.step()
    return _torch_result(model, data, start)


def report(label, results):
    accuracies = [a for _, a in results]
    print(f"| {label} | {', '.join(f'{a:.2%}' for a in accuracies)} | "
          f"{statistics.mean(accuracies):.2%} | {statistics.median(s for s, _ in results):.1f} |")


def run_mnist1d(seeds, loops):
    import torch

    torch.set_num_threads(1)
    data = cr.data.mnist1d()
    epochs = 6000 * BATCH // len(data.X_train)  # 6,000 steps of 100
    print(f"MNIST-1D ConvBase, {len(data.X_train)} train / {len(data.X_test)} test, Adam lr 1e-2,"
          f" batch {BATCH}, {epochs} epochs = 6,000 steps, seeds {list(seeds)}")
    print("| loop | library | test accuracy per seed | mean | fit time, median (s) |\n"
          "|---|---|---|---|---|")
    for name, train in (("chainrule", train_chainrule), ("pytorch (1 thread)", train_torch)):
        if "fit" in loops:
            report(f"shuffled epochs (cr.fit) | {name}",
                   [train(conv_base, data, 1e-2, epochs, seed) for seed in seeds])
    for name, train in (("chainrule", paper_loop_chainrule),
                        ("pytorch (1 thread)", paper_loop_torch)):
        if "paper" in loops:
            report(f"the mnist1d repository's loop | {name}",
                   [train(conv_base, data, 1e-2, 6000, seed) for seed in seeds])


def run_digits(seeds):
    import torch

    torch.set_num_threads(1)
    data = cr.data.load_dataset("digits")
    print(f"digits 8x8, {len(data.X_train)} train / {len(data.X_test)} test; Conv2d 32-64 "
          "with max pooling, dropout 0.3; Adam lr 3e-3, batch 32, 60 epochs")
    print("| library | test accuracy per seed | mean | fit time, median (s) |\n|---|---|---|---|")
    for name, train in (("chainrule", train_chainrule), ("pytorch (1 thread)", train_torch)):
        report(name, [train(digits_cnn, data, 3e-3, 60, seed, batch=32) for seed in seeds])


def chainrule_step(make, x, y, threads, compiled=False):
    """One training step (eager, or cr.compile_step's replay); its timing windows run with
    `threads` BLAS threads."""
    from threadpoolctl import threadpool_limits

    cr.manual_seed(0)
    model = make(nn)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    xt, limits = cr.tensor(x), []
    replay = cr.compile_step(model, nn.functional.cross_entropy, opt) if compiled else None

    def step():
        if replay is not None:
            replay(x, y)
            return
        opt.zero_grad()
        nn.functional.cross_entropy(model(xt), y).backward()
        opt.step()

    def prepare():
        if limits:
            limits.pop().restore_original_limits()
        limits.append(threadpool_limits(threads, user_api="blas"))
    step.prepare = prepare
    return step


def torch_step(make, x, y, threads):
    import torch

    torch.manual_seed(0)
    model = make(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    step.prepare = lambda: torch.set_num_threads(threads)
    return step


def run_speed(rounds, seconds):
    """Each library with 1 and 2 threads, interleaved; per round the better setting of each.
    JAX (optional) runs at its own default threading."""
    import torch
    from conv_jax import jax_step

    rng = np.random.default_rng(0)
    for label, make, shape in (("ConvBase, batch 100 x 40", conv_base, (BATCH, 40)),
                               ("Conv2d 28x28, batch 100", image_cnn, (BATCH, 1, 28, 28))):
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, BATCH)
        compiled = lambda *args: chainrule_step(*args, compiled=True)  # noqa: E731
        runners = (("chainrule", chainrule_step), ("compiled", compiled), ("torch", torch_step))
        steps = {f"{lib} {t}": runner(make, x, y, t) for lib, runner in runners for t in (1, 2)}
        torch.manual_seed(0)
        jax = jax_step(make(torch.nn), x, y)
        if isinstance(jax, str):
            print(jax)
        else:
            steps["jax"] = jax
        rates = interleave(steps, rounds, seconds)
        best = {lib: [max(a, b) for a, b in zip(rates[f"{lib} 1"], rates[f"{lib} 2"])]
                for lib, _ in runners}
        medians = {name: statistics.median(r) for name, r in rates.items()}
        jax_cells = ["-", "-", "-"]
        if "jax" in rates:
            jax_cells = [f"{medians['jax']:.0f}",
                         f"{ratio_median(rates['jax'], best['torch']):.2f}x",
                         f"{ratio_median(best['compiled'], rates['jax']):.2f}x"]
        print(f"| {label} | " + " | ".join(f"{medians[f'{lib} {t}']:.0f}"
                                           for lib, _ in runners for t in (1, 2))
              + f" | {ratio_median(best['chainrule'], best['torch']):.2f}x"
              + f" | {ratio_median(best['compiled'], best['torch']):.2f}x | "
              + " | ".join(jax_cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["mnist1d", "digits", "speed"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--loops", default="fit,paper",
                        help="mnist1d: fit (shuffled epochs), paper (the repository's loop)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.what == "speed":
        print(f"BLAS: {blas_description()}; load average {os.getloadavg()}")
        print("| step | chainrule eager 1 thread (steps/s) | eager 2 threads | compile_step "
              "1 thread | compile_step 2 threads | torch 1 thread | torch 2 threads | eager / "
              "torch | compiled / torch (each at its better setting, median of interleaved "
              "rounds) | jax.jit (default threads) | jax / torch | compiled / jax |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|")
        run_speed(args.rounds, args.seconds)
    elif args.what == "mnist1d":
        run_mnist1d(range(args.seeds), args.loops.split(","))
    else:
        run_digits(range(args.seeds))


if __name__ == "__main__":
    main()
