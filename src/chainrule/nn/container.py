"""Containers: Sequential, ModuleList, Residual, and the shape-only layers Identity, Flatten,
Unflatten."""

from __future__ import annotations

import math

from ..engine.primitive import ShapeError
from .module import Module
from .registry import Int, Shape, register_layer


@register_layer(children=(0, None), build=lambda cls, args, children: cls(children))
class ModuleList(Module):
    """A list of modules whose parameters are found and named `0`, `1`, ... as in PyTorch."""

    def __init__(self, modules=()):
        super().__init__()
        self._length = 0
        for module in modules:
            self.append(module)

    def append(self, module: Module):
        self._check(module)
        setattr(self, str(self._length), module)
        self._length += 1
        return self

    def insert(self, index: int, module: Module):
        """Put `module` before position `index` (list.insert's rule); later ones move up."""
        self._check(module)
        modules = list(self)
        modules.insert(index, module)
        self._replace_all(modules)

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __len__(self):
        return self._length

    def __iter__(self):
        return (getattr(self, str(i)) for i in range(self._length))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._of(list(self)[index])
        return getattr(self, str(self._position(index)))

    def __setitem__(self, index: int, module: Module):
        self._check(module)
        setattr(self, str(self._position(index)), module)

    def __delitem__(self, index):
        """Remove one module (an index) or several (a slice); the rest are numbered again
        from 0, as PyTorch does."""
        modules = list(self)
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._replace_all(modules)

    def _position(self, index: int) -> int:
        if not -self._length <= index < self._length:
            raise IndexError(
                f"{type(self).__name__}: index {index} out of range for {self._length} modules"
            )
        return index % self._length

    def _check(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: {type(module).__name__} is not a Module")

    def _replace_all(self, modules):
        for i in range(self._length):
            delattr(self, str(i))
        self._length = 0
        self.extend(modules)

    @staticmethod
    def _of(modules):
        return ModuleList(modules)

    def forward(self, *args):
        raise NotImplementedError("ModuleList holds modules; call them one by one")


@register_layer(children=(0, None))
class Sequential(ModuleList):
    """Modules applied one after another: Sequential(Linear(2, 8), ReLU(), Linear(8, 1))."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    @staticmethod
    def _of(modules):
        return Sequential(*modules)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


@register_layer(children=(1, 1))
class Residual(Module):
    """x + block(x): a skip connection around `block` (whose output has x's shape)."""

    def __init__(self, block: Module):
        super().__init__()
        self.block = block

    def forward(self, x):
        out = self.block(x)
        if out.shape != x.shape:
            raise ShapeError(
                f"Residual: the block maps shape {x.shape} to {out.shape}; they must match"
            )
        return x + out


@register_layer()
class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def forward(self, x):
        return x


@register_layer(args={"start_dim": Int(), "end_dim": Int()})
class Flatten(Module):
    """Flattens axes start_dim..end_dim into one, as torch.nn.Flatten (default: all but 0)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        shape = x.shape
        start = self.start_dim % len(shape)
        end = self.end_dim % len(shape)
        merged = 1
        for n in shape[start : end + 1]:
            merged *= n
        return x.reshape((*shape[:start], merged, *shape[end + 1 :]))

    def spec_args(self) -> dict:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}


@register_layer(args={"dim": Int(), "unflattened_size": Shape()})
class Unflatten(Module):
    """Splits axis `dim` into `unflattened_size`, as torch.nn.Unflatten: (N, 64) -> (N, 1, 8, 8)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    @property
    def in_features(self):
        """The width of the rows it unflattens (dim 1 of a batch), else None."""
        return math.prod(self.unflattened_size) if self.dim in (1, -1) else None

    def forward(self, x):
        shape = x.shape
        dim = self.dim % len(shape)
        return x.reshape(shape[:dim] + self.unflattened_size + shape[dim + 1 :])

    def spec_args(self) -> dict:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}
