"""What one session trains: the data set, its standardization, the model and the heat-map grid.

Points are shown in the data set's own coordinates; the network sees them standardized (as
`chainrule train` does), so the grid is standardized by the same Preprocessor before the
model draws the decision boundary on it.
"""

from __future__ import annotations

import numpy as np

from .settings import Settings

__all__ = ["GRID", "Problem"]

GRID = 40  # heat-map cells per side
NEURON_GRID = 16  # cells per side of each neuron's small heat map


class Problem:
    def __init__(self, settings: Settings):
        from ..data import Preprocessor, load_dataset

        self.settings = settings
        data = load_dataset(settings.dataset, seed=settings.seed, n_samples=settings.points,
                            noise=settings.noise, test_size=settings.test_ratio)
        self.data = data
        self.preprocessor = Preprocessor.fit(data.X_train, data.feature_names, data.task,
                                             target="label", classes=data.classes)
        self.X_train = self.preprocessor.transform(data.X_train)
        self.X_test = self.preprocessor.transform(data.X_test)
        self.bounds = _bounds(np.concatenate([data.X_train, data.X_test]))
        self.grid = self.preprocessor.transform(_grid_points(self.bounds, GRID))
        self.neuron_grid = self.preprocessor.transform(_grid_points(self.bounds, NEURON_GRID))

    def build_model(self):
        """(model, loss_fn, optimizer, scheduler) as `chainrule train` builds them."""
        import chainrule as cr

        from ..cli.setup import build_model, build_optimizer, build_scheduler
        from ..cli.trained import loss_function

        config = self.settings.train_config()
        cr.manual_seed(self.settings.seed)
        model = build_model(2, len(self.data.classes), config)
        optimizer = build_optimizer(config, model.parameters())
        return model, loss_function("classification"), optimizer, \
            build_scheduler(config, optimizer)

    def points(self) -> dict:
        """The points as the page draws them (original coordinates, rounded)."""
        d = self.data
        return {"train": _rounded(d.X_train), "train_labels": d.y_train.tolist(),
                "test": _rounded(d.X_test), "test_labels": d.y_test.tolist(),
                "bounds": self.bounds, "grid": GRID, "neuron_grid": NEURON_GRID}


def _bounds(X) -> list[float]:
    """[x_min, x_max, y_min, y_max], a square around the points with a margin."""
    low, high = X.min(axis=0), X.max(axis=0)
    centre, half = (low + high) / 2, float((high - low).max()) * 0.55 + 1e-3
    return [float(centre[0] - half), float(centre[0] + half),
            float(centre[1] - half), float(centre[1] + half)]


def _grid_points(bounds, n: int) -> np.ndarray:
    """Cell centres, row by row from the top (largest y) down, as an image is drawn."""
    x0, x1, y0, y1 = bounds
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _rounded(X) -> list:
    return np.round(X.astype(np.float64), 4).tolist()
