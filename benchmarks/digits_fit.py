"""The digits end-to-end fit (64-128-10, ReLU, Adam lr 1e-3, 50 epochs, batch 32, shuffled):
each `FITS` entry trains from scratch and returns (seconds, test accuracy).

PyTorch runs with 1 thread: with 2 its OpenMP threads spin-wait on each other on this loaded
2-core machine (48 s instead of 1.7 s for the loop in a --quick run of train_speed.py).
chainrule's fits run with numpy's default BLAS threads (2)."""

from __future__ import annotations

import inspect
import time
import warnings

import numpy as np

EPOCHS, BATCH, HIDDEN, LR = 50, 32, 128, 1e-3


def _data():
    import chainrule as cr

    ds = cr.data.load_dataset("digits", seed=0)
    return ds.X_train, ds.y_train, ds.X_test, ds.y_test


def _chainrule(compile_step):
    import chainrule as cr

    X, y, Xt, yt = _data()
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(64, HIDDEN), cr.nn.ReLU(), cr.nn.Linear(HIDDEN, 10))
    opt = cr.optim.Adam(model.parameters(), lr=LR, fused=True)
    options = {"compile": compile_step} if _fit_compiles() else {}
    start = time.perf_counter()
    cr.fit(model, cr.nn.CrossEntropyLoss(), opt, X, y, epochs=EPOCHS, batch_size=BATCH,
           seed=0, verbose=0, **options)
    seconds = time.perf_counter() - start
    return seconds, float((cr.predict(model, Xt).argmax(1) == yt).mean())


def _torch(threads):
    import torch

    torch.set_num_threads(threads)
    X, y, Xt, yt = _data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, 10))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    Xs, ys = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(EPOCHS):
        order = torch.from_numpy(rng.permutation(len(X)))
        for i in range(0, len(X), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            loss_fn(model(Xs[idx]), ys[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())
    return seconds, acc


def _sklearn():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y, Xt, yt = _data()
    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), solver="adam", learning_rate_init=LR,
                          batch_size=BATCH, max_iter=EPOCHS, alpha=0.0, tol=0.0,
                          n_iter_no_change=EPOCHS + 1, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start, float(model.score(Xt, yt))


def _fit_compiles() -> bool:
    import chainrule as cr

    return "compile" in inspect.signature(cr.fit).parameters


FITS = {
    "chainrule cr.fit(compile=True)": lambda: _chainrule(True),
    "chainrule cr.fit(compile=False)": lambda: _chainrule(False),
    "PyTorch loop, 1 thread": lambda: _torch(1),
    "scikit-learn MLPClassifier.fit": _sklearn,
}
