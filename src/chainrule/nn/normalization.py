"""BatchNorm1d, BatchNorm2d and LayerNorm, with PyTorch's parameters, buffers and update rules."""

from __future__ import annotations

import math
import numbers

from ..engine.backend import xp
from ..engine.primitive import ShapeError
from . import functional as F
from .module import Module, Parameter
from .registry import Bool, Float, FloatDType, Shape, Size, register_layer


def _float_dtype(dtype):
    return xp.dtype(xp.float32 if dtype is None else dtype)


def _with_dtype(args, array):
    """Constructor arguments plus the dtype of the layer's arrays, when it has any."""
    return args if array is None else {**args, "dtype": str(array.dtype)}


def _batch_norm_size(a: dict) -> int:
    """γ and β when affine (β unless bias=False); mean, var and the batch count when tracking."""
    affine = a["num_features"] * (1 + a["bias"]) if a["affine"] else 0
    return affine + (2 * a["num_features"] + 1 if a["track_running_stats"] else 0)


def _layer_norm_size(a: dict) -> int:
    size = math.prod(a["normalized_shape"])
    return size * (1 + a["bias"]) if a["elementwise_affine"] else 0


@register_layer(
    args={
        "num_features": Size(),
        "eps": Float(0.0),
        "momentum": Float(optional=True),
        "affine": Bool(),
        "track_running_stats": Bool(),
        "dtype": FloatDType(),
        "bias": Bool(),
    },
    state_size=_batch_norm_size,
)
class BatchNorm1d(Module):
    """Per-feature normalization of (N, C) or (N, C, L) inputs by batch statistics.

    Training normalizes with the batch's mean and biased variance and updates running_mean
    and running_var (unbiased) with `momentum` (momentum=None: a cumulative average over
    num_batches_tracked). Eval normalizes with the running statistics, unless
    track_running_stats=False, when batch statistics are always used. Then γ·x̂ + β
    (γ and β when affine; bias=False drops β, as in PyTorch 2.13).
    """

    running_mean: xp.ndarray | None  # a buffer (register_buffer), None without tracking

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        dtype=None,
        *,
        bias=True,
    ):
        super().__init__()
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = _float_dtype(dtype)
        self.weight = Parameter(xp.ones(self.num_features, dtype)) if affine else None
        self.bias = Parameter(xp.zeros(self.num_features, dtype)) if affine and bias else None
        tracking = self.track_running_stats
        self.register_buffer("running_mean", xp.zeros(num_features, dtype) if tracking else None)
        self.register_buffer("running_var", xp.ones(num_features, dtype) if tracking else None)
        self.register_buffer("num_batches_tracked", xp.zeros((), xp.int64) if tracking else None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    input_ranks: tuple[int, ...] = (2, 3)
    input_shapes = "(N, {C}) or (N, {C}, L)"

    def forward(self, x):
        if x.ndim not in self.input_ranks or x.shape[1] != self.num_features:
            wanted = self.input_shapes.format(C=self.num_features)
            raise ShapeError(
                f"{type(self).__name__}({self.num_features}): expected input of "
                f"shape {wanted}, got {x.shape}"
            )
        tracking = self.training and self.track_running_stats
        use_batch_stats = self.training or self.running_mean is None
        update = not self.training or self.track_running_stats
        return F.normalize_batch(
            x,
            self.running_mean if update else None,
            self.running_var if update else None,
            self.weight,
            self.bias,
            use_batch_stats,
            self.momentum,
            self.eps,
            counter=self.num_batches_tracked if tracking else None,
        )

    def spec_args(self) -> dict:
        args = {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "bias": self.bias is not None,
        }
        return _with_dtype(args, self.weight if self.affine else self.running_mean)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


_BATCH_NORM_ARGS = BatchNorm1d.layer_spec.args


@register_layer(args=_BATCH_NORM_ARGS, state_size=_batch_norm_size)
class BatchNorm2d(BatchNorm1d):
    """BatchNorm1d's rule per channel of (N, C, H, W) input, statistics over N, H and W."""

    input_ranks, input_shapes = (4,), "(N, {C}, H, W)"


@register_layer(
    args={
        "normalized_shape": Shape(),
        "eps": Float(0.0),
        "elementwise_affine": Bool(),
        "bias": Bool(),
        "dtype": FloatDType(),
    },
    state_size=_layer_norm_size,
)
class LayerNorm(Module):
    """Normalization over the trailing `normalized_shape` axes of each sample, then γ·x̂ + β."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = _float_dtype(dtype)
        shape = self.normalized_shape
        self.weight = Parameter(xp.ones(shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(xp.zeros(shape, dtype)) if elementwise_affine and bias else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def spec_args(self) -> dict:
        args = {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.bias is not None,
        }
        return _with_dtype(args, self.weight)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
