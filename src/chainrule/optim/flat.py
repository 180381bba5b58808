"""The fused path: one group's parameters, gradients and state in flat contiguous buffers.

Each parameter's `.data` is re-pointed to a view of one flat buffer, so an optimizer's update
rule runs once over the whole group: a handful of vectorized operations however many
parameters the group has. Each parameter's state entries are views of flat state buffers
too, so `state_dict()` and the plain path see the same numbers.

Each parameter's slot of the flat gradient buffer is its gradient's home: a backward() after
zero_grad() writes a Linear's gradients there directly (autograd._homes), and a compiled step
writes every gradient there, so `.grad` is that view and nothing is gathered. Otherwise the
gradients are gathered by one `concatenate(..., out=)` per step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from operator import attrgetter, is_

from ..engine.backend import array_like, device_of, is_array, xp
from ..engine.tensor import ChainruleError

_grad = attrgetter("grad")


class FlatGroup:
    """Flat buffers for the parameters of one param group (all of one dtype)."""

    def __init__(self, params):
        dtypes = {p.data.dtype for p in params}
        if len(dtypes) != 1:
            raise ChainruleError(
                f"fused optimizer: a parameter group mixes dtypes {sorted(map(str, dtypes))}; "
                "put parameters of different dtypes in different groups"
            )
        self.params = list(params)
        self.shapes = [p.data.shape for p in params]
        bounds = [0]
        for p in params:
            bounds.append(bounds[-1] + p.data.size)
        self.slices = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        self.ends = tuple(bounds[1:])  # where each parameter's slice ends
        self.data = xp.concatenate([p.data.ravel() for p in params])
        self.data_views = self._views(self.data)
        for p, view in zip(params, self.data_views):
            p.data = view
        self.grad = xp.empty_like(self.data)
        self.grad_views = self._views(self.grad)
        for p, data, grad in zip(params, self.data_views, self.grad_views):
            p._grad_home = (data, grad)  # backward() may write a gradient there: autograd._homes
        self.state = None  # flat state, once bound to the parameters' states
        self._state_views = {}

    def _views(self, flat):
        return [flat[s].reshape(shape) for s, shape in zip(self.slices, self.shapes)]

    def holds(self, params) -> bool:
        """Whether these buffers were made for exactly these parameters."""
        return len(params) == len(self.params) and all(a is b for a, b in zip(params, self.params))

    def sync_params(self) -> bool:
        """Pull in any `.data` replaced since the last step (e.g. by load_state_dict);
        False when a replacement changed shape, dtype or device (the buffers must be rebuilt)."""
        for p, view in zip(self.params, self.data_views):
            if p.data is not view:
                if (
                    p.data.shape != view.shape
                    or p.data.dtype != view.dtype
                    or device_of(p.data) != device_of(view)
                ):
                    return False
                xp.copyto(view, p.data)
                p.data = view
        return True

    def current_data(self):
        """The flat weights, or None when some parameter's .data is no longer its view."""
        ok = all(p.data is view for p, view in zip(self.params, self.data_views))
        return self.data if ok else None

    def current_grad(self):
        """The flat gradients, or None unless every .grad is its view (a compiled step
        writes them there; backward() makes arrays of its own)."""
        ok = all(map(is_, map(_grad, self.params), self.grad_views))  # no generator: per step
        return self.grad if ok else None

    def gather_grads(self) -> None:
        if all(p.grad is view for p, view in zip(self.params, self.grad_views)):
            return
        xp.concatenate([p.grad.ravel() for p in self.params], out=self.grad)

    # --- state ------------------------------------------------------------------------
    def bind_state(self, states):
        """The flat state for these per-parameter states, or None when they differ.

        They are bound (flat buffers whose views the per-parameter dicts hold) when every
        state has the same entries and the same scalars (e.g. Adam's step); empty states
        give an empty flat state for the optimizer to initialise.
        """
        if self.state is not None:
            return self.state
        keys = set(states[0])
        if any(set(s) != keys for s in states):
            return None
        flat = {}
        for key in keys:
            values = [s[key] for s in states]
            if is_array(values[0]):
                # on the parameters' device: a model moved after its optimizer's first step
                parts = [array_like(v, self.data).ravel() for v in values]
                flat[key] = xp.concatenate(parts).astype(self.data.dtype, copy=False)
            elif all(v == values[0] for v in values):
                flat[key] = values[0]
            else:
                return None
        self.state = flat
        self._state_views = {}  # key -> the flat array whose views the states hold
        return flat

    def scatter_state(self, states) -> None:
        """Point each parameter's state at views of the flat state; copy its scalars."""
        held = self._state_views
        for key, value in self.state.items():
            if value is not None and held.get(key) is value:
                continue  # an array whose views the states hold already (every step)
            if is_array(value):
                held[key] = value
                for s, view in zip(states, self._views(value)):
                    s[key] = view
            else:
                for s in states:
                    s[key] = value

    def unbind_state(self) -> None:
        self.state = None
        self._state_views = {}


def uses_flat_buffers(group: dict) -> bool:
    """Whether a param group takes the fused path (see optim.optimizer's docstring)."""
    fused, foreach = group.get("fused"), group.get("foreach")
    if fused or foreach:
        return True
    if fused is False or foreach is False:
        return False
    params = group["params"]
    dtype = params[0].data.dtype if params else None
    return all(p.data.dtype == dtype for p in params)


@dataclass(frozen=True, slots=True)
class PreparedGroup:
    """What prepared_step() checked of one fused group, and what its step needs."""

    group: dict
    params: list  # the group's list itself, and its length then
    n_params: int
    flat: FlatGroup
    state: dict  # the flat state
    param_states: list  # each parameter's state dict (holding views of the flat state)
    views: list  # (param, its .data view, its .grad view, its state) per parameter
    work: tuple  # the two scratch arrays

    @classmethod
    def of(cls, group, flat, param_states, work):
        params = group["params"]
        views = list(zip(params, flat.data_views, flat.grad_views, param_states))
        return cls(group, params, len(params), flat, flat.state, param_states, views, work)

    def still_valid(self, flats: dict, states: dict) -> bool:
        """Whether the group, its buffers and every parameter's arrays are still these."""
        group, flat = self.group, self.flat
        if (
            group["params"] is not self.params
            or len(self.params) != self.n_params
            or flats.get(id(group)) is not flat
            or flat.state is not self.state
            or not uses_flat_buffers(group)
        ):
            return False
        for p, data, grad, param_state in self.views:
            if p.data is not data or p.grad is not grad or states.get(p) is not param_state:
                return False
        return True
