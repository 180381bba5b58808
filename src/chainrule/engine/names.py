"""The one place where PyTorch's argument names meet NumPy's: dim/axis, keepdim/keepdims.

Every Tensor method and engine function that takes an axis is wrapped with `torch_names`, so
`x.sum(dim=1, keepdim=True)` and `x.sum(axis=1, keepdims=True)` are the same call.
"""

from __future__ import annotations

import functools

ALIASES = {"dim": "axis", "keepdim": "keepdims"}


def torch_names(fn):
    """Accept `dim` for `axis` and `keepdim` for `keepdims` (never both spellings at once)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for torch_name, numpy_name in ALIASES.items():
            if torch_name in kwargs:
                if numpy_name in kwargs:
                    raise TypeError(
                        f"{fn.__name__}() got both {torch_name}= and "
                        f"{numpy_name}=; they are the same argument"
                    )
                kwargs[numpy_name] = kwargs.pop(torch_name)
        return fn(*args, **kwargs)

    return wrapper
