"""Model specs: a built-in architecture as a JSON-serialisable dict, and back.

    {"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": 2, "out_features": 8, "bias": true,
                                    "dtype": "float32"}},
        {"type": "ReLU", "args": {}}]}

Model files store this beside the weights, so a model is rebuilt without the user's code and
without running anything from the file: only the classes in LAYERS can be named (each layer
file registers its classes with @register_layer; chainrule.nn imports them all), and each
one's arguments are checked against the types its class declares (nn/registry.py) before
anything is built, so a spec from a hostile file is refused, sized and limited up front.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.tensor import ChainruleError
from .module import Module
from .registry import LAYERS, LayerSpec

__all__ = [
    "LAYERS",
    "MAX_DEPTH",
    "MAX_LAYERS",
    "MAX_SPEC_BYTES",
    "ParsedSpec",
    "SpecError",
    "from_spec",
    "parse_spec",
    "state_size",
    "to_spec",
]

MAX_DEPTH = 100  # nesting of containers
MAX_LAYERS = 10_000  # layers in one model (a ResNet-152 has about 500 modules)
MAX_SPEC_BYTES = 400 * MAX_LAYERS  # a spec's JSON text, refused before it is parsed


class SpecError(ChainruleError, ValueError):
    """A module cannot be described as a spec, or a spec does not describe a built-in layer."""


def to_spec(module: Module) -> dict:
    """The spec of a model built from built-in layers; SpecError names a custom one."""
    cls = type(module)
    if LAYERS.get(cls.__name__) is not cls:
        raise SpecError(
            f"to_spec: {cls.__module__}.{cls.__qualname__} is not a built-in "
            "layer, so its architecture cannot be stored; save its weights with "
            "cr.save_state_dict and rebuild the model in code"
        )
    spec = {"type": cls.__name__, "args": dict(getattr(module, "spec_args", dict)())}
    if cls.layer_spec.children[1] != 0:
        spec["children"] = [to_spec(child) for child in module.children()]
    return spec


@dataclass
class ParsedSpec:
    """A checked spec: a registered layer, its complete arguments and its checked children."""

    layer: LayerSpec
    args: dict
    children: list[ParsedSpec]

    def state_size(self) -> int:
        """How many weights (parameters and buffers) the model holds."""
        return self.layer.state_size(self.args) + sum(c.state_size() for c in self.children)

    def build(self) -> Module:
        children = [child.build() for child in self.children]
        return self.layer.build(self.layer.cls, dict(self.args), children)


def parse_spec(spec) -> ParsedSpec:
    """Check a whole spec against the registry without building anything."""
    return _parse(spec, "the root", 0, [1])


def state_size(spec) -> int:
    """The number of weights the model a spec describes holds, computed without building it."""
    return parse_spec(spec).state_size()


def from_spec(spec) -> Module:
    """Rebuild a model from its spec; SpecError names an unknown type or bad arguments."""
    parsed = parse_spec(spec)
    try:
        return parsed.build()
    except (TypeError, ValueError) as err:  # a layer's own check beyond the declared types
        if isinstance(err, SpecError):
            raise
        raise SpecError(f"from_spec: bad arguments: {err}") from None


def _parse(spec, where: str, depth: int, count: list[int]) -> ParsedSpec:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise SpecError(
            f"from_spec: expected a dict with a 'type' string at {where}, got {spec!r:.200}"
        )
    name = spec["type"]
    cls = LAYERS.get(name)
    if cls is None:
        raise SpecError(
            f"from_spec: unknown layer type {name!r:.100} at {where}; known types: "
            + ", ".join(sorted(LAYERS))
        )
    layer = cls.layer_spec
    args = _parse_args(layer, spec.get("args", {}), f"{name} at {where}")
    children = spec.get("children", [])
    if not isinstance(children, list):
        raise SpecError(
            f"from_spec: {name} children at {where} must be a list, got {children!r:.200}"
        )
    _check_children(layer, name, where, len(children), depth, count)
    parsed = [
        _parse(child, f"{where} > {name}[{i}]", depth + 1, count)
        for i, child in enumerate(children)
    ]
    return ParsedSpec(layer, args, parsed)


def _parse_args(layer: LayerSpec, given, what: str) -> dict:
    if not isinstance(given, dict):
        raise SpecError(f"from_spec: {what} args must be a dict of names, got {given!r:.200}")
    unknown = [name for name in given if name not in layer.args]
    if unknown:
        raise SpecError(
            f"from_spec: bad arguments for {what}: unknown argument "
            f"{unknown[0]!r:.100}; it takes {sorted(layer.args)}"
        )
    args = layer.defaults()
    for name, value in given.items():
        try:
            args[name] = layer.args[name].check(value)
        except ValueError as err:
            raise SpecError(f"from_spec: bad arguments for {what}: {name}: {err}") from None
    missing = sorted(set(layer.args) - set(args))
    if missing:
        raise SpecError(f"from_spec: bad arguments for {what}: missing {missing}")
    return args


def _check_children(layer: LayerSpec, name: str, where: str, n: int, depth: int, count):
    low, high = layer.children
    if high == 0 and n:
        raise SpecError(
            f"from_spec: {name} at {where} is not a container but the spec lists children"
        )
    if n < low or (high is not None and n > high):
        expected = "exactly one child" if low == high == 1 else f"{low} to {high} children"
        raise SpecError(f"from_spec: {name} at {where} takes {expected}, got {n}")
    count[0] += n
    if count[0] > MAX_LAYERS:
        raise SpecError(f"from_spec: the spec has more than {MAX_LAYERS:,} layers")
    if n and depth + 1 > MAX_DEPTH:
        raise SpecError(f"from_spec: containers nest more than {MAX_DEPTH} deep")
