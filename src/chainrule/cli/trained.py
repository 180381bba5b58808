"""A model written by `chainrule train`, with what predict/evaluate need from its metadata.

The metadata holds the Preprocessor (standardization, target name, class names) and the
training configuration; this module is the one place that reads and writes that layout.
"""

from __future__ import annotations

import os

import numpy as np

from ..engine.tensor import ChainruleError
from .options import OptionError

__all__ = ["MODEL_FILE", "TrainedModel", "loss_function", "model_metadata", "score"]

MODEL_FILE = "model.safetensors"


def model_metadata(preprocessor, config: dict) -> dict:
    return {"preprocessor": preprocessor.to_dict(), "train_config": config}


def loss_function(task: str):
    from ..nn import loss_for_task

    return loss_for_task(task)


def metric_names(task: str) -> tuple[str, ...]:
    return ("accuracy",) if task == "classification" else ("mse", "mae", "r2")


def score(model, task: str, X, y) -> dict:
    """{"loss": ..., and accuracy (classification) or mse, mae, r2 (regression)}."""
    from ..train.inference import evaluate
    from ..train.metrics import get_metric

    metrics = [get_metric(name) for name in metric_names(task)]
    loss, values = evaluate(model, loss_function(task), X, y, metrics)
    return {"loss": loss, **values}


class TrainedModel:
    def __init__(self, model, preprocessor, config: dict, path: str):
        self.model = model
        self.preprocessor = preprocessor
        self.config = config
        self.path = path

    @classmethod
    def load(cls, path) -> TrainedModel:
        """The model file, or the run folder holding model.safetensors."""
        from ..io import load, load_metadata

        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, MODEL_FILE)
        model = load(path)  # with model.preprocessor, the run's preprocessing
        if model.preprocessor is None:
            raise OptionError(
                f"{path}: no preprocessing in its metadata; "
                "--model needs a file written by `chainrule train`"
            )
        try:
            trained = cls(
                model, model.preprocessor, load_metadata(path).get("train_config", {}), path
            )
            trained.check_usable()
        except (
            ChainruleError,
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            AttributeError,
            NotImplementedError,
        ) as error:  # a file that loads yet cannot predict
            raise OptionError(
                f"{path}: the model and its preprocessing cannot make predictions: {error!s:.300}"
            ) from None
        return trained

    def check_usable(self) -> None:
        """One row of zeros through the preprocessing and the model, as predict does."""
        row = np.zeros((1, self.preprocessor.n_features))
        outputs = self.outputs(self.preprocessor.transform(row))
        if self.task == "classification" and outputs.shape[-1] != len(self.classes):
            raise ValueError(
                f"the model has {outputs.shape[-1]} outputs for {len(self.classes)} classes"
            )
        self.labels(outputs)

    task = property(lambda self: self.preprocessor.task)
    classes = property(lambda self: self.preprocessor.classes)

    @property
    def target_names(self) -> list[str]:
        return [self.preprocessor.target or "prediction"]

    def read(self, path, target: str | None = None, with_target: bool = True, split: str = "test"):
        """(X standardized, y encoded or None) from a CSV with the training columns; y from
        column `target` (default: the training target) unless with_target is false.
        path None: the `split` rows of the built-in dataset the model was trained on."""
        from ..data import read_csv_features

        if path is None:
            return self.builtin_rows(split)
        target = (target or self.preprocessor.target) if with_target else None
        return read_csv_features(path, self.preprocessor, target=target)

    def builtin_rows(self, split: str = "test"):
        """(X standardized, y) of the built-in dataset the model was trained on: its test
        rows (its training rows when it has none, or for split="train")."""
        from ..data import load_dataset

        name = self.config.get("dataset")
        if not name:
            raise OptionError(
                f"{self.path} was trained on {self.config.get('data')}, "
                "not a built-in dataset: give --data FILE.csv"
            )
        data = load_dataset(name, seed=self.config.get("seed"))
        if split == "test" and len(data.X_test):
            return self.preprocessor.transform(data.X_test), data.y_test
        return self.preprocessor.transform(data.X_train), data.y_train

    def outputs(self, X) -> np.ndarray:
        from ..train.inference import predict

        return predict(self.model, X)

    def labels(self, outputs) -> np.ndarray:
        """Predictions in the original label names (classification) or values (regression)."""
        if self.task == "classification":
            return self.preprocessor.decode_labels(np.argmax(outputs, axis=1))
        return outputs[:, 0] if outputs.ndim == 2 and outputs.shape[1] == 1 else outputs

    def probabilities(self, outputs) -> np.ndarray:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        exp = np.exp(shifted.astype(np.float64))
        return exp / exp.sum(axis=1, keepdims=True)

    def score(self, X, y) -> dict:
        return score(self.model, self.task, X, y)
