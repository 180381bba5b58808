"""What a compiled step's recordings assume of the model, checked cheaply at every step.

A recording (a fused plan or a traced program) is made for one model structure, the Parameter
or sub-module each module attribute holds, and for each module's train/eval mode. Walking the
module tree at every step would cost a good part of a tiny model's replay, so the walk is made
once and repeated only after some Module attribute was set or deleted (a counter kept by
Module.__setattr__: `training` too, so train()/eval() are seen; and by a Parameter's
requires_grad): then a replaced or frozen parameter or a replaced sub-module makes the step
start over, and a switched mode selects another recording. A
Sequential and a custom Module with the same layers do the same work here.
"""

from __future__ import annotations

from operator import attrgetter, is_

from ..nn.module import Module, Parameter, attribute_changes

_training = attrgetter("training")


class ModelWatch:
    """The model's modules, their Parameter and Module attributes, and their modes."""

    def __init__(self, model):
        self.modules = list(model.modules())
        self._attributes = list(map(vars, self.modules))
        self._sizes = list(map(len, self._attributes))
        slots = [  # None too: a parameter slot left empty (bias=False) may be filled
            (attributes, name, value)
            for attributes in self._attributes
            for name, value in attributes.items()
            if value is None or isinstance(value, (Module, Parameter))
        ]
        self._dicts = [attributes for attributes, _, _ in slots]
        self._names = [name for _, name, _ in slots]
        self._values = [value for _, _, value in slots]
        self._params = [value for value in self._values if isinstance(value, Parameter)]
        self._frozen = [not p.requires_grad for p in self._params]
        self._mode_keys: dict = {}
        self._seen = -1
        self.mode_key = 0  # a small number per distinct tuple of modes
        self.unchanged()  # sets mode_key

    def unchanged(self) -> bool:
        """No Parameter or sub-module of a module was replaced, and no attribute added or
        deleted, since the walk; `mode_key` is brought up to date."""
        changes = attribute_changes()
        if changes == self._seen:
            return True
        self._seen = changes
        modes = tuple(map(_training, self.modules))
        self.mode_key = self._mode_keys.setdefault(modes, len(self._mode_keys))
        return (
            list(map(len, self._attributes)) == self._sizes
            and all(map(is_, map(dict.get, self._dicts, self._names), self._values))
            and [not p.requires_grad for p in self._params] == self._frozen
        )
