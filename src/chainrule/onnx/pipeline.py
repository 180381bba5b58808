"""A trained run as one ONNX graph: raw feature columns in; outputs, classes and labels out.

Inputs: `features`, float64 (batch, n_features) in the order of the `chainrule.features`
metadata; or, for a table run that imputes or one-hot encodes, one input per column
(columns.py; their names and kinds in the `chainrule.inputs` metadata). Outputs: `output`
(the model's), and for classification `class_index` (int64, the argmax, as `chainrule
predict` takes it), `label` (the class names as strings) and `probabilities` (float64 softmax
of the outputs, `chainrule predict --proba`'s columns).
"""

from __future__ import annotations

import json

import numpy as np

from ..train.inference import model_dtype
from .columns import STRING_OPSET, check_exportable, column_inputs, needs_columns
from .errors import require_onnx
from .export import DEFAULT_OPSET, OUTPUT, model_graph, to_model_proto, write_model
from .graph import GraphBuilder, Value
from .preprocessing import preprocess

__all__ = ["export_pipeline", "pipeline_metadata"]

FEATURES, CLASS_INDEX, LABEL, PROBABILITIES = "features", "class_index", "label", "probabilities"
_DOUBLE = 11  # onnx.TensorProto.DOUBLE


def pipeline_metadata(preprocessor) -> dict:
    """The metadata_props a deployment needs to feed the graph and read its outputs."""
    metadata = {
        "chainrule.features": json.dumps(preprocessor.feature_names),
        "chainrule.task": preprocessor.task,
        "chainrule.target": json.dumps(preprocessor.target),
    }
    if preprocessor.classes is not None:
        metadata["chainrule.classes"] = json.dumps(preprocessor.classes)
    return metadata


def export_pipeline(model, preprocessor, path, opset: int = DEFAULT_OPSET):
    """Write preprocessing + model (+ class decoding) as one ONNX file; returns its proto."""
    metadata = pipeline_metadata(preprocessor)
    if needs_columns(preprocessor):
        check_exportable(preprocessor)
        graph = GraphBuilder(max(opset, STRING_OPSET))
        inputs, raw = column_inputs(graph, preprocessor)
        kinds = [{"name": c.name, "kind": c.kind} for c in preprocessor.columns]
        metadata["chainrule.inputs"] = json.dumps(kinds)
    else:
        graph = GraphBuilder(opset)
        example = np.stack([preprocessor.mean, preprocessor.mean + preprocessor.scale])
        raw = Value(graph.fresh(FEATURES), example)
        inputs = [raw]
    x = preprocess(graph, preprocessor, raw)
    dtype = model_dtype(model)
    if x.example.dtype != dtype:  # predict() casts the features to the model's dtype
        onnx = require_onnx()
        element = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        x = Value(graph.node("Cast", [x.name], "input/Cast", to=element), x.example.astype(dtype))
    y = model_graph(graph, model, x)
    outputs = [(OUTPUT, y)]
    if preprocessor.classes is not None:
        outputs += _class_outputs(graph, preprocessor, y)
    proto = to_model_proto(graph, inputs, outputs, metadata)
    write_model(proto, path)
    return proto


def _class_outputs(graph, preprocessor, y: Value):
    index = graph.node("ArgMax", [y.name], "classes/ArgMax", axis=1, keepdims=0)
    index_example = y.example.argmax(axis=1)
    names = np.array([str(c) for c in preprocessor.classes], dtype=object)
    label = graph.node("Gather", [graph.constant("classes.names", names), index], "classes/Gather")
    double = graph.node("Cast", [y.name], "classes/Cast", to=_DOUBLE)
    probabilities = graph.node("Softmax", [double], "classes/Softmax", axis=1)
    exp = np.exp(y.example - y.example.max(axis=1, keepdims=True)).astype(np.float64)
    return [
        (CLASS_INDEX, Value(index, index_example)),
        (LABEL, Value(label, names[index_example])),
        (PROBABILITIES, Value(probabilities, exp / exp.sum(axis=1, keepdims=True))),
    ]
