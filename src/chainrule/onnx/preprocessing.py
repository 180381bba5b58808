"""The preprocessing of a `chainrule train` run, as ONNX nodes in front of the model.

One function per preprocessing step, each `step(graph, preprocessor, x) -> Value` mirroring
data.Preprocessor.transform exactly (same dtypes, same order of operations), so ONNX Runtime
on the raw feature columns computes what `chainrule predict` feeds the model. A new step of
the Preprocessor (one-hot encoding, imputation) is one more function in STEPS.
"""

from __future__ import annotations

import numpy as np

from .graph import Value

_FLOAT = 1  # onnx.TensorProto.FLOAT


def standardize(graph, preprocessor, x: Value) -> Value:
    """(x − mean) / scale per feature, in float64 as Preprocessor.transform computes it."""
    mean = graph.constant("preprocess.mean", preprocessor.mean)
    scale = graph.constant("preprocess.scale", preprocessor.scale)
    centred = graph.node("Sub", [x.name, mean], "preprocess/Sub")
    scaled = graph.node("Div", [centred, scale], "preprocess/Div")
    return Value(scaled, (x.example - preprocessor.mean) / preprocessor.scale)


def to_float32(graph, preprocessor, x: Value) -> Value:
    """Preprocessor.transform returns float32 features."""
    cast = graph.node("Cast", [x.name], "preprocess/Cast", to=_FLOAT)
    return Value(cast, x.example.astype(np.float32))


STEPS = (standardize, to_float32)


def preprocess(graph, preprocessor, x: Value) -> Value:
    """x (raw float64 feature columns, in the preprocessor's order) through every step."""
    for step in STEPS:
        x = step(graph, preprocessor, x)
    return x
