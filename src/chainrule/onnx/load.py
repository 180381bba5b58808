"""cr.onnx.load(path): a chainrule model from an ONNX graph of layers applied in a chain.

The graph must be a chain from its one input to its one output (each node reads the output
of the one before), with residual Adds (x + f(x)) allowed; each node becomes a layer through
IMPORTERS, and GELU written out in arithmetic (before opset 20) is recognized first
(gelu_pattern.py). Weights come from initializers and Constant nodes. The file is parsed and
checked with onnx.checker; nothing in it is executed, and a damaged file, an operator
without an importer or a graph of another shape raises OnnxImportError naming the file.
"""

from __future__ import annotations

import os
from typing import cast

import numpy as np

from .. import nn
from ..engine.primitive import ShapeError
from ..engine.tensor import ChainruleError, Tensor, no_grad
from ..train.inference import model_dtype
from .errors import OnnxImportError, require_onnx
from .gelu_pattern import fuse_gelu
from .importers import IMPORTERS

__all__ = ["load"]


def load(path) -> nn.Module:
    """The model an ONNX file describes, as a chainrule Sequential in eval mode."""
    onnx = require_onnx()
    proto = read_model(path)
    graph = OnnxGraph(path, proto)
    for node in proto.graph.node:  # first, as the GELU pattern reads constants
        if node.op_type == "Constant":
            graph.add_constant(node)
    chain = [node for node in proto.graph.node if node.op_type != "Constant"]
    for node in fuse_gelu(chain, graph.constants, onnx.helper.make_node):
        graph.add(node)
    return graph.finish(proto.graph)


def read_model(path):
    """The file's checked ModelProto; OnnxImportError when it is missing or damaged."""
    onnx = require_onnx()
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise OnnxImportError(path, f"cannot read the file ({error.strerror or error})") from None
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise OnnxImportError(
            path, f"not an ONNX model: the protobuf does not parse ({error})"
        ) from None
    if not proto.graph.node and not proto.graph.output:
        raise OnnxImportError(path, f"not an ONNX model: no graph in its {len(data)} bytes")
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise OnnxImportError(path, f"damaged ONNX model: onnx.checker says {first}") from None
    return proto


