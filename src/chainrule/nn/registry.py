"""The layer registry: each built-in layer declares, in its own file, how a model file names it.

    @register_layer(args={"in_features": Size(), "out_features": Size(), "bias": Bool(),
                          "dtype": FloatDType()},
                    state_size=lambda a: a["out_features"] * (a["in_features"] + a["bias"]))
    class Linear(Module):
        ...
        def spec_args(self) -> dict:      # the values of those arguments for this instance
            return {"in_features": ..., "out_features": ..., "bias": ..., "dtype": ...}

`args` types every constructor argument a spec may give (a value of any other type or out of
range is refused before anything is built); `state_size` counts the weights (parameters and
buffers) the layer holds, from its complete arguments, so a model file's size is checked
before anything is allocated; `children` is the (least, most) number of child layers its
spec lists (most None: only nn/spec.py's limits); `build` rebuilds it from checked arguments
and built children (default: cls(*children, **args)); to_spec finds the children with
module.children(). nn/spec.py asks this registry and knows no layer by name; a layer's test
in tests/nn/test_nn_spec.py checks that its declared state size is the state it holds.

An argument type is any object with `check(value) -> value` that raises ValueError saying what
it expected: Int, Size, Float, Bool, Choice, FloatDType, Shape below, or OneOf(...) of them,
e.g. a convolution's padding: OneOf(Shape(), Choice(("same", "valid"))).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .module import Module

__all__ = [
    "LAYERS",
    "Bool",
    "Choice",
    "Float",
    "FloatDType",
    "Int",
    "LayerSpec",
    "OneOf",
    "Shape",
    "Size",
    "register_layer",
]

MAX_SIZE = 2**40  # one axis of a layer; the file-size guard refuses far smaller models anyway
MAX_DIMS = 32


def _show(value) -> str:
    return f"{value!r:.80}"


@dataclass(frozen=True)
class Int:
    """An integer (not a bool, float or string) in [low, high]."""

    low: int | None = None
    high: int | None = None

    def check(self, value):
        if type(value) is not int:
            raise ValueError(f"expected an integer, got {_show(value)}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(f"expected an integer in [{self.low}, {self.high}], got {value}")
        return value


def Size() -> Int:  # noqa: N802 (reads as a type in declarations)
    """A count of features: an integer in [0, MAX_SIZE]."""
    return Int(0, MAX_SIZE)


@dataclass(frozen=True)
class Float:
    """A finite number in [low, high] (ints are taken as floats); None too when optional."""

    low: float | None = None
    high: float | None = None
    optional: bool = False

    def check(self, value):
        if value is None and self.optional:
            return None
        if type(value) not in (int, float) or not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {_show(value)}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(f"expected a number in [{self.low}, {self.high}], got {value}")
        return float(value)


@dataclass(frozen=True)
class Bool:
    def check(self, value):
        if type(value) is not bool:
            raise ValueError(f"expected true or false, got {_show(value)}")
        return value


@dataclass(frozen=True)
class Choice:
    """One of a few strings."""

    values: tuple[str, ...]

    def check(self, value):
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(f"expected one of {list(self.values)}, got {_show(value)}")
        return value


def FloatDType() -> Choice:  # noqa: N802 (reads as a type in declarations)
    return Choice(("float16", "float32", "float64"))


@dataclass(frozen=True)
class Shape:
    """A size or a list of up to MAX_DIMS sizes (returned as a tuple); `low` 0 admits zeros
    (paddings), `optional` None (a pooling stride that defaults to the kernel)."""

    low: int = 1
    optional: bool = False

    def check(self, value):
        if value is None and self.optional:
            return None
        sizes = [value] if type(value) is int else value
        if not isinstance(sizes, list) or not 1 <= len(sizes) <= MAX_DIMS:
            raise ValueError(
                f"expected a size or a list of 1 to {MAX_DIMS} sizes, got {_show(value)}"
            )
        return tuple(Int(self.low, MAX_SIZE).check(n) for n in sizes)


@dataclass(frozen=True)
class OneOf:
    """A value that one of `types` accepts (the first that does converts it)."""

    types: tuple

    def __init__(self, *types):
        object.__setattr__(self, "types", types)

    def check(self, value):
        problems = []
        for kind in self.types:
            try:
                return kind.check(value)
            except ValueError as error:
                problems.append(str(error))
        raise ValueError("; or ".join(problems))


def _default_build(cls, args: dict, children: list):
    return cls(*children, **args)


@dataclass(frozen=True)
class LayerSpec:
    """What a registered layer class declares (see the module docstring)."""

    cls: type
    args: dict
    state_size: Callable[[dict], int]
    children: tuple[int, int | None]
    build: Callable

    def defaults(self) -> dict:
        """The constructor's defaults of the declared arguments that have one."""
        params = inspect.signature(self.cls).parameters
        return {
            name: params[name].default
            for name in self.args
            if params[name].default is not inspect.Parameter.empty
        }


# name -> class of every built-in layer a model file may name; filled by @register_layer.
LAYERS: dict[str, type[Module]] = {}


def register_layer(*, args: dict | None = None, state_size=None, children=(0, 0), build=None):
    """Class decorator: declare how a model file describes this layer and register it."""

    def register(cls):
        params = inspect.signature(cls).parameters
        unknown = set(args or {}) - set(params)
        if unknown:
            raise TypeError(f"register_layer: {cls.__name__}() takes no {sorted(unknown)}")
        if LAYERS.get(cls.__name__, cls) is not cls:
            raise TypeError(f"register_layer: a layer named {cls.__name__} is registered")
        cls.layer_spec = LayerSpec(
            cls,
            dict(args or {}),
            state_size or (lambda _: 0),
            tuple(children),
            build or _default_build,
        )
        LAYERS[cls.__name__] = cls
        return cls

    return register
