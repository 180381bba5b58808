"""The Optimizer base: parameter groups, step, zero_grad and state_dict, as in torch.optim.

A subclass supplies the update rule as `_update(group, param, grad, state, work)`: plain
array math on `param` (updated in place), the gradient `grad` (never modified), the
parameter's `state` dict, and `work`, two scratch arrays shaped like `param`. The same rule
runs once per parameter (the plain path) or once per group on flat buffers that hold every
parameter of the group (the fused path, see flat.py). The numbers are the same either way.

Which path: `fused=True` or `foreach=True` asks for the fused path, `fused=False` or
`foreach=False` for the plain one, and the default (both None) takes the fused path whenever
a group's parameters share one dtype. The fused path re-points each parameter's `.data` to a
view of the flat buffer at the first step, so hold the Parameter, not its `.data`.

On either path, when the compiled loops of chainrule.native are built, SGD, Adagrad, RMSprop,
Adam and AdamW do their rule's arithmetic in one pass over memory instead of NumPy's one pass
per operation, with bit-identical results; the NumPy code in each `_update` is what runs
otherwise, and documents the arithmetic.
"""

from __future__ import annotations

from ..engine.backend import device_of, is_array, module_of
from ..engine.tensor import ChainruleError, Tensor, enable_grad
from .flat import FlatGroup, PreparedGroup, uses_flat_buffers


class OptimizerError(ChainruleError, ValueError):
    """Bad optimizer arguments or a state dict that does not fit the optimizer."""


def check_non_negative(values: dict) -> None:
    """Raise OptimizerError for the first hyperparameter not >= 0 (nan included), with
    torch's wording, e.g. {"learning rate": lr} -> "Invalid learning rate: -1"."""
    for label, value in values.items():
        if not value >= 0.0:
            raise OptimizerError(f"Invalid {label}: {value}")