class OnnxGraph:
    """The chain being read: its constants, the layers so far, and where each tensor is."""

    def __init__(self, path, proto):
        onnx = require_onnx()
        self.path = os.fspath(path)
        self.opset = next(
            (o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None
        )
        self.constants = {init.name: self._array(init) for init in proto.graph.initializer}
        self.shapes = _shapes(onnx, proto)
        inputs = [v.name for v in proto.graph.input if v.name not in self.constants]
        if len(inputs) != 1:
            raise OnnxImportError(
                path,
                f"the graph has {len(inputs)} inputs {inputs}; "
                "cr.onnx.load reads graphs of one input",
            )
        self.layers = []
        # tensor name -> how many layers of the chain have been applied to produce it
        self.position = {inputs[0]: 0}

    def _array(self, tensor):
        onnx = require_onnx()
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise OnnxImportError(
                self.path,
                f"tensor {tensor.name!r} is stored in an "
                "external file; cr.onnx.load reads self-contained models",
            )
        try:  # fails on bytes that do not fit the shape, or an unknown element type
            return onnx.numpy_helper.to_array(tensor)
        except (ValueError, KeyError, TypeError) as error:
            raise OnnxImportError(
                self.path, f"tensor {tensor.name!r} is damaged ({error})"
            ) from None

    # --- what importers ask -----------------------------------------------------------
    def fail(self, node, problem: str):
        raise OnnxImportError(
            self.path, f"node {node.name or node.output[0]!r} ({node.op_type}): {problem}"
        )

    def attribute(self, node, name: str, default):
        onnx = require_onnx()
        for attribute in node.attribute:
            if attribute.name == name:
                value = onnx.helper.get_attribute_value(attribute)
                if isinstance(value, float):  # stored as float32: its shortest decimal
                    return float(str(np.float32(value)))
                return value.decode() if isinstance(value, bytes) else value
        return default

    def constant(self, node, index: int, ndim: int | None = None) -> np.ndarray:
        """The node's input `index`, which must be a constant (of `ndim` axes)."""
        name = node.input[index] if index < len(node.input) else ""
        if name not in self.constants:
            self.fail(
                node,
                f"input {index} ({name or 'absent'}) must be a constant "
                "(an initializer): only layers with stored weights can be read",
            )
        array = self.constants[name]
        if ndim is not None and array.ndim != ndim:
            self.fail(node, f"input {index} has shape {array.shape}; expected {ndim} axes")
        if array.dtype.kind == "f" and array.dtype not in (np.float32, np.float64):
            self.fail(
                node, f"input {index} is {array.dtype}; chainrule layers hold float32 or float64"
            )
        return array

    def broadcast_bias(self, node, bias, n: int) -> np.ndarray:
        if bias.size not in (1, n) or bias.ndim > 2:
            self.fail(node, f"bias of shape {bias.shape} does not fit {n} outputs")
        return np.broadcast_to(bias.reshape(-1), (n,)).copy()

    def shape(self, name: str):
        """The tensor's sizes (None where unknown, as the batch axis), or None."""
        return self.shapes.get(name)

    def rank(self, name: str):
        shape = self.shapes.get(name)
        return None if shape is None else len(shape)

    def layer_class(self, node, name: str):
        cls = nn.LAYERS.get(name)
        if cls is None:
            self.fail(node, f"needs chainrule's {name} layer, which this version lacks")
        return cls

    @property
    def last_layer(self):
        return self.layers[-1] if self.layers else None

    def replace_last(self, layer) -> None:
        self.layers[-1] = layer

    # --- the chain ----------------------------------------------------------------------
    def add(self, node) -> None:
        if node.domain not in ("", "ai.onnx"):
            self.fail(node, f"operator domain {node.domain!r} is not ONNX's own")
        data = [name for name in node.input if name and name not in self.constants]
        if node.op_type == "Identity" and not data:  # torch names shared weights this way
            self.constants[node.output[0]] = self.constants[node.input[0]]
            return
        if node.op_type == "Add" and len(data) == 2:
            self._residual(node, data)
            return
        if node.op_type not in IMPORTERS:
            self.fail(
                node,
                "operator not supported by cr.onnx.load (supported: "
                + ", ".join(sorted(IMPORTERS))
                + ")",
            )
        if len(data) != 1 or self.position.get(data[0]) != len(self.layers):
            self.fail(
                node,
                f"reads {data}, not the output of the layer before it; "
                "cr.onnx.load reads chains of layers (with residual Adds)",
            )
        try:  # weights or attributes that do not fit each other fail in the layer
            layer = IMPORTERS[node.op_type](node, self)
        except OnnxImportError:
            raise
        except (ChainruleError, ValueError, TypeError) as error:
            self.fail(node, f"cannot build its layer: {error}")
        if layer is not None:
            self.layers.append(layer)
        self.position[node.output[0]] = len(self.layers)

    def add_constant(self, node) -> None:
        """A Constant node's value, as an initializer's."""
        values = [a for a in node.attribute if a.name == "value"]
        if len(values) != 1 or len(node.attribute) != 1:
            self.fail(node, "only Constant nodes with a `value` tensor are supported")
        self.constants[node.output[0]] = self._array(values[0].t)

    def _residual(self, node, data) -> None:
        """Add(x, f(x)): the layers since x become Residual(f)."""
        here = len(self.layers)
        where = sorted(self.position.get(name, -1) for name in data)
        if where[1] != here or not 0 <= where[0] < here:
            self.fail(
                node,
                f"adds {data}: only x + f(x), a skip connection around the "
                "layers just read, is supported",
            )
        start = where[0]
        block = self.layers[start:]
        self.layers[start:] = [nn.Residual(block[0] if len(block) == 1 else nn.Sequential(*block))]
        self.position = {k: p for k, p in self.position.items() if p <= start}
        self.position[node.output[0]] = start + 1

    def finish(self, graph) -> nn.Module:
        outputs = [v.name for v in graph.output]
        if len(outputs) != 1 or self.position.get(outputs[0]) != len(self.layers):
            raise OnnxImportError(
                self.path,
                f"the graph's outputs {outputs} are not the end "
                "of its chain of layers; cr.onnx.load reads graphs of one "
                "output",
            )
        model = nn.Sequential(*self.layers).eval()
        self._check_shapes(model, graph)
        return model

    def _check_shapes(self, model, graph) -> None:
        """Run the model on one zero row of the graph's input shape (when its sizes are
        known): weights of sizes that do not fit each other fail here, not at predict."""
        dims = [
            d.dim_value if d.HasField("dim_value") else None
            for d in graph.input[0].type.tensor_type.shape.dim
        ][1:]
        if any(d is None or d <= 0 for d in dims) or np.prod(cast(list[int], dims)) > 10_000_000:
            return
        dtype = model_dtype(model)
        try:
            with no_grad():
                model(Tensor(np.zeros((1, *dims), dtype)))
        except (ShapeError, ValueError) as error:
            raise OnnxImportError(
                self.path,
                f"its layers do not fit an input of shape "
                f"(batch, {', '.join(map(str, dims))}): {error}",
            ) from None


def _shapes(onnx, proto) -> dict:
    """tensor name -> its sizes (None where unknown), where shape inference knows them."""
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError):
        # the shapes only help BatchNorm, pooling and Reshape pick a layer; not a requirement
        inferred = proto
    shapes = {}
    graph = inferred.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        tensor_type = value.type.tensor_type
        if tensor_type.HasField("shape"):
            shapes[value.name] = tuple(
                d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim
            )
    return shapes
