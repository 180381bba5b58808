"""Built-in data sets: the texts' small non-linear problems, regression, digits, MNIST-1D.

Every function returns a Dataset whose X arrays are float32 (examples, features) and whose y
arrays are int64 class labels (classification) or float32 targets (regression). Unless a
function says otherwise, the train/test split is stratified by class and drawn with
`np.random.default_rng(seed)` (see `chainrule.data.split.split_indices`): the same seed
always gives the same data and the same split. Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import DataError
from .split import split_indices

__all__ = ["Dataset", "circles", "digits", "linear", "moons", "spirals", "xor"]


@dataclass
class Dataset:
    """Arrays split in train and test, with what is needed to read them.

    extra: data-set specific facts, e.g. `true_w` and `true_b` for `linear`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"
    classes: list | None
    feature_names: list[str]
    name: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def true_w(self):
        """The weights that generated a regression data set (None for others)."""
        return self.extra.get("true_w")

    @property
    def true_b(self):
        return self.extra.get("true_b")


def _check_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DataError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _xy_names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


def make_classification_dataset(name, X, y, test_size, seed, feature_names=None, classes=None):
    """A Dataset from full arrays: a stratified, seeded split; X float32, y int64."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    train, test = split_indices(len(X), [test_size], seed, labels=y)
    classes = list(range(int(y.max()) + 1)) if classes is None else classes
    return Dataset(
        X[train],
        y[train],
        X[test],
        y[test],
        "classification",
        classes,
        feature_names or _xy_names(X.shape[1]),
        name,
    )


def xor(n_samples: int = 4, noise: float = 0.0, test_size: float = 0.0, seed: int = 0):
    """The XOR problem: label 1 where exactly one of the two inputs is 1.

    The defaults give the truth table itself, four points (0,0)->0, (0,1)->1, (1,0)->1,
    (1,1)->0, all in the training part (the test part is empty: nothing is held out).
    Larger n_samples repeat the four corners in turn (balanced classes when n_samples is a
    multiple of 4), each moved by Gaussian noise of standard deviation `noise`.
    """
    n_samples = _check_count(n_samples, "n_samples")
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    which = np.arange(n_samples) % 4
    rng = np.random.default_rng(seed)
    X = corners[which] + noise * rng.standard_normal((n_samples, 2))
    y = np.array([0, 1, 1, 0])[which]
    return make_classification_dataset("xor", X, y, test_size, seed, classes=[0, 1])


def moons(n_samples: int = 500, noise: float = 0.1, test_size: float = 0.2, seed: int = 0):
    """Two interleaving half circles (scikit-learn's make_moons), half the points each."""
    from sklearn.datasets import make_moons

    X, y = make_moons(_check_count(n_samples, "n_samples", 2), noise=noise, random_state=seed)
    return make_classification_dataset("moons", X, y, test_size, seed)


def circles(
    n_samples: int = 500,
    noise: float = 0.05,
    factor: float = 0.5,
    test_size: float = 0.2,
    seed: int = 0,
):
    """A small circle inside a large one (scikit-learn's make_circles); `factor` is the
    ratio of their radii."""
    from sklearn.datasets import make_circles

    X, y = make_circles(
        _check_count(n_samples, "n_samples", 2), noise=noise, factor=factor, random_state=seed
    )
    return make_classification_dataset("circles", X, y, test_size, seed)


def spirals(
    n_samples: int = 600,
    n_classes: int = 2,
    noise: float = 0.1,
    turns: float = 1.0,
    test_size: float = 0.2,
    seed: int = 0,
):
    """Interleaved spiral arms, one per class, n_samples // n_classes points each.

    Arm k has radius r from 0.05 to 1 and angle 2π(k / n_classes + turns · r) plus Gaussian
    noise of `noise` radians: no straight line (nor a few) separates the classes.
    """
    n_classes = _check_count(n_classes, "n_classes", 2)
    per_class = _check_count(n_samples, "n_samples", n_classes) // n_classes
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.05, 1.0, per_class), n_classes)
    labels = np.repeat(np.arange(n_classes), per_class)
    angle = 2 * np.pi * (labels / n_classes + turns * radius)
    angle += noise * rng.standard_normal(angle.shape)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return make_classification_dataset("spirals", X, labels, test_size, seed)


def linear(
    n_samples: int = 1000,
    n_features: int = 1,
    noise: float = 0.05,
    test_size: float = 0.2,
    seed: int = 0,
):
    """Regression data y = X·w + b + noise, with the true w and b in `extra`.

    X is standard normal; w is drawn uniformly from [-2, 2] per feature and b from [-1, 1];
    the noise is Gaussian with standard deviation `noise`. n_features=1 is the texts'
    univariate line y = wx + b. y has shape (n,). The split is random (not stratified).
    """
    n_samples = _check_count(n_samples, "n_samples", 2)
    n_features = _check_count(n_features, "n_features")
    rng = np.random.default_rng(seed)
    true_w = rng.uniform(-2, 2, n_features)
    true_b = float(rng.uniform(-1, 1))
    X = rng.standard_normal((n_samples, n_features))
    y = X @ true_w + true_b + noise * rng.standard_normal(n_samples)
    X, y = X.astype(np.float32), y.astype(np.float32)
    train, test = split_indices(n_samples, [test_size], seed)
    return Dataset(
        X[train],
        y[train],
        X[test],
        y[test],
        "regression",
        None,
        _xy_names(n_features),
        "linear",
        {"true_w": true_w, "true_b": true_b},
    )


def digits(test_size: float = 0.2, seed: int = 0):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download): 64 pixel
    features scaled from 0..16 to [0, 1], ten classes 0..9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = bunch.data / 16.0
    return make_classification_dataset(
        "digits",
        X,
        bunch.target,
        test_size,
        seed,
        feature_names=list(bunch.feature_names),
        classes=[int(c) for c in bunch.target_names],
    )