class Optimizer:
    """Base class: holds `param_groups` (list of dicts) and `state` (param -> dict).

    By default the first step() re-points each parameter's `.data` to a view of its group's
    flat buffer (the fused path, see the module docstring): an array taken from `.data`
    before then is no longer the parameter's; hold the Parameter itself."""

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors "
                f"or dicts, but got a {type(params).__name__}"
            )
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        self._flat: dict[int, FlatGroup] = {}
        self._scratch: dict = {}
        if isinstance(params, (set, frozenset)):
            params = [{"params": params}]  # add_param_group refuses it, naming why
        groups = list(params)
        if not groups:
            raise OptimizerError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join([*lines, ")"])

    # --- groups -----------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (the defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs; "
                "use a list"
            )
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is a "
                    f"{type(p).__name__}"
                )
        group = {**self.defaults, **param_group, "params": params}
        known = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or known & set(ids):
            raise OptimizerError("some parameters appear in more than one parameter group")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyperparameters; subclasses add their own checks."""
        check_non_negative({"learning rate": group["lr"]})

    # --- gradients --------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    # --- the step ---------------------------------------------------------------------
    def step(self, closure=None):
        """Update every parameter that has a gradient; returns closure() when given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            _plain_grads(group["params"])
            if uses_flat_buffers(group):
                self._step_flat(group)
            else:
                self._flat.pop(id(group), None)
                for p in group["params"]:
                    if p.grad is not None:
                        self._step_param(group, p.data, p.grad, self._state_of(group, p))
        return loss

    def _state_of(self, group: dict, param: Tensor) -> dict:
        state = self.state.get(param)
        if not state:
            state = self.state[param] = self._init_state(group, param.data)
        return state

    def _step_param(self, group, data, grad, state) -> None:
        if "step" in state:
            state["step"] += 1
        self._update(group, data, grad, state, self._work(data))

    def _flat_group(self, group: dict) -> FlatGroup:
        """The flat buffers of a fused group, rebuilt when its parameters changed."""
        params = group["params"]
        flat = self._flat.get(id(group))
        if flat is None or not flat.holds(params) or not flat.sync_params():
            flat = self._flat[id(group)] = FlatGroup(params)
        return flat

    def flat_grad_views(self, group: dict):
        """For a fused group, one view per parameter of its flat gradient buffer (built now if
        needed): gradients written there in place, and set as each `.grad`, spare step() its
        gather. None for a plain group."""
        if uses_flat_buffers(group):
            return self._flat_group(group).grad_views
        return None

    def flat_buffers(self, params) -> FlatGroup | None:
        """The flat buffers of the fused group that holds exactly `params` (in this order),
        for a caller that reads or copies all weights or gradients at once; None when there
        is none (plain groups, several groups, or no step taken yet). Its current_data() and
        current_grad() say whether the parameters still use them."""
        params = list(params)
        for group in self.param_groups:
            flat = self._flat.get(id(group))
            if flat is not None and flat.holds(params):
                return flat
        return None

    def _step_flat(self, group: dict) -> None:
        params = group["params"]
        flat = self._flat_group(group)
        if all(p.grad is not None for p in params):
            flat.gather_grads()
            state = flat.state
            if state is None:
                state = flat.bind_state([self.state.get(p) or {} for p in params])
            if state is not None:
                if not state:
                    state.update(self._init_state(group, flat.data))
                self._step_param(group, flat.data, flat.grad, state)
                flat.scatter_state([self.state.setdefault(p, {}) for p in params])
                return
        flat.unbind_state()  # per-parameter steps make the states diverge
        for p in params:
            if p.grad is not None:
                self._step_param(group, p.data, p.grad, self._state_of(group, p))

    def prepared_step(self):
        """A callable doing step()'s work with its checks made once, for a caller (a compiled
        step) that writes every gradient straight into the flat buffers of fused groups; None
        unless every group is fused and has stepped once (its flat state bound).

        The callable re-validates cheaply — the same groups, flat buffers, states, and every
        parameter's .data and .grad still its views of them — and returns False, doing
        nothing, when anything changed: then call step(), which rebuilds what it must."""
        plans = []
        for group in self.param_groups:
            flat = self._flat.get(id(group))
            if (
                not uses_flat_buffers(group)
                or flat is None
                or (not flat.state or not flat.holds(group["params"]))
            ):
                return None
            param_states = [self.state.get(p) for p in group["params"]]
            if None in param_states:
                return None
            plans.append(PreparedGroup.of(group, flat, param_states, self._work(flat.data)))
        groups, flats, states = self.param_groups, self._flat, self.state

        def valid():
            return (
                self.param_groups is groups
                and len(groups) == len(plans)
                and self._flat is flats
                and self.state is states
                and all(plan.still_valid(flats, states) for plan in plans)
            )

        def step():
            if not valid():
                return False
            for plan in plans:
                if "step" in plan.state:
                    plan.state["step"] += 1
                self._update(plan.group, plan.flat.data, plan.flat.grad, plan.state, plan.work)
                plan.flat.scatter_state(plan.param_states)
            return True

        return step

    def _work(self, like):
        """Two scratch arrays shaped like `like`, reused across parameters and steps."""
        key = (like.dtype, device_of(like))
        scratch = self._scratch.get(key)
        if scratch is None or scratch.shape[1] < like.size:
            scratch = self._scratch[key] = module_of(like).empty((2, like.size), like.dtype)
        n = like.size
        return scratch[0, :n].reshape(like.shape), scratch[1, :n].reshape(like.shape)

    def _init_state(self, group: dict, data) -> dict:
        """The state a parameter starts with (its first step, or eagerly for Adagrad)."""
        return {}

    def _update(self, group, param, grad, state, work) -> None:
        raise NotImplementedError

    # --- checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """A snapshot in torch's layout: {"state": {index: {...}}, "param_groups": [...]}.

        Arrays are copies, so the snapshot does not change as training goes on.
        """
        index, state, groups = 0, {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                if self.state.get(p):
                    state[index] = {
                        k: v.copy() if is_array(v) else v for k, v in self.state[p].items()
                    }
                ids.append(index)
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state_dict() of an optimizer over parameters of the same shapes."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise OptimizerError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise OptimizerError(
                    f"loaded parameter group {i} has {len(saved['params'])} parameters, "
                    f"the optimizer's has {len(group['params'])}"
                )
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        new_state = {}
        for group, saved in zip(self.param_groups, saved_groups):
            for p, index in zip(group["params"], saved["params"]):
                if int(index) in saved_state:
                    new_state[p] = _restore_param_state(saved_state[int(index)], p, index)
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state
        self._flat = {}


def _restore_param_state(saved: dict, param: Tensor, index) -> dict:
    state = {}
    for name, value in saved.items():
        if isinstance(value, list) or is_array(value):
            value = module_of(param.data).array(value, dtype=param.data.dtype)
            if value.shape != param.data.shape:
                raise OptimizerError(
                    f"state {name!r} of parameter {index} has shape {value.shape}, "
                    f"the parameter has shape {param.data.shape}"
                )
        state[name] = value
    return state


def _plain_grads(params) -> None:
    """backward(create_graph=True) leaves each .grad a Tensor with a graph (as torch): the
    update reads its values, so it becomes the array it holds."""
    for p in params:
        if isinstance(p.grad, Tensor):
            p.grad = p.grad.data
