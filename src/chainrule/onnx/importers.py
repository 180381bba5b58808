"""IMPORTERS: ONNX operator -> the function that turns one node into a chainrule layer.

An importer is `build(node, graph) -> Module | None`: `graph` (load.py's OnnxGraph) gives the
node's constant inputs, attributes and tensor shapes. None means the node adds no layer (an
Identity, or a bias Add folded into the Linear before it). Only arrays and attributes are
read from the file; nothing in it is executed.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from . import conv_importers


def _linear(weight, bias):
    """A Linear holding weight (out, in) and bias (out,) or None, in the weight's dtype."""
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, bias=bias is not None, dtype=weight.dtype)
    state = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    layer.load_state_dict(state)
    return layer


def gemm(node, graph):
    """Gemm(A, B, C) = alpha·A·op(B) + beta·C with a constant B: a Linear."""
    if graph.attribute(node, "transA", 0):
        graph.fail(node, "transA=1 (a transposed input) has no chainrule layer")
    matrix = graph.constant(node, 1, ndim=2)
    weight = matrix if graph.attribute(node, "transB", 0) else matrix.T
    weight = weight * np.asarray(graph.attribute(node, "alpha", 1.0), weight.dtype)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = graph.constant(node, 2) * np.asarray(
            graph.attribute(node, "beta", 1.0), weight.dtype
        )
        bias = graph.broadcast_bias(node, bias, weight.shape[0])
    return _linear(weight, bias)


def matmul(node, graph):
    """MatMul(A, B) with a constant B of shape (in, out): a Linear without bias (an Add of a
    constant after it becomes the bias)."""
    return _linear(graph.constant(node, 1, ndim=2).T, None)


def add_bias(node, graph):
    """Add(x, constant) right after a MatMul: the Linear's bias."""
    last = graph.last_layer
    if not isinstance(last, nn.Linear) or last.bias is not None:
        graph.fail(node, "an Add of a constant is supported only as the bias after a MatMul")
    index = 1 if node.input[1] in graph.constants else 0
    bias = graph.broadcast_bias(node, graph.constant(node, index), last.out_features)
    graph.replace_last(_linear(last.weight.data, bias.astype(last.weight.data.dtype)))


def _plain(layer_class):
    def build(node, graph):
        return layer_class()

    return build


def leaky_relu(node, graph):
    return nn.LeakyReLU(graph.attribute(node, "alpha", 0.01))


def gelu(node, graph):
    return nn.GELU(graph.attribute(node, "approximate", "none"))


def _softmax(layer_class):
    def build(node, graph):
        if graph.opset < 13:  # before opset 13 the input was coerced to 2-D around `axis`
            graph.fail(
                node,
                f"opset {graph.opset} {node.op_type} (before 13) has other "
                "semantics than chainrule's; re-export with opset 13 or later",
            )
        return layer_class(dim=graph.attribute(node, "axis", -1))

    return build


def identity(node, graph):
    return None


def batch_normalization(node, graph):
    if graph.attribute(node, "training_mode", 0) or len(node.output) > 1:
        graph.fail(node, "only inference-mode BatchNormalization (one output) is supported")
    scale, shift, mean, var = (graph.constant(node, i, ndim=1) for i in range(1, 5))
    rank = graph.rank(node.input[0])
    name = "BatchNorm1d" if rank in (2, 3, None) else f"BatchNorm{rank - 2}d"
    cls = graph.layer_class(node, name)
    layer = cls(len(scale), eps=graph.attribute(node, "epsilon", 1e-5)).to(scale.dtype)
    layer.load_state_dict(
        {
            "weight": scale,
            "bias": shift,
            "running_mean": mean,
            "running_var": var,
            "num_batches_tracked": np.zeros((), np.int64),
        }
    )
    return layer


def layer_normalization(node, graph):
    if any(node.output[1:]):
        graph.fail(node, "its Mean and InvStdDev outputs have no chainrule equivalent")
    scale = graph.constant(node, 1)
    axis = graph.attribute(node, "axis", -1)
    rank = graph.rank(node.input[0])
    if axis != -scale.ndim and (rank is None or axis != rank - scale.ndim):
        graph.fail(
            node,
            f"axis {axis} does not normalize the trailing {scale.ndim} axes "
            f"that its scale of shape {scale.shape} covers",
        )
    has_bias = len(node.input) > 2 and bool(node.input[2])
    layer = nn.LayerNorm(
        scale.shape, eps=graph.attribute(node, "epsilon", 1e-5), bias=has_bias, dtype=scale.dtype
    )
    state = {"weight": scale}
    if has_bias:
        state["bias"] = graph.constant(node, 2)
    layer.load_state_dict(state)
    return layer


def flatten(node, graph):
    if graph.attribute(node, "axis", 1) != 1:
        graph.fail(node, "only axis=1 (keep the batch axis, merge the rest) is supported")
    return nn.Flatten()


def reshape(node, graph):
    """Reshape that merges consecutive axes (keeping the rest): a Flatten(start, end)."""
    shape = graph.shape(node.input[0])
    target = graph.constant(node, 1, ndim=1).tolist()
    if shape is None or graph.attribute(node, "allowzero", 0):
        graph.fail(node, "only a Reshape of known input shape that merges axes is supported")
    wanted = [
        shape[i] if size == 0 else (None if size == -1 else size) for i, size in enumerate(target)
    ]
    for start in range(len(shape)):
        for end in range(start + 1, len(shape)):
            sizes = shape[start : end + 1]
            merged = None if None in sizes else int(np.prod(sizes))
            if wanted == [*shape[:start], merged, *shape[end + 1 :]]:
                return nn.Flatten(start, end)
    graph.fail(
        node,
        f"a Reshape of {shape} to {target} (None: the batch axis) does not "
        "merge consecutive axes, so it is no Flatten",
    )


IMPORTERS = {
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add_bias,
    "Relu": _plain(nn.ReLU),
    "Tanh": _plain(nn.Tanh),
    "Sigmoid": _plain(nn.Sigmoid),
    "LeakyRelu": leaky_relu,
    "Gelu": gelu,
    "Softmax": _softmax(nn.Softmax),
    "LogSoftmax": _softmax(nn.LogSoftmax),
    "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "Flatten": flatten,
    "Reshape": reshape,
    "Identity": identity,
    "Dropout": identity,
    **conv_importers.IMPORTERS,
}
