"""The converters of the convolution and pooling layers, checked on torch.nn's layers.

They read torch.nn's attribute names and weight shapes, which chainrule's conv layers share;
running them on torch's own layers checks the ONNX attributes against torch's arithmetic
before (and independently of) chainrule's layers. test_onnx_export.py covers chainrule's
layers by name once they exist.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule.onnx import OnnxExportError
from chainrule.onnx.export import to_model_proto, write_model
from chainrule.onnx.graph import GraphBuilder, Value
from chainrule.onnx.registry import CONVERTERS

t = torch.nn

CASES = [
    (lambda: t.Conv1d(3, 4, 3), (3, 10)),
    (lambda: t.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (4, 11)),
    (lambda: t.Conv1d(3, 2, 4, padding="same", bias=False), (3, 9)),
    (lambda: t.Conv2d(3, 5, 3), (3, 8, 8)),
    (lambda: t.Conv2d(4, 4, (3, 2), stride=(2, 1), padding=(1, 0), groups=4), (4, 7, 6)),
    (lambda: t.Conv2d(2, 3, 4, padding="same", dilation=2), (2, 9, 9)),
    (lambda: t.Conv2d(2, 3, 3, padding="valid"), (2, 6, 6)),
    (lambda: t.MaxPool1d(2), (3, 9)),
    (lambda: t.MaxPool2d(2), (3, 8, 8)),
    (lambda: t.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 9, 9)),
    (lambda: t.MaxPool2d(2, dilation=2), (2, 9, 9)),
    (lambda: t.AvgPool1d(3, stride=2), (2, 10)),
    (lambda: t.AvgPool2d(2), (3, 8, 8)),
    (lambda: t.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 9, 9)),
    (lambda: t.AvgPool2d(3, stride=1, padding=1), (2, 6, 6)),
    (lambda: t.AdaptiveAvgPool1d(1), (3, 10)),
    (lambda: t.AdaptiveAvgPool2d(1), (3, 5, 7)),
    (lambda: t.AdaptiveAvgPool2d((2, 3)), (3, 6, 9)),
    (lambda: t.BatchNorm2d(3), (3, 5, 5)),
]


def _convert_torch_layer(layer, shape, dtype, path):
    """Write the ONNX graph of CONVERTERS[layer's class name] applied to `layer`."""
    example = np.random.default_rng(0).normal(size=(2, *shape)).astype(dtype)
    with torch.no_grad():
        out = layer(torch.from_numpy(example)).numpy()
    graph = GraphBuilder(17)
    x = Value(graph.fresh("input"), example)
    name = CONVERTERS[type(layer).__name__](graph, layer, x, "layer")
    write_model(to_model_proto(graph, [x], [("output", Value(name, out))]), path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("build", "shape"), CASES,
                         ids=[f"{i}-{build().__class__.__name__}" for i, (build, _) in
                              enumerate(CASES)])
def test_converter_matches_torch(build, shape, dtype, tmp_path, run_onnx):
    torch.manual_seed(0)
    layer = build().to(torch.float64 if dtype == np.float64 else torch.float32).eval()
    if isinstance(layer, t.BatchNorm2d):
        with torch.no_grad():
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.5, 2)
            layer.weight.uniform_(0.5, 2)
            layer.bias.uniform_(-1, 1)
    _convert_torch_layer(layer, shape, dtype, tmp_path / "m.onnx")
    x = np.random.default_rng(1).normal(size=(5, *shape)).astype(dtype)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).numpy()
    got = run_onnx(tmp_path / "m.onnx", input=x)["output"]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("layer", "message"), [
    (t.Conv2d(2, 2, 3, padding_mode="reflect"), "padding_mode 'reflect'"),
    (t.AvgPool2d(2, divisor_override=3), "divisor_override"),
    (t.AdaptiveAvgPool2d(4), r"output size \[4, 4\] does not divide"),
])
def test_what_onnx_cannot_express_is_named(layer, message, tmp_path):
    with pytest.raises(OnnxExportError, match=message):
        _convert_torch_layer(layer, (2, 6, 6), np.float32, tmp_path / "m.onnx")
