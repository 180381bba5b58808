"""Module and Parameter: layers that find their parameters by walking their own attributes.

A Module's parameters are the `Parameter` values among its attributes, its sub-modules the
`Module` values, and its buffers the arrays named with `register_buffer`. Names are PyTorch's
dotted names (`0.weight`, `layers.1.bias`), so state dicts move between the two libraries.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from ..engine.backend import array_like, device_of, normalize_device, to_device, xp
from ..engine.tensor import ChainruleError, Tensor, _to_arguments

if TYPE_CHECKING:
    from .registry import LayerSpec


_requires_grad_slot = Tensor.__dict__["requires_grad"]  # the slot, under Parameter's property


class Parameter(Tensor):
    """A tensor that a Module trains: requires_grad is on unless asked otherwise. Setting
    requires_grad counts as a change of the model (attribute_changes): freezing a layer
    after a step was compiled makes the step look at the model again."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    @property
    def requires_grad(self) -> bool:
        return _requires_grad_slot.__get__(self)

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        global _attribute_changes
        _requires_grad_slot.__set__(self, value)
        _attribute_changes += 1

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(ChainruleError, KeyError):
    """load_state_dict got keys or shapes that do not fit the module."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


_attribute_changes = 0  # see attribute_changes()


def attribute_changes() -> int:
    """How many times an attribute of any Module was set or deleted so far: a compiled step
    walks its model again only when this moved (compile/watch.py)."""
    return _attribute_changes


class Module:
    """Base class of every layer: subclasses set attributes in __init__ and define forward."""

    training = True
    layer_spec: ClassVar[LayerSpec]  # declared only: @register_layer sets it on built-in layers

    def __init__(self):
        self.training = True

    def __setattr__(self, name, value):
        global _attribute_changes
        object.__setattr__(self, name, value)
        _attribute_changes += 1  # after the change: whoever sees the count sees the change

    def __delattr__(self, name):
        global _attribute_changes
        object.__delattr__(self, name)
        _attribute_changes += 1

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- walking the attributes -----------------------------------------------------------
    def _own_items(self):
        """(name, value) of this module's attributes, in the order they were set."""
        return vars(self).items()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in self._own_items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix="", _seen=None) -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first, each once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix="", recurse=True) -> Iterator[tuple[str, Parameter]]:
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for name, value in module._own_items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self, recurse=True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def add_module(self, name: str, module) -> None:
        """Set a sub-module under `name` (torch's add_module / register_module)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        _check_name("add_module", name)
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param) -> None:
        """Set a Parameter (or None) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {type(param).__name__} is not a Parameter")
        _check_name("register_parameter", name)
        setattr(self, name, param)

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path such as 'encoder.0' ('' is this module)."""
        module = self
        for part in target.split(".") if target else ():
            child = vars(module).get(part)
            if not isinstance(child, Module):
                raise AttributeError(
                    f"get_submodule: {type(module).__name__} has no "
                    f"sub-module {part!r} (path {target!r})"
                )
            module = child
        return module

    def apply(self, fn):
        """Call fn on every sub-module, children first, then on this one; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def register_buffer(self, name: str, array) -> None:
        """Keep `array` as state that is saved and loaded but not trained (running stats)."""
        names = vars(self).setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, None if array is None else array_like(array, None))

    def named_buffers(self, prefix="") -> Iterator[tuple[str, xp.ndarray]]:
        for module_name, module in self.named_modules(prefix):
            for name in vars(module).get("_buffer_names", ()):
                value = getattr(module, name)
                if value is not None:
                    yield (f"{module_name}.{name}" if module_name else name), value

    def buffers(self) -> Iterator[xp.ndarray]:
        for _, buffer in self.named_buffers():
            yield buffer

    # --- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, xp.ndarray]:
        """Parameters and buffers by dotted name, as copies of their arrays (PyTorch order)."""
        state: dict[str, xp.ndarray] = {}
        for module_name, module in self.named_modules():
            dot = f"{module_name}." if module_name else ""
            for name, value in module._own_items():
                if isinstance(value, Parameter):
                    state.setdefault(dot + name, value.data.copy())
            for name in vars(module).get("_buffer_names", ()):
                value = getattr(module, name)
                if value is not None:
                    state[dot + name] = value.copy()
        return state

    def _state_slots(self) -> dict:
        """name -> (module, attribute, is_parameter) for every entry of state_dict()."""
        slots: dict[str, tuple[Module, str, bool]] = {}
        for module_name, module in self.named_modules():
            dot = f"{module_name}." if module_name else ""
            for name, value in module._own_items():
                if isinstance(value, Parameter):
                    slots.setdefault(dot + name, (module, name, True))
            for name in vars(module).get("_buffer_names", ()):
                if getattr(module, name) is not None:
                    slots[dot + name] = (module, name, False)
        return slots

    def load_state_dict(self, state, strict=True):
        """Copy arrays into parameters and buffers in place, keeping their dtypes.

        Raises StateDictError naming missing, unexpected and mis-shaped keys. With
        strict=False, missing and unexpected keys are returned instead of raised.
        """
        slots = self._state_slots()
        missing = [k for k in slots if k not in state]
        unexpected = [k for k in state if k not in slots]
        mis_shaped = []
        for key in slots.keys() & state.keys():
            current = _slot_array(slots[key])
            shape = tuple(xp.shape(_as_numpy(state[key])))
            if shape != current.shape:
                mis_shaped.append(f"{key}: expected shape {current.shape}, got {shape}")
        problems = [f"size mismatch for {m}" for m in sorted(mis_shaped)]
        if strict:
            problems += [f"missing key {k!r}" for k in missing]
            problems += [f"unexpected key {k!r}" for k in unexpected]
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for key in slots.keys() & state.keys():
            current = _slot_array(slots[key])
            current[...] = array_like(_as_numpy(state[key]), current)
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    # --- modes, gradients, dtypes ---------------------------------------------------------
    def train(self, mode=True):
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = xp.zeros_like(param.data)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad = bool(requires_grad)
        return self

    def to(self, *args, **kwargs):
        """Move parameters and buffers to a device and/or cast the floating ones to a dtype
        (integer buffers keep theirs), in place, as torch's Module.to: `.to("cuda")`,
        `.to(cr.float64)`, `.to("cpu", cr.float32)`. Returns the module."""
        device, dtype = _to_arguments(args, kwargs)
        if dtype is not None:
            dtype = xp.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: expected a floating dtype, got {dtype}")
        if device is not None:
            device = normalize_device(device)
        convert = functools.partial(_converted, device=device, dtype=dtype)
        for param in self.parameters():
            param.data = convert(param.data)
            if param.grad is not None:
                param.grad = convert(param.grad)
        for module in self.modules():
            for name in vars(module).get("_buffer_names", ()):
                value = getattr(module, name)
                if value is not None:
                    setattr(module, name, convert(value))
        return self

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(xp.float64)

    def float(self):
        return self.to(xp.float32)

    def num_parameters(self, trainable_only=False) -> int:
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # --- repr -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The constructor arguments shown in repr: those of spec_args() unless overridden."""
        args = self.spec_args() if hasattr(self, "spec_args") else {}
        return ", ".join(f"{name}={value!r}" for name, value in args.items())

    def __repr__(self):
        return _format(self, total=True)


def _converted(array, device, dtype):
    if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
        array = array.astype(dtype)
    if device is not None and device_of(array) != device:
        array = to_device(array, device)
    return array


def _check_name(what, name):
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{what}: name must be a non-empty string without '.', got {name!r}")


def _slot_array(slot):
    module, name, is_parameter = slot
    value = getattr(module, name)
    return value.data if is_parameter else value


def _as_numpy(value):
    return value.data if isinstance(value, Tensor) else array_like(value, None)


def _count(n: int) -> str:
    return f"{n:,} parameter" + ("" if n == 1 else "s")


def _format(module, total=False):
    """PyTorch's repr, with each module's parameter count as a trailing comment."""
    head = f"{type(module).__name__}({module.extra_repr()}"
    children = list(module.named_children())
    count = module.num_parameters()
    if not children:
        return head + ")" + (f"  # {_count(count)}" if count else "")
    lines = [head]
    for name, child in children:
        body = _format(child).replace("\n", "\n  ")
        lines.append(f"  ({name}): {body}")
    tail = f"  # {_count(count)}" + (" in all" if total else "") if count else ""
    return "\n".join(lines) + "\n)" + tail
