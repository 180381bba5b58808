"""Activation layers φ of a(ℓ) = φ(z(ℓ)), thin modules over nn.functional."""

from __future__ import annotations

from . import functional as F
from .module import Module
from .registry import Choice, Float, Int, register_layer


@register_layer()
class ReLU(Module):
    """max(z, 0)."""

    def forward(self, x):
        return F.relu(x)


@register_layer(args={"negative_slope": Float()})
class LeakyReLU(Module):
    """z for z > 0, negative_slope·z otherwise."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def spec_args(self) -> dict:
        return {"negative_slope": self.negative_slope}


@register_layer()
class Sigmoid(Module):
    """σ(z) = 1 / (1 + e^(−z))."""

    def forward(self, x):
        return F.sigmoid(x)


@register_layer()
class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


@register_layer(args={"approximate": Choice(("none", "tanh"))})
class GELU(Module):
    """z·Φ(z), Φ the standard normal CDF; approximate='tanh' for the tanh approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def spec_args(self) -> dict:
        return {"approximate": self.approximate}


@register_layer(args={"dim": Int()})
class Softmax(Module):
    """exp(z_i) / Σ_j exp(z_j) along `dim`."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x):
        return F.softmax(x, self.dim)

    def spec_args(self) -> dict:
        return {"dim": self.dim}


@register_layer(args={"dim": Int()})
class LogSoftmax(Softmax):
    """log softmax along `dim`, computed stably in one op."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


@register_layer()
class SiLU(Module):
    """z·σ(z) (also called swish)."""

    def forward(self, x):
        return F.silu(x)


@register_layer()
class Mish(Module):
    """z·tanh(softplus(z))."""

    def forward(self, x):
        return F.mish(x)


@register_layer(args={"alpha": Float()})
class ELU(Module):
    """z for z > 0, alpha·(e^z − 1) otherwise."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)

    def spec_args(self) -> dict:
        return {"alpha": self.alpha}


@register_layer(args={"beta": Float(), "threshold": Float()})
class Softplus(Module):
    """log(1 + e^(beta·z)) / beta, linear where beta·z > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def spec_args(self) -> dict:
        return {"beta": self.beta, "threshold": self.threshold}
