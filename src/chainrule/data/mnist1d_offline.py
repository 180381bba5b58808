"""MNIST-1D generated offline by the `mnist1d` package, cached as .npz.

The package's `get_dataset` may download a pickle; we never call it. We call its
`make_dataset` (pure NumPy, a few seconds) and cache the arrays under `cache_dir()` in an
.npz file read with allow_pickle=False, written atomically.
"""

from __future__ import annotations

import io
import os
import random
import zipfile

import numpy as np

from ..atomic import atomic_write_bytes
from .datasets import Dataset

__all__ = ["cache_dir", "mnist1d"]

_KEYS = ("X_train", "y_train", "X_test", "y_test")


def cache_dir() -> str:
    """$CHAINRULE_CACHE, else $XDG_CACHE_HOME/chainrule, else ~/.cache/chainrule."""
    if os.environ.get("CHAINRULE_CACHE"):
        return os.environ["CHAINRULE_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "chainrule")


def _generate(num_samples: int | None, seed: int | None) -> dict:
    """Run mnist1d's make_dataset, leaving the global `random`/`np.random` state as it was
    (make_dataset reseeds both)."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    if num_samples is not None:
        args.num_samples = num_samples
    if seed is not None:
        args.seed = seed
    # The mnist1d package draws from the global generators: keep the user's state.
    saved = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])  # noqa: NPY002
    return {
        "X_train": data["x"].astype(np.float32),
        "y_train": data["y"].astype(np.int64),
        "X_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }


def _read_cache(path: str) -> dict | None:
    """The cached arrays, or None when the file is absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in _KEYS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _write_cache(path: str, arrays: dict) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # a read-only home only costs regenerating next time


def mnist1d(seed: int | None = None, num_samples: int | None = None, cache: bool = True):
    """MNIST-1D (Greydanus, 2020): 40-sample 1-D signals of the ten digits, 10 classes.

    With the defaults this is the published data set: the package's default arguments
    (5,000 examples, generator seed 42), split as the package splits it: the first 80 %
    (4,000) for training, the last 1,000 for testing. `seed` and `num_samples` replace the
    package's seed and size. cache=False regenerates without reading or writing the cache.
    """
    from importlib import metadata  # email.* and more: only when mnist1d is used

    version = metadata.version("mnist1d")
    size = "default" if num_samples is None else num_samples
    name = f"mnist1d-{version}-n{size}-seed{'default' if seed is None else seed}.npz"
    path = os.path.join(cache_dir(), name)
    arrays = _read_cache(path) if cache else None
    if arrays is None:
        arrays = _generate(num_samples, seed)
        if cache:
            _write_cache(path, arrays)
    n_features = arrays["X_train"].shape[1]
    return Dataset(
        arrays["X_train"],
        arrays["y_train"],
        arrays["X_test"],
        arrays["y_test"],
        "classification",
        list(range(10)),
        [f"t{i}" for i in range(n_features)],
        "mnist1d",
        {"cache_path": path if cache else None},
    )
