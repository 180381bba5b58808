"""cr.nn.register: a user's Module class made rebuildable by name from a model file.

    @cr.nn.register
    class Block(cr.nn.Module):
        def __init__(self, width=16, activation="relu"):
            ...
        def spec_args(self):                 # the constructor's arguments, as JSON values
            return {"width": self.width, "activation": self.activation}

cr.save then stores {"type": "Block", "args": {...}}, and cr.load (in any process that has
imported the module defining Block) calls Block(**args) and loads the weights. Nothing is
imported or executed that the program did not register. Arguments are plain JSON values
unless `args` types them (e.g. {"width": cr.nn.registry.Size()}); `state_size(args)` (the
number of weights) lets cr.load refuse a file too small for the model before building it.
"""

from __future__ import annotations

import inspect
import math

from .registry import register_layer

__all__ = ["Json", "register"]

_MAX_ITEMS = 10_000
_MAX_DEPTH = 4


class Json:
    """A JSON value without objects: null, a bool, a finite number, a string, or a list of
    them (nested up to _MAX_DEPTH deep, _MAX_ITEMS items)."""

    def check(self, value, depth=0):
        if value is None or type(value) in (bool, int, str):
            if type(value) is str and len(value) > _MAX_ITEMS:
                raise ValueError(f"expected a string of at most {_MAX_ITEMS} characters")
            return value
        if type(value) is float and math.isfinite(value):
            return value
        if isinstance(value, list) and len(value) <= _MAX_ITEMS and depth < _MAX_DEPTH:
            return [self.check(item, depth + 1) for item in value]
        raise ValueError(f"expected a JSON number, string, bool, null or list, got {value!r:.80}")


def register(cls=None, *, args=None, state_size=None):
    """Class decorator (with or without arguments): cr.save and cr.load handle this Module
    subclass by name; its spec_args() gives the constructor's arguments."""

    def decorate(cls):
        params = [
            name
            for name, p in inspect.signature(cls).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if params and not callable(getattr(cls, "spec_args", None)):
            raise TypeError(
                f"cr.nn.register: {cls.__name__}({', '.join(params)}) needs a spec_args() "
                "method returning those arguments, so a model file can rebuild it"
            )
        declared = args if args is not None else {name: Json() for name in params}
        return register_layer(args=declared, state_size=state_size)(cls)

    return decorate if cls is None else decorate(cls)
