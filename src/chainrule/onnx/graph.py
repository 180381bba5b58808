"""GraphBuilder: the nodes and initializers of an ONNX graph as the exporter writes them.

Every tensor in the graph is a Value: its name and what it holds for the example input, so
a converter knows the shapes it works on (a Flatten's sizes, a Conv's spatial size) without
shape inference. Converters (layers.py, conv_layers.py) add nodes through `node` and
constants through `constant`, and convert their children through `convert`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..engine.tensor import Tensor, no_grad
from .errors import require_onnx
from .registry import converter_for

FLOAT, DOUBLE = 1, 11  # onnx.TensorProto's codes (the onnx package is imported lazily)


@dataclass(frozen=True)
class Value:
    """A tensor of the graph: its name and its value for the example input."""

    name: str
    example: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.example.shape


class GraphBuilder:
    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list = []  # onnx NodeProto
        self.initializers: list = []  # onnx TensorProto
        self._used: Counter[str] = Counter()

    def fresh(self, hint: str) -> str:
        """A tensor name not used before in this graph, built from `hint`."""
        self._used[hint] += 1
        count = self._used[hint]
        return hint if count == 1 else f"{hint}_{count - 1}"

    def constant(self, hint: str, array) -> str:
        """An initializer holding `array` (its dtype kept); returns its name."""
        onnx = require_onnx()
        name = self.fresh(hint)
        array = np.ascontiguousarray(array)
        self.initializers.append(onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs, hint: str, **attributes) -> str:
        """A node of operator `op` with one output; returns the output's name."""
        onnx = require_onnx()
        output = self.fresh(hint)
        self.nodes.append(
            onnx.helper.make_node(op, list(inputs), [output], name=output, **attributes)
        )
        return output

    def float32_kernel_node(self, op: str, inputs, hint: str, dtype, **attributes) -> str:
        """A node of `op`, whose data has `dtype`; on float64 data it runs in float32 between
        Casts.

        NOTE: ONNX Runtime has no float64 kernels for Conv, AveragePool, GlobalAveragePool
        and Erf, so a float64 model computes those ops in float32 (relative error ~1e-7)."""
        if dtype != np.float64:
            return self.node(op, inputs, hint, **attributes)
        singles = [self.node("Cast", [name], f"{hint}/Cast", to=FLOAT) for name in inputs]
        return self.node(
            "Cast", [self.node(op, singles, hint, **attributes)], f"{hint}/Cast", to=DOUBLE
        )

    def convert(self, layer, x: Value, scope: str) -> Value:
        """Add `layer` (named `scope` in the model) applied to x; returns its output.

        The converter comes from the registry; the example output is computed by the layer
        itself (the model is in eval mode, under no_grad)."""
        converter = converter_for(layer, scope)
        with no_grad():
            example = layer(Tensor(x.example)).data
        return Value(converter(self, layer, x, scope), example)
