"""Preprocessor: a table's columns to standardized features, and class labels, as plain data.

Fitted on the training rows only (so no statistic leaks from validation or test rows), and
stored with a model as JSON (`to_dict`/`from_dict`, no pickle) so predict, evaluate and
cr.load apply the same transform. Two steps, in this order:
1. encode: each input column in `columns` becomes one or more features (columns.py says how:
   numeric with median fill and a missing indicator, one-hot categories, date parts);
2. standardize: feature i becomes (x_i − mean[i]) / scale[i], then float32.
`feature_names` names the encoded features, in the order of mean and scale.
"""

from __future__ import annotations

import numbers

import numpy as np

from .columns import Column, Where
from .errors import DataError
from .validate import as_array, check_finite, check_n_features

__all__ = ["Preprocessor"]

_FORMAT = "chainrule.preprocessor"
_FIELDS = ("feature_names", "mean", "scale", "task", "target", "classes")
VERSION = 2  # 2 added "columns" and "impute"; a version 1 file has numeric columns only


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _label_key(label):
    """A numeric label as an exact number: int where whole (so 2**53 + 1 stays itself)."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        return int(label)
    text = str(label).strip()
    try:
        return int(text)
    except ValueError:
        value = float(text)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value


class Preprocessor:
    """x ↦ (x − mean) / scale per feature; class label ↦ its index in `classes`.

    scale is the training rows' standard deviation, or 1 for a constant feature.
    classes: the sorted label names (None for regression); label names are numbers when
    every label of the training file was a number, strings otherwise.
    """

    def __init__(
        self,
        feature_names,
        mean,
        scale,
        task="regression",
        target=None,
        classes=None,
        columns=None,
        impute="none",
        target_as_text=False,
    ):
        self.feature_names = [str(name) for name in feature_names]
        self.target_as_text = bool(target_as_text)  # labels read as text (Column.as_text)
        self.columns = (
            [Column(name, "numeric") for name in self.feature_names]
            if columns is None
            else list(columns)
        )
        self.impute = impute
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.task = task
        self.target = target
        self.classes = None if classes is None else list(classes)
        n = len(self.feature_names)
        if self.mean.shape != (n,) or self.scale.shape != (n,):
            raise DataError(
                f"preprocessor: {n} feature names but mean has shape "
                f"{self.mean.shape} and scale {self.scale.shape}"
            )
        encoded = [f for column in self.columns for f in column.feature_names()]
        if encoded != self.feature_names:
            raise DataError(
                f"preprocessor: the columns encode to features {encoded[:6]}..., "
                f"not the feature names {self.feature_names[:6]}..."
            )
        self._numeric_classes = self.classes is not None and all(map(_is_number, self.classes))
        self._index = (
            None if self.classes is None else {self._key(c): i for i, c in enumerate(self.classes)}
        )

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

    def transform_table(self, frame, where: Where | None = None) -> np.ndarray:
        """Standardized float32 features of a table's rows (a DataFrame holding at least the
        fitted columns); `where` names the file and rows in errors (default: the frame's
        index labels)."""
        where = where or Where(None, frame.index.to_numpy())
        missing = [name for name in self.input_columns if name not in frame.columns]
        if missing:
            raise DataError(
                f"missing columns {missing}; the preprocessing reads {self.input_columns}",
                file=where.file,
            )
        parts, start = [], 0
        for column in self.columns:
            features = column.encode(frame[column.name], where, self.impute == "none")
            stop = start + features.shape[1]
            parts.append((features - self.mean[start:stop]) / self.scale[start:stop])
            start = stop
        return (
            np.concatenate(parts, axis=1).astype(np.float32)
            if parts
            else (np.zeros((len(frame), 0), dtype=np.float32))
        )

    @property
    def input_columns(self) -> list[str]:
        return [column.name for column in self.columns]

    def column_summary(self) -> list[dict]:
        """One row per input column: name, kind, missing training cells, categories."""
        return [
            {
                "column": c.name,
                "type": c.kind,
                "missing": c.missing,
                "categories": ", ".join(c.categories + ["<other>"] * c.other) or "-",
            }
            for c in self.columns
        ]

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
                return _label_key(label)
            except (TypeError, ValueError, OverflowError):
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
                raise DataError(
                    f"label {label!r} at y[{i}] is not one of the classes {self.classes}"
                )
            codes.append(index)
        return np.asarray(codes, dtype=np.int64).reshape(np.shape(y))

    def decode_labels(self, indices) -> np.ndarray:
        """Class indices -> label names."""
        if self.classes is None:
            raise DataError("this preprocessor has no classes (task is regression)")
        indices = np.asarray(indices)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.classes)):
            raise DataError(
                f"class index out of range 0..{len(self.classes) - 1}: "
                f"{indices.min()}..{indices.max()}"
            )
        return np.asarray(self.classes)[indices]

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data."""
        return {
            "format": _FORMAT,
            "version": VERSION,
            "feature_names": self.feature_names,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "task": self.task,
            "target": self.target,
            "classes": self.classes,
            "impute": self.impute,
            "columns": [column.to_dict() for column in self.columns],
            "target_as_text": self.target_as_text,
        }

    @classmethod
    def from_model_file(cls, path) -> Preprocessor:
        """The preprocessing stored in a model file written by `chainrule train`, e.g.
        model = cr.load(path); X = Preprocessor.from_model_file(path).transform_table(df)."""
        from ..io import load_metadata

        metadata = load_metadata(path)
        if "preprocessor" not in metadata:
            raise DataError(
                "no preprocessing in this model file's metadata (it was not "
                "written by `chainrule train`)",
                file=path,
            )
        return cls.from_dict(metadata["preprocessor"])

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(f"not a chainrule preprocessor description: {str(data)[:80]!r}")
        missing = [key for key in _FIELDS if key not in data]
        if missing:
            raise DataError(f"preprocessor description is missing {missing}")
        columns = data.get("columns")
        if columns is not None:
            if not isinstance(columns, list):
                raise DataError("preprocessor description: 'columns' must be a list")
            columns = [Column.from_dict(column) for column in columns]
        return cls(
            **{key: data[key] for key in _FIELDS},
            columns=columns,
            impute=data.get("impute", "none"),
            target_as_text=data.get("target_as_text", False),
        )

    def __repr__(self):
        return (
            f"Preprocessor(task={self.task!r}, target={self.target!r}, "
            f"features={self.n_features}, classes={self.classes})"
        )
