"""cr.onnx.export(model, example_input, path): a chainrule model as an ONNX file.

The graph has one input, `input`, whose first (batch) axis is dynamic, and one output,
`output`; the tensors have the model's dtype (float32 or float64). Each layer is written by
its converter (registry.py). The file passes onnx.checker and is written atomically.
"""

from __future__ import annotations

import os

import numpy as np

from ..atomic import atomic_write_bytes
from ..nn.module import Module
from ..train.inference import model_dtype
from .errors import OnnxExportError, require_onnx
from .graph import GraphBuilder, Value

__all__ = ["DEFAULT_OPSET", "export", "model_graph", "to_model_proto", "write_model"]

DEFAULT_OPSET = 17  # ONNX Runtime and every recent exporter read it; Gelu needs 20
INPUT, OUTPUT = "input", "output"
BATCH = "batch"


def export(model, example_input, path, opset: int = DEFAULT_OPSET, metadata=None):
    """Write `model` as an ONNX file at `path`; example_input is a batch of inputs (any batch
    size: the exported batch axis is dynamic). `metadata`: str -> str pairs stored in the
    file's metadata_props. Returns the onnx.ModelProto written."""
    if not isinstance(model, Module):
        raise OnnxExportError(
            f"export: model must be a chainrule Module, got {type(model).__name__}"
        )
    opset = _check_opset(opset)
    example = np.asarray(getattr(example_input, "data", example_input))
    if example.ndim < 1 or example.dtype.kind not in "fiu":
        raise OnnxExportError(
            f"example_input must be a numeric batch of inputs, got an "
            f"array of dtype {example.dtype} and shape {example.shape}"
        )
    graph = GraphBuilder(opset)
    x = Value(graph.fresh(INPUT), example.astype(_input_dtype(model, example)))
    y = model_graph(graph, model, x)
    proto = to_model_proto(graph, [x], [(OUTPUT, y)], metadata)
    write_model(proto, path)
    return proto


def _input_dtype(model, example):
    """The model's dtype (as predict casts inputs to); the example's for a model without
    weights (an activation alone)."""
    if any(True for _ in model.parameters()) or example.dtype not in (np.float32, np.float64):
        return model_dtype(model)
    return example.dtype


def _check_opset(opset) -> int:
    onnx = require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, (int, np.integer)) or not 17 <= opset <= newest:
        raise OnnxExportError(f"opset must be an int from 17 to {newest}, got {opset!r}")
    return int(opset)


def model_graph(graph: GraphBuilder, model, x: Value) -> Value:
    """Add the model's layers applied to x (in eval mode; the mode is restored after)."""
    was_training = model.training
    model.eval()
    try:
        return graph.convert(model, x, "")
    finally:
        model.train(was_training)


def _value_info(name: str, example: np.ndarray):
    onnx = require_onnx()
    element = onnx.helper.np_dtype_to_tensor_dtype(example.dtype)
    return onnx.helper.make_tensor_value_info(name, element, [BATCH, *example.shape[1:]])


def to_model_proto(graph: GraphBuilder, inputs, outputs, metadata=None):
    """The checked ModelProto of `graph`: `inputs` are Values, `outputs` (name, Value) pairs
    (each becomes an Identity node of that name); metadata str -> str pairs."""
    onnx = require_onnx()
    from .. import __version__

    for name, value in outputs:
        graph.node("Identity", [value.name], name)
    body = onnx.helper.make_graph(
        graph.nodes,
        "chainrule",
        [_value_info(x.name, x.example) for x in inputs],
        [_value_info(name, value.example) for name, value in outputs],
        graph.initializers,
    )
    proto = onnx.helper.make_model_gen_version(
        body,
        opset_imports=[onnx.helper.make_opsetid("", graph.opset)],
        producer_name="chainrule",
        producer_version=__version__,
    )
    for key, value in (metadata or {}).items():
        proto.metadata_props.add(key=str(key), value=str(value))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as error:
        raise OnnxExportError(f"the exported graph fails onnx.checker: {error}") from None
    return proto


def write_model(proto, path) -> None:
    """Write the ModelProto to `path` atomically (no half-written file on failure)."""
    try:
        atomic_write_bytes(path, proto.SerializeToString())
    except OSError as error:
        raise OnnxExportError(
            f"{os.fspath(path)}: cannot write the file ({error.strerror or error})"
        ) from None
