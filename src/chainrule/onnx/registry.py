"""CONVERTERS: layer class name -> the function that writes that layer as ONNX nodes.

A converter is `convert(graph, layer, x, scope) -> output name`: `graph` a GraphBuilder, `x`
the input Value, `scope` the layer's dotted name in the model (for tensor names and errors).
Adding a layer to the exporter is one such function and one entry in its module's table.
"""

from __future__ import annotations

from ..nn.spec import LAYERS
from . import conv_layers, layers
from .errors import OnnxExportError

CONVERTERS = {**layers.CONVERTERS, **conv_layers.CONVERTERS}


def describe(layer, scope: str) -> str:
    """`layer 0.block.1 (ReLU)`, or `the model (Linear)` for the root."""
    where = f"layer {scope}" if scope else "the model"
    return f"{where} ({type(layer).__name__})"


def converter_for(layer, scope: str):
    """The converter of `layer`'s class; OnnxExportError naming the layer when it has none."""
    name = type(layer).__name__
    converter = CONVERTERS.get(name)
    if LAYERS.get(name) is not type(layer):
        raise OnnxExportError(
            f"{describe(layer, scope)} cannot be exported to ONNX: "
            f"{type(layer).__module__}.{type(layer).__qualname__} is not a built-in chainrule "
            "layer, and only those have ONNX converters ("
            + ", ".join(sorted(CONVERTERS.keys() & LAYERS.keys()))
            + ")"
        )
    if converter is None:
        raise OnnxExportError(
            f"{describe(layer, scope)} cannot be exported to ONNX: "
            f"there is no ONNX converter for {name}"
        )
    return converter
