"""load_dataset: the built-in data sets by name."""

from __future__ import annotations

from collections.abc import Callable

from .curve import curve
from .datasets import Dataset, circles, digits, linear, moons, spirals, xor
from .errors import DataError
from .gaussian import gaussian
from .mnist1d_offline import mnist1d

__all__ = ["DATASETS", "load_dataset"]

DATASETS: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "moons": moons,
    "gaussian": gaussian,
    "curve": curve,
    "circles": circles,
    "spirals": spirals,
    "linear": linear,
    "digits": digits,
    "mnist1d": mnist1d,
}


def load_dataset(name: str, seed: int | None = None, **kwargs) -> Dataset:
    """The built-in data set `name` (see DATASETS), generated with `seed`.

    seed=None uses the data set's own default (0, or for mnist1d the package's published
    seed); other keyword arguments go to the data set's function, e.g.
    load_dataset("moons", n_samples=1000, noise=0.2).
    """
    function = DATASETS.get(name)
    if function is None:
        raise DataError(f"unknown data set {name!r}; the built-in ones are {sorted(DATASETS)}")
    if seed is not None:
        kwargs["seed"] = seed
    return function(**kwargs)
