"""ModuleDict and ParameterList: containers whose entries are found as attributes, so their
parameters are named `<key>.weight` and `0`, `1`, ... as in PyTorch.

They hold modules for code to call; model files cannot describe them (nn/spec.py refuses),
so a model built on them is saved with cr.save_state_dict.
"""

from __future__ import annotations

from .module import Module, Parameter, _check_name


class ModuleDict(Module):
    """An ordered mapping of names to modules."""

    def __init__(self, modules=None):
        super().__init__()
        self._keys = []
        self.update(modules or {})

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)
        if key not in self._keys:
            self._keys.append(key)

    def __getitem__(self, key: str) -> Module:
        if key not in self._keys:
            raise KeyError(f"ModuleDict has no key {key!r}; keys: {self._keys}")
        return getattr(self, key)

    def __delitem__(self, key: str) -> None:
        self[key]  # a clear KeyError for a missing key
        self._keys.remove(key)
        delattr(self, key)

    def update(self, modules) -> None:
        for key, module in dict(modules).items():
            self[key] = module

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(list(self._keys))

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return list(self._keys)

    def values(self):
        return [getattr(self, k) for k in self._keys]

    def items(self):
        return [(k, getattr(self, k)) for k in self._keys]

    def forward(self, *args):
        raise NotImplementedError("ModuleDict holds modules; call them by key")


class ParameterList(Module):
    """A list of Parameters named `0`, `1`, ... (plain arrays are made Parameters)."""

    def __init__(self, values=()):
        super().__init__()
        self._length = 0
        for value in values:
            self.append(value)

    def append(self, value) -> ParameterList:
        param = value if isinstance(value, Parameter) else Parameter(value)
        _check_name("ParameterList", str(self._length))
        setattr(self, str(self._length), param)
        self._length += 1
        return self

    def extend(self, values) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __len__(self):
        return self._length

    def __iter__(self):
        return (getattr(self, str(i)) for i in range(self._length))

    def __getitem__(self, index: int) -> Parameter:
        if not -self._length <= index < self._length:
            raise IndexError(f"ParameterList: index {index} out of range for {self._length}")
        return getattr(self, str(index % self._length))

    def __setitem__(self, index: int, value) -> None:
        self[index]  # a clear IndexError
        setattr(
            self,
            str(index % self._length),
            value if isinstance(value, Parameter) else Parameter(value),
        )

    def forward(self, *args):
        raise NotImplementedError("ParameterList holds parameters; use them in forward")
