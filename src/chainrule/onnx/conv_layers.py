"""ONNX converters of the convolution and pooling layers (attributes as torch.nn's).

Written against torch.nn's attribute names and weight shapes (Conv2d.weight is
(out, in / groups, kH, kW); stride, padding, dilation ints or tuples), so each layer class
that carries them is exported by the entry of its name in CONVERTERS below.
"""

from __future__ import annotations

import numpy as np

from .errors import OnnxExportError
from .layers import batch_norm


def _sizes(value, n: int) -> list[int]:
    """An int or a tuple of n ints as a list of n ints."""
    if isinstance(value, (int, np.integer)):
        return [int(value)] * n
    return [int(v) for v in value]


def _pads(layer, scope, kernel, dilation, n) -> list[int]:
    """ONNX's pads (all begins, then all ends) for torch's `padding`."""
    padding = getattr(layer, "padding", 0)
    if padding == "valid":
        return [0] * 2 * n
    if padding == "same":  # torch pads d·(k − 1) in total, the odd one at the end
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    if isinstance(padding, str):
        raise OnnxExportError(
            f"layer {scope} ({type(layer).__name__}): padding {padding!r} has no ONNX equivalent"
        )
    return _sizes(padding, n) * 2


def _spatial(x) -> int:
    return len(x.shape) - 2


def conv(graph, layer, x, scope):
    n = _spatial(x)
    if getattr(layer, "padding_mode", "zeros") != "zeros":
        raise OnnxExportError(
            f"layer {scope} ({type(layer).__name__}): padding_mode "
            f"{layer.padding_mode!r} cannot be exported (only 'zeros')"
        )
    weight = np.asarray(layer.weight.data)
    kernel = list(weight.shape[2:])
    dilation = _sizes(getattr(layer, "dilation", 1), n)
    inputs = [x.name, graph.constant(f"{scope}.weight", weight)]
    if layer.bias is not None:
        inputs.append(graph.constant(f"{scope}.bias", np.asarray(layer.bias.data)))
    return graph.float32_kernel_node(
        "Conv",
        inputs,
        f"{scope}/Conv",
        x.example.dtype,
        kernel_shape=kernel,
        strides=_sizes(getattr(layer, "stride", 1), n),
        dilations=dilation,
        pads=_pads(layer, scope, kernel, dilation, n),
        group=int(getattr(layer, "groups", 1)),
    )


def _pool_attributes(layer, scope, x) -> dict:
    n = _spatial(x)
    kernel = _sizes(layer.kernel_size, n)
    stride = getattr(layer, "stride", None)
    return {
        "kernel_shape": kernel,
        "strides": _sizes(stride or kernel, n),
        "pads": _pads(layer, scope, kernel, [1] * n, n),
        "ceil_mode": int(bool(getattr(layer, "ceil_mode", False))),
    }


def max_pool(graph, layer, x, scope):
    attributes = _pool_attributes(layer, scope, x)
    attributes["dilations"] = _sizes(getattr(layer, "dilation", 1), _spatial(x))
    return graph.node("MaxPool", [x.name], f"{scope}/MaxPool", **attributes)


def avg_pool(graph, layer, x, scope):
    if getattr(layer, "divisor_override", None) is not None:
        raise OnnxExportError(
            f"layer {scope} ({type(layer).__name__}): divisor_override has no ONNX equivalent"
        )
    include_pad = int(bool(getattr(layer, "count_include_pad", True)))
    return graph.float32_kernel_node(
        "AveragePool",
        [x.name],
        f"{scope}/AveragePool",
        x.example.dtype,
        count_include_pad=include_pad,
        **_pool_attributes(layer, scope, x),
    )


def adaptive_avg_pool(graph, layer, x, scope):
    """GlobalAveragePool for output size 1; AveragePool where the sizes divide evenly."""
    size_in = list(x.shape[2:])
    size_out = [
        s if o is None else o for s, o in zip(size_in, _sizes(layer.output_size, len(size_in)))
    ]
    if all(o == 1 for o in size_out):
        return graph.float32_kernel_node(
            "GlobalAveragePool", [x.name], f"{scope}/GlobalAveragePool", x.example.dtype
        )
    if any(s % o for s, o in zip(size_in, size_out)):
        raise OnnxExportError(
            f"layer {scope} ({type(layer).__name__}): output size {size_out} does not divide "
            f"the input's {size_in}, so its uneven windows have no ONNX operator"
        )
    kernel = [s // o for s, o in zip(size_in, size_out)]
    return graph.float32_kernel_node(
        "AveragePool",
        [x.name],
        f"{scope}/AveragePool",
        x.example.dtype,
        kernel_shape=kernel,
        strides=kernel,
    )


CONVERTERS = {
    "Conv1d": conv,
    "Conv2d": conv,
    "MaxPool1d": max_pool,
    "MaxPool2d": max_pool,
    "AvgPool1d": avg_pool,
    "AvgPool2d": avg_pool,
    "AdaptiveAvgPool1d": adaptive_avg_pool,
    "AdaptiveAvgPool2d": adaptive_avg_pool,
    "BatchNorm2d": batch_norm,
}
