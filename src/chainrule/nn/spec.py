"""Model specs: a built-in architecture as a JSON-serialisable dict, and back.

    {"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": 2, "out_features": 8, "bias": true,
                                    "dtype": "float32"}},
        {"type": "ReLU", "args": {}}]}

Model files store this beside the weights, so a model is rebuilt without the user's code and
without running anything from the file: only the classes in LAYERS can be named.
"""

from __future__ import annotations

from ..engine.tensor import ChainruleError
from . import activation, container, conv, dropout, linear, normalization, pooling
from .module import Module


class SpecError(ChainruleError, ValueError):
    """A module cannot be described as a spec, or a spec does not describe a built-in layer."""


_LAYER_MODULES = (linear, container, activation, dropout, normalization, conv, pooling)
# name -> class of every built-in layer a spec may name.
LAYERS: dict[str, type] = {
    cls.__name__: cls
    for source in _LAYER_MODULES
    for cls in vars(source).values()
    if isinstance(cls, type) and issubclass(cls, Module) and cls.__module__ == source.__name__
    and not cls.__name__.startswith("_")  # shared bases such as _ConvNd are not layers
}
_CONTAINERS = {"Sequential", "ModuleList", "Residual"}


def to_spec(module: Module) -> dict:
    """The spec of a model built from built-in layers; SpecError names a custom one."""
    name = type(module).__name__
    if LAYERS.get(name) is not type(module):
        raise SpecError(
            f"to_spec: {type(module).__module__}.{type(module).__qualname__} is not a built-in "
            "layer, so its architecture cannot be stored; save its weights with "
            "cr.save_state_dict and rebuild the model in code")
    spec = {"type": name, "args": dict(getattr(module, "spec_args", dict)())}
    if name == "Residual":
        spec["children"] = [to_spec(module.block)]
    elif name in _CONTAINERS:
        spec["children"] = [to_spec(child) for child in module]
    return spec


def _count(value) -> int:
    """A size argument as an int for counting (anything else counts 0: from_spec rejects it)."""
    if isinstance(value, (list, tuple)):
        total = 1
        for v in value:
            total *= _count(v)
        return total
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def min_state_size(spec) -> int:
    """A lower bound on the number of weights (parameters and buffers) the model a spec
    describes holds, computed without building it: a file that holds fewer cannot fit, so
    cr.load refuses it before allocating what a tampered spec asks for."""
    if not isinstance(spec, dict):
        return 0
    args = spec.get("args") if isinstance(spec.get("args"), dict) else {}
    name = spec.get("type")
    own = 0
    if name == "Linear":
        own = _count(args.get("in_features")) * _count(args.get("out_features"))
    elif name in ("Conv1d", "Conv2d") and isinstance(args.get("groups", 1), int):
        own = (_count(args.get("in_channels")) // max(args.get("groups", 1), 1)
               * _count(args.get("out_channels")) * _count(args.get("kernel_size")))
    elif name in ("BatchNorm1d", "BatchNorm2d") and (
            args.get("affine", True) or args.get("track_running_stats", True)):
        own = _count(args.get("num_features"))
    elif name == "LayerNorm" and args.get("elementwise_affine", True):
        own = _count(args.get("normalized_shape"))
    children = spec.get("children")
    if isinstance(children, list):
        own += sum(min_state_size(child) for child in children)
    return own


def from_spec(spec) -> Module:
    """Rebuild a model from its spec; SpecError names an unknown type or bad arguments."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise SpecError(f"from_spec: expected a dict with a 'type' string, got {spec!r:.200}")
    name = spec["type"]
    cls = LAYERS.get(name)
    if cls is None:
        raise SpecError(f"from_spec: unknown layer type {name!r}; known types: "
                        + ", ".join(sorted(LAYERS)))
    args = spec.get("args", {})
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        raise SpecError(f"from_spec: {name} args must be a dict of names, got {args!r:.200}")
    children = spec.get("children", [])
    if name not in _CONTAINERS and children:
        raise SpecError(f"from_spec: {name} is not a container but the spec lists children")
    if not isinstance(children, list):
        raise SpecError(f"from_spec: {name} children must be a list, got {children!r:.200}")
    built = [from_spec(child) for child in children]
    try:
        if name == "Residual":
            if len(built) != 1:
                raise SpecError(f"from_spec: Residual needs exactly one child, got {len(built)}")
            return cls(built[0], **args)
        if name == "ModuleList":
            return cls(built, **args)
        return cls(*built, **args)
    except (TypeError, ValueError) as err:
        if isinstance(err, SpecError):
            raise
        raise SpecError(f"from_spec: bad arguments for {name}: {args!r:.200}: {err}") from None
