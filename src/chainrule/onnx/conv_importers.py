"""Importers of the convolution and pooling operators: Conv, MaxPool, AveragePool,
GlobalAveragePool -> chainrule's Conv{n}d, MaxPool{n}d, AvgPool{n}d, AdaptiveAvgPool{n}d.

The layers are built with torch.nn's constructor arguments; a version of chainrule without
the layer a node needs raises OnnxImportError naming it.
"""

from __future__ import annotations


def _padding(node, graph, n: int):
    """torch's symmetric `padding` from ONNX's pads (all begins, then all ends)."""
    auto_pad = graph.attribute(node, "auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return [0] * n
    if auto_pad != "NOTSET":
        graph.fail(node, f"auto_pad={auto_pad} has no chainrule equivalent; give explicit pads")
    pads = list(graph.attribute(node, "pads", [0] * 2 * n))
    if pads[:n] != pads[n:]:
        graph.fail(node, f"pads {pads} are not symmetric, which chainrule's layers need")
    return pads[:n]


def _spatial_rank(node, graph) -> int:
    rank = graph.rank(node.input[0])
    if rank not in (3, 4):
        graph.fail(node, f"input of rank {rank}; chainrule has 1-d and 2-d layers (rank 3 or 4)")
    return rank - 2


def conv(node, graph):
    weight = graph.constant(node, 1)
    n = weight.ndim - 2
    groups = graph.attribute(node, "group", 1)
    has_bias = len(node.input) > 2 and bool(node.input[2])
    cls = graph.layer_class(node, f"Conv{n}d")
    layer = cls(
        weight.shape[1] * groups,
        weight.shape[0],
        tuple(weight.shape[2:]),
        stride=tuple(graph.attribute(node, "strides", [1] * n)),
        padding=tuple(_padding(node, graph, n)),
        dilation=tuple(graph.attribute(node, "dilations", [1] * n)),
        groups=groups,
        bias=has_bias,
    ).to(weight.dtype)
    state = {"weight": weight}
    if has_bias:
        state["bias"] = graph.constant(node, 2, ndim=1)
    layer.load_state_dict(state)
    return layer


def _pool_arguments(node, graph, n: int) -> dict:
    kernel = tuple(graph.attribute(node, "kernel_shape", None))
    return {
        "kernel_size": kernel,
        "stride": tuple(graph.attribute(node, "strides", kernel)),
        "padding": tuple(_padding(node, graph, n)),
        "ceil_mode": bool(graph.attribute(node, "ceil_mode", 0)),
    }


def max_pool(node, graph):
    if len([name for name in node.output if name]) > 1:
        graph.fail(node, "its Indices output has no chainrule equivalent")
    n = _spatial_rank(node, graph)
    cls = graph.layer_class(node, f"MaxPool{n}d")
    return cls(
        dilation=tuple(graph.attribute(node, "dilations", [1] * n)),
        **_pool_arguments(node, graph, n),
    )


def average_pool(node, graph):
    n = _spatial_rank(node, graph)
    cls = graph.layer_class(node, f"AvgPool{n}d")
    return cls(
        count_include_pad=bool(graph.attribute(node, "count_include_pad", 0)),
        **_pool_arguments(node, graph, n),
    )


def global_average_pool(node, graph):
    cls = graph.layer_class(node, f"AdaptiveAvgPool{_spatial_rank(node, graph)}d")
    return cls(1)


IMPORTERS = {
    "Conv": conv,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool,
}
