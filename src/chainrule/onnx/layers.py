"""ONNX converters of the dense layers: Linear, activations, normalization, containers.

Each is `convert(graph, layer, x, scope) -> output name` (see registry.py); the model is in
eval mode, so Dropout is the identity and BatchNorm uses its running statistics.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import OnnxExportError

GELU_OPSET = 20  # the first opset with a Gelu operator; before it, GELU is spelled out


def _array(parameter):
    return np.asarray(parameter.data)


def _scalar(graph, scope, name, value, like) -> str:
    return graph.constant(f"{scope}.{name}", np.asarray(value, dtype=like.example.dtype))


def linear(graph, layer, x, scope):
    weight = graph.constant(f"{scope}.weight", _array(layer.weight))
    bias = [] if layer.bias is None else [graph.constant(f"{scope}.bias", _array(layer.bias))]
    if len(x.shape) == 2:
        return graph.node("Gemm", [x.name, weight, *bias], f"{scope}/Gemm", transB=1)
    # (..., in) inputs: MatMul with Wᵀ, then the bias broadcast over the leading axes.
    weight_t = graph.constant(f"{scope}.weight_t", _array(layer.weight).T)
    out = graph.node("MatMul", [x.name, weight_t], f"{scope}/MatMul")
    return graph.node("Add", [out, *bias], f"{scope}/Add") if bias else out


def _elementwise(op):
    def convert(graph, layer, x, scope):
        return graph.node(op, [x.name], f"{scope}/{op}")

    convert.__name__ = op.lower()
    return convert


def leaky_relu(graph, layer, x, scope):
    return graph.node(
        "LeakyRelu", [x.name], f"{scope}/LeakyRelu", alpha=float(layer.negative_slope)
    )


def gelu(graph, layer, x, scope):
    if graph.opset >= GELU_OPSET and x.example.dtype == np.float32:  # ORT: no float64 Gelu
        return graph.node("Gelu", [x.name], f"{scope}/Gelu", approximate=layer.approximate)
    half_x = graph.node("Mul", [x.name, _scalar(graph, scope, "half", 0.5, x)], f"{scope}/Mul")
    if layer.approximate == "tanh":  # tanh(√(2/π)·(x + 0.044715·x³))
        cube = graph.node("Pow", [x.name, _scalar(graph, scope, "three", 3.0, x)], f"{scope}/Pow")
        cubic = graph.node("Mul", [cube, _scalar(graph, scope, "k", 0.044715, x)], f"{scope}/Mul")
        inner = graph.node("Add", [x.name, cubic], f"{scope}/Add")
        scaled = graph.node(
            "Mul", [inner, _scalar(graph, scope, "c", math.sqrt(2 / math.pi), x)], f"{scope}/Mul"
        )
        phi = graph.node("Tanh", [scaled], f"{scope}/Tanh")
    else:  # erf(x / √2)
        scaled = graph.node(
            "Div", [x.name, _scalar(graph, scope, "sqrt2", math.sqrt(2), x)], f"{scope}/Div"
        )
        phi = graph.float32_kernel_node("Erf", [scaled], f"{scope}/Erf", x.example.dtype)
    one_plus = graph.node("Add", [phi, _scalar(graph, scope, "one", 1.0, x)], f"{scope}/Add")
    return graph.node("Mul", [half_x, one_plus], f"{scope}/Mul")


def softmax(graph, layer, x, scope):
    op = type(layer).__name__  # Softmax or LogSoftmax, ONNX's names too
    return graph.node(op, [x.name], f"{scope}/{op}", axis=layer.dim)


def identity(graph, layer, x, scope):
    """Identity, and Dropout in eval mode: no node at all."""
    return x.name


def _affine(graph, scope, weight, bias, shape, dtype):
    """The scale and bias inputs of a normalization node (ones and zeros when absent)."""
    scale = np.ones(shape, dtype) if weight is None else _array(weight)
    shift = np.zeros(shape, dtype) if bias is None else _array(bias)
    return graph.constant(f"{scope}.weight", scale), graph.constant(f"{scope}.bias", shift)


def batch_norm(graph, layer, x, scope):
    if layer.running_mean is None:
        raise OnnxExportError(
            f"layer {scope or '(the model)'} ({type(layer).__name__}) cannot be exported to "
            "ONNX: with track_running_stats=False it normalizes by each batch's statistics "
            "even in eval mode, which ONNX's BatchNormalization does not do"
        )
    mean = np.asarray(layer.running_mean)
    scale, shift = _affine(graph, scope, layer.weight, layer.bias, mean.shape, mean.dtype)
    inputs = [
        x.name,
        scale,
        shift,
        graph.constant(f"{scope}.running_mean", mean),
        graph.constant(f"{scope}.running_var", np.asarray(layer.running_var)),
    ]
    return graph.node(
        "BatchNormalization", inputs, f"{scope}/BatchNormalization", epsilon=layer.eps
    )


def layer_norm(graph, layer, x, scope):
    shape = layer.normalized_shape
    scale, shift = _affine(graph, scope, layer.weight, layer.bias, shape, x.example.dtype)
    return graph.node(
        "LayerNormalization",
        [x.name, scale, shift],
        f"{scope}/LayerNormalization",
        axis=-len(shape),
        epsilon=layer.eps,
    )


def flatten(graph, layer, x, scope):
    rank = len(x.shape)
    start, end = layer.start_dim % rank, layer.end_dim % rank
    if start == 1 and end == rank - 1:
        return graph.node("Flatten", [x.name], f"{scope}/Flatten", axis=1)
    # Reshape to the flattened shape; the batch axis is copied (0) or merged (-1).
    merged = int(np.prod(x.shape[start : end + 1]))
    target = [*x.shape[:start], merged, *x.shape[end + 1 :]]
    target[0] = -1 if start == 0 else 0
    shape = graph.constant(f"{scope}.shape", np.asarray(target, np.int64))
    return graph.node("Reshape", [x.name, shape], f"{scope}/Reshape")


def unflatten(graph, layer, x, scope):
    """Reshape one axis into unflattened_size; the batch axis is copied (0)."""
    rank = len(x.shape)
    dim = layer.dim % rank
    if dim == 0:
        raise OnnxExportError(
            f"layer {scope or 'the model'} (Unflatten): the batch axis "
            "cannot be unflattened in a graph with a dynamic batch"
        )
    target = [0, *x.shape[1:dim], *layer.unflattened_size, *x.shape[dim + 1 :]]
    shape = graph.constant(f"{scope}.shape", np.asarray(target, np.int64))
    return graph.node("Reshape", [x.name, shape], f"{scope}/Reshape")


def sequential(graph, layer, x, scope):
    prefix = f"{scope}." if scope else ""
    for index, child in enumerate(layer):
        x = graph.convert(child, x, f"{prefix}{index}")
    return x.name


def residual(graph, layer, x, scope):
    prefix = f"{scope}." if scope else ""
    out = graph.convert(layer.block, x, f"{prefix}block")
    return graph.node("Add", [x.name, out.name], f"{scope or 'residual'}/Add")


def _softplus_of(graph, z, scope, like):
    """log(1 + e^z) as max(z, 0) + log(1 + e^−|z|): no overflow, float64 kernels throughout."""
    decay = graph.node(
        "Exp",
        [graph.node("Neg", [graph.node("Abs", [z], f"{scope}/Abs")], f"{scope}/Neg")],
        f"{scope}/Exp",
    )
    one = _scalar(graph, scope, "one", 1.0, like)
    tail = graph.node("Log", [graph.node("Add", [decay, one], f"{scope}/Add")], f"{scope}/Log")
    return graph.node("Add", [graph.node("Relu", [z], f"{scope}/Relu"), tail], f"{scope}/Add")


def silu(graph, layer, x, scope):
    gate = graph.node("Sigmoid", [x.name], f"{scope}/Sigmoid")
    return graph.node("Mul", [x.name, gate], f"{scope}/Mul")


def mish(graph, layer, x, scope):
    gate = graph.node("Tanh", [_softplus_of(graph, x.name, scope, x)], f"{scope}/Tanh")
    return graph.node("Mul", [x.name, gate], f"{scope}/Mul")


def softplus(graph, layer, x, scope):
    """softplus(β·x)/β, and x itself where β·x > threshold (torch's rule)."""
    scaled = graph.node(
        "Mul", [x.name, _scalar(graph, scope, "beta", layer.beta, x)], f"{scope}/Mul"
    )
    smooth = graph.node(
        "Div",
        [_softplus_of(graph, scaled, scope, x), _scalar(graph, scope, "beta", layer.beta, x)],
        f"{scope}/Div",
    )
    linear_part = graph.node(
        "Greater",
        [scaled, _scalar(graph, scope, "threshold", layer.threshold, x)],
        f"{scope}/Greater",
    )
    return graph.node("Where", [linear_part, x.name, smooth], f"{scope}/Where")


def elu(graph, layer, x, scope):
    """x where x > 0, α·(e^x − 1) elsewhere."""
    positive = graph.node(
        "Greater", [x.name, _scalar(graph, scope, "zero", 0.0, x)], f"{scope}/Greater"
    )
    expm1 = graph.node(
        "Sub",
        [graph.node("Exp", [x.name], f"{scope}/Exp"), _scalar(graph, scope, "one", 1.0, x)],
        f"{scope}/Sub",
    )
    negative = graph.node(
        "Mul", [expm1, _scalar(graph, scope, "alpha", layer.alpha, x)], f"{scope}/Mul"
    )
    return graph.node("Where", [positive, x.name, negative], f"{scope}/Where")


CONVERTERS = {
    "Linear": linear,
    "ReLU": _elementwise("Relu"),
    "Sigmoid": _elementwise("Sigmoid"),
    "Tanh": _elementwise("Tanh"),
    "LeakyReLU": leaky_relu,
    "GELU": gelu,
    "SiLU": silu,
    "Mish": mish,
    "Softplus": softplus,
    "ELU": elu,
    "Softmax": softmax,
    "LogSoftmax": softmax,
    "Dropout": identity,
    "Identity": identity,
    "BatchNorm1d": batch_norm,
    "LayerNorm": layer_norm,
    "Flatten": flatten,
    "Unflatten": unflatten,
    "Sequential": sequential,
    "Residual": residual,
}
