"""chainrule: neural networks trained from first principles on NumPy.

The public API, re-exported. Heavy features (plots, scikit-learn, model files, training) are
imported on first use, so `import chainrule` stays light.
"""

from importlib import import_module

# dtypes under torch's names (they are NumPy's): cr.zeros(3, dtype=cr.float64)
from numpy import float32, float64, int32, int64

from .engine import methods as _methods  # noqa: F401  # binds operators and methods onto Tensor
from .engine.anomaly import AnomalyError, detect_anomaly
from .engine.backend import DeviceError, cuda_available
from .engine.creation import (
    arange,
    from_numpy,
    full,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from .engine.functions import (
    argmax,
    argmin,
    cat,
    chunk,
    cumsum,
    einsum,
    gather,
    logsumexp,
    norm,
    sort,
    split,
    std,
    topk,
    var,
)
from .engine.methods import concatenate, maximum, minimum, stack, where
from .engine.primitive import REGISTRY, OutOfRangeError, ShapeError, primitive
from .engine.random import manual_seed
from .engine.tensor import (
    ChainruleError,
    DtypeError,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    tensor,
)
from .gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"

# name -> module that defines it; resolved on first access.
_LAZY = {
    "nn": "chainrule.nn",
    "random": "chainrule.engine.random",
    "autograd": "chainrule.autograd",
    "compile_step": "chainrule.compile",
    "distributed": "chainrule.distributed",
    "optim": "chainrule.optim",
    "data": "chainrule.data",
    "callbacks": "chainrule.train.callbacks",
    "metrics": "chainrule.train.metrics",
    "viz": "chainrule.viz",
    "sklearn": "chainrule.sklearn",
    "explain": "chainrule.explain",
    "fit": "chainrule.train",
    "predict": "chainrule.train",
    "evaluate": "chainrule.train",
    "History": "chainrule.train",
    "io": "chainrule.io",
    "onnx": "chainrule.onnx",
    "save": "chainrule.io",
    "load_metadata": "chainrule.io",
    "load": "chainrule.io",
    "load_state_dict": "chainrule.io",
    "save_state_dict": "chainrule.io",
}


def __getattr__(name):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
    module = import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DeviceError",
    "cuda_available",
    "AnomalyError",
    "ChainruleError",
    "DtypeError",
    "OutOfRangeError",
    "GradcheckError",
    "REGISTRY",
    "ShapeError",
    "Tensor",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "maximum",
    "minimum",
    "no_grad",
    "primitive",
    "set_grad_enabled",
    "stack",
    "tensor",
    "where",
    "arange",
    "from_numpy",
    "full",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "zeros",
    "zeros_like",
    "float32",
    "float64",
    "int32",
    "int64",
    "argmax",
    "argmin",
    "cat",
    "chunk",
    "cumsum",
    "einsum",
    "gather",
    "logsumexp",
    "norm",
    "sort",
    "split",
    "std",
    "topk",
    "var",
    *_LAZY,
]
