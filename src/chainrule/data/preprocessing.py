"""Preprocessor: standardization of features and encoding of class labels, as plain data.

Fitted on the training rows only (so no statistic leaks from validation or test rows), and
stored with a model as JSON (`to_dict`/`from_dict`) so predict applies the same transform.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import DataError
from .validate import as_array, check_finite, check_n_features

__all__ = ["Preprocessor"]

_FORMAT = "chainrule.preprocessor"
_FIELDS = ("feature_names", "mean", "scale", "task", "target", "classes")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Preprocessor:
    """x ↦ (x − mean) / scale per feature; class label ↦ its index in `classes`.

    scale is the training rows' standard deviation, or 1 for a constant feature.
    classes: the sorted label names (None for regression); label names are numbers when
    every label of the training file was a number, strings otherwise.
    """

    def __init__(self, feature_names, mean, scale, task="regression", target=None,
                 classes=None):
        self.feature_names = [str(name) for name in feature_names]
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.task = task
        self.target = target
        self.classes = None if classes is None else list(classes)
        n = len(self.feature_names)
        if self.mean.shape != (n,) or self.scale.shape != (n,):
            raise DataError(f"preprocessor: {n} feature names but mean has shape "
                            f"{self.mean.shape} and scale {self.scale.shape}")
        self._numeric_classes = self.classes is not None and all(map(_is_number, self.classes))
        self._index = None if self.classes is None else {
            self._key(c): i for i, c in enumerate(self.classes)}

    @classmethod
    def fit(cls, X_train, feature_names, task="regression", target=None, classes=None):
        """Standardization statistics of the training rows X_train."""
        X_train = check_finite(as_array(X_train), "X_train").astype(np.float64)
        scale = X_train.std(axis=0)
        scale[scale == 0] = 1.0  # a constant feature is only centred
        return cls(feature_names, X_train.mean(axis=0), scale, task, target, classes)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, X) -> np.ndarray:
        """Standardized float32 features; X must have the features this was fitted on."""
        X = as_array(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            check_n_features(X, self.n_features)
        check_finite(X, "X")
        return ((X - self.mean) / self.scale).astype(np.float32)

    def _key(self, label):
        """How a label is looked up: by value when the classes are numbers ("1" == 1.0)."""
        if self._numeric_classes:
            try:
                return float(label)
            except (TypeError, ValueError):
                return None
        return str(label).strip()

    def class_index(self, label) -> int | None:
        """The index of `label` among the classes, or None when it is not one of them."""
        if self._index is None:
            raise DataError("this preprocessor has no classes (task is regression)")
        return self._index.get(self._key(label))

    def encode_labels(self, y) -> np.ndarray:
        """Label names -> int64 class indices."""
        codes = []
        for i, label in enumerate(np.asarray(y).ravel().tolist()):
            index = self.class_index(label)
            if index is None:
                raise DataError(f"label {label!r} at y[{i}] is not one of the classes "
                                f"{self.classes}")
            codes.append(index)
        return np.asarray(codes, dtype=np.int64).reshape(np.shape(y))

    def decode_labels(self, indices) -> np.ndarray:
        """Class indices -> label names."""
        if self.classes is None:
            raise DataError("this preprocessor has no classes (task is regression)")
        indices = np.asarray(indices)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.classes)):
            raise DataError(f"class index out of range 0..{len(self.classes) - 1}: "
                            f"{indices.min()}..{indices.max()}")
        return np.asarray(self.classes)[indices]

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data."""
        return {"format": _FORMAT, "version": 1, "feature_names": self.feature_names,
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "task": self.task,
                "target": self.target, "classes": self.classes}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessor":
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(f"not a chainrule preprocessor description: {str(data)[:80]!r}")
        missing = [key for key in _FIELDS if key not in data]
        if missing:
            raise DataError(f"preprocessor description is missing {missing}")
        return cls(**{key: data[key] for key in _FIELDS})

    def __repr__(self):
        return (f"Preprocessor(task={self.task!r}, target={self.target!r}, "
                f"features={self.n_features}, classes={self.classes})")
