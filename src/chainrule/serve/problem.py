"""What one session trains: the data set, its standardization, the model and the drawing grid.

Points are shown in the data set's own coordinates; the network sees its inputs standardized
(as `chainrule train` does), so the grid is standardized by the same Preprocessor before the
model draws on it. A classification set has two features and a 2-D grid (the decision
boundary as a heat map); the regression curve has one feature and a 1-D grid along x (the
fitted curve), its points drawn as (x, y).
"""

from __future__ import annotations

import numpy as np

from .settings import LIMITS, Settings, SettingsError

__all__ = ["GRID", "NEURON_GRID", "Problem"]

GRID = 40  # heat-map cells per side (points along x for a curve: GRID²)
NEURON_GRID = 16  # cells per side of each neuron's small heat map


class Problem:
    def __init__(self, settings: Settings, csv_path: str | None = None):
        from ..data import Preprocessor

        self.settings = settings
        data = (
            _csv_dataset(settings, csv_path)
            if settings.dataset == "csv"
            else _builtin_dataset(settings)
        )
        self.data = data
        self.regression = data.task == "regression"
        if self.regression and settings.loss == "cross_entropy":
            raise SettingsError(
                "loss 'cross_entropy' needs classes; this data set is a regression: "
                "choose squared_error (or auto)"
            )
        self.preprocessor = Preprocessor.fit(
            data.X_train,
            data.feature_names,
            data.task,
            target="y" if self.regression else "label",
            classes=data.classes,
        )
        self.X_train = self.preprocessor.transform(data.X_train)
        self.X_test = self.preprocessor.transform(data.X_test)
        self.bounds = _bounds(
            np.concatenate(
                [self._shown(data.X_train, data.y_train), self._shown(data.X_test, data.y_test)]
            )
        )
        self.grid = self.preprocessor.transform(self._grid(GRID))
        self.neuron_grid = self.preprocessor.transform(self._grid(NEURON_GRID))

    @property
    def sizes(self) -> list[int]:
        """Layer widths from input to output."""
        outputs = 1 if self.regression else len(self.data.classes)
        return [self.data.n_features, *self.settings.hidden, outputs]

    def build_model(self):
        """(model, loss_fn, optimizer, scheduler) as `chainrule train` builds them."""
        import chainrule as cr

        from ..cli.setup import build_model, build_optimizer, build_scheduler

        config = self.settings.train_config()
        cr.manual_seed(self.settings.seed)
        model = build_model(self.sizes[0], self.sizes[-1], config)
        optimizer = build_optimizer(config, model.parameters())
        return model, self.loss_function(), optimizer, build_scheduler(config, optimizer)

    @property
    def explain_loss(self) -> tuple[str, str]:
        """(output, loss) as `chainrule explain` names the trained loss."""
        if self.regression:
            return "identity", "mse"
        if self.settings.loss == "squared_error":
            return "softmax", "mse"
        return "softmax", "ce"

    def loss_function(self):
        """The loss the settings ask for (see settings.LOSSES)."""
        from ..cli.trained import loss_function

        if self.regression or self.settings.loss != "squared_error":
            return loss_function(self.data.task)
        return SquaredErrorOfProbabilities(len(self.data.classes))

    def points(self) -> dict:
        """The points as the page draws them (original coordinates, rounded)."""
        d = self.data
        labels = (lambda y: [0] * len(y)) if self.regression else (lambda y: y.tolist())
        return {
            "task": d.task,
            "train": _rounded(self._shown(d.X_train, d.y_train)),
            "train_labels": labels(d.y_train),
            "test": _rounded(self._shown(d.X_test, d.y_test)),
            "test_labels": labels(d.y_test),
            "bounds": self.bounds,
            "grid": GRID,
            "neuron_grid": NEURON_GRID,
        }

    def _shown(self, X, y) -> np.ndarray:
        """Where a point is drawn: its two features, or (x, y) on a curve."""
        return np.column_stack([X[:, 0], y]) if self.regression else X

    def _grid(self, n: int) -> np.ndarray:
        if self.regression:  # n² points along x, so a curve is drawn as finely as a map
            x0, x1 = self.bounds[:2]
            return (x0 + (np.arange(n * n) + 0.5) * (x1 - x0) / (n * n))[:, None]
        return _grid_points(self.bounds, n)


def _builtin_dataset(settings: Settings):
    from ..data import load_dataset

    return load_dataset(
        settings.dataset,
        seed=settings.seed,
        n_samples=settings.points,
        noise=settings.noise,
        test_size=settings.test_ratio,
    )


def _csv_dataset(settings: Settings, path: str | None):
    """The uploaded CSV's two feature columns (in their own units) and its two classes."""
    from ..data import Dataset, load_csv

    if path is None:
        raise SettingsError("dataset 'csv': upload a CSV file first")
    table = load_csv(
        path,
        settings.target,
        task="classification",
        test_split=settings.test_ratio,
        seed=settings.seed,
        features=settings.columns.split(","),
    )
    if len(table.classes) != 2:
        raise SettingsError(
            f"the page draws two classes; column {settings.target!r} has "
            f"{len(table.classes)}: {table.classes[:10]}"
        )
    if len(table.X_train) > LIMITS["points"]:
        raise SettingsError(
            f"the CSV has {len(table.X_train)} training rows; the page takes "
            f"at most {LIMITS['points']}"
        )
    p = table.preprocessor

    def original(X):
        return (X * p.scale + p.mean).astype(np.float32)

    return Dataset(
        original(table.X_train),
        table.y_train,
        original(table.X_test),
        table.y_test,
        "classification",
        p.classes,
        p.feature_names,
        "csv",
    )


def _bounds(X) -> list[float]:
    """[x_min, x_max, y_min, y_max], a square around the points with a margin."""
    low, high = X.min(axis=0), X.max(axis=0)
    centre, half = (low + high) / 2, float((high - low).max()) * 0.55 + 1e-3
    return [
        float(centre[0] - half),
        float(centre[0] + half),
        float(centre[1] - half),
        float(centre[1] + half),
    ]


def _grid_points(bounds, n: int) -> np.ndarray:
    """Cell centres, row by row from the top (largest y) down, as an image is drawn."""
    x0, x1, y0, y1 = bounds
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _rounded(X) -> list:
    return np.round(X.astype(np.float64), 4).tolist()


class SquaredErrorOfProbabilities:
    """mean((softmax(z) − onehot(y))²): the squared error of the texts, on class labels."""

    def __init__(self, classes: int):
        self.classes = classes

    def __call__(self, logits, labels):
        from ..nn import functional as F

        probabilities = F.softmax(logits, dim=1)
        targets = F.one_hot(labels, self.classes).astype(probabilities.dtype)
        return F.mse_loss(probabilities, targets)
