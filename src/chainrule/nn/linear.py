"""Linear: the affine map z = W a + b of the texts, with PyTorch's default initialization."""

from __future__ import annotations

import math

from ..engine.backend import xp
from ..engine.tensor import DtypeError
from . import init
from .module import Module, Parameter
from .primitives import linear
from .registry import Bool, FloatDType, Size, register_layer


@register_layer(
    args={"in_features": Size(), "out_features": Size(), "bias": Bool(), "dtype": FloatDType()},
    state_size=lambda a: a["out_features"] * (a["in_features"] + a["bias"]),
)
class Linear(Module):
    """y = x Wᵀ + b for x of shape (..., in_features); weight (out_features, in_features).

    Initialized as PyTorch does: W ~ kaiming_uniform_(a=√5), i.e. U(−1/√in, 1/√in), and
    b ~ U(−1/√in, 1/√in), drawn from the generator `cr.manual_seed` seeds.
    """

    def __init__(self, in_features: int, out_features: int, bias=True, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = xp.float32 if dtype is None else dtype
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(xp.empty(self.out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype != self.weight.dtype:
            # As torch: no silent promotion (a float64 batch into float32 weights would return
            # float64 and train at another precision). cr.fit and cr.predict cast for you.
            raise DtypeError(
                f"Linear: input of dtype {dtype} does not match the layer's "
                f"{self.weight.dtype} weights; cast the input (x.astype(...)) or "
                f"the model (model.to(...), .double(), .float())"
            )
        return linear(x, self.weight, self.bias)

    def spec_args(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
