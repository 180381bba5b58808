"""CompiledStep: one training step (forward, loss, backward, optimizer update) replayed from a
recording, with no Tensor, graph node or per-op dispatch on the way.

Two roads, the same numbers as the eager step:
- fused (fused.py): a Sequential of built-in layers with a built-in loss, by hand-written
  kernels on preallocated buffers;
- traced (traced.py): any other model and loss made of chainrule's ops: the eager step is
  recorded as a flat program of array calls (trace.py) and replayed (program.py).
Gradients are written into the arrays the optimizer reads: for a fused optimizer
(fused=True / foreach=True) its flat gradient buffer, so its step has nothing to gather.
Anomaly detection, no_grad and what the traced road cannot replay run the eager step.
"""

from __future__ import annotations

from operator import attrgetter, is_

from ..data.batches import target_array, to_target
from ..engine import anomaly
from ..engine.backend import array_like, device_of, is_device_array, to_device, xp
from ..engine.tensor import Tensor, is_grad_enabled
from .check import checked_replay
from .fused import FusedRoad, fused_support
from .graphs import GraphProgram, GraphUnavailable
from .program import Program
from .traced import MAX_PROGRAMS, TracedSteps
from .watch import ModelWatch

_ndarray = xp.ndarray
_data = attrgetter("data")


class CompiledStep:
    """step(X, y) -> loss: zero_grad, forward, loss, backward and optimizer.step() on the
    batch, replayed from a recording (`compiled`; else `reason` says why not, and those
    batches run the eager step). X is cast to the model's dtype and y converted as fit()
    converts targets. `penalty(model)`, when given, is added to the loss (fit's l2).

    Parameters' values are read at every replay; a replaced Parameter or sub-module (or an
    attribute added to a module) makes the step walk the model again and record anew."""

    def __init__(self, model, loss_fn, optimizer, *, check=False, penalty=None):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.check, self.penalty = bool(check), penalty
        self._prepared_step = None  # the optimizer's prepared_step(), see optimizer_step
        self.replays = self.eager_steps = 0  # how each batch ran (tests read these)
        self.graph_reason = None  # on a GPU: why the last replay ran op by op, not as a graph
        self._replays_stepped = 0  # self.replays at the last optimizer_step
        self._start()

    def _start(self):
        """Walk the model: its parameters and the road it takes, with no recording yet (again
        when a parameter or sub-module was replaced: the recordings assumed the old ones)."""
        model = self.model
        self.watch = ModelWatch(model)
        self.params = list(model.parameters())
        self.dtype = next((p.data.dtype for p in self.params if p.data.dtype.kind == "f"), None)
        self.device = device_of(self.params[0].data) if self.params else "cpu"
        self.graphs: dict = {}  # on a GPU: id(Program) -> (Program, its GraphProgram or why not)
        self._road = (
            None
            if self.check or self.penalty is not None
            else fused_support(model, self.loss_fn, self.params)
        )
        self.traced = TracedSteps(model, self.loss_fn, self.params, self.penalty, not self.check)
        self._plans: dict = {}  # kind of batch (shapes, dtypes, modes) -> its bound fused Plan
        self._bound_data = self._bound_grads = None  # see _bind_destinations

    @property
    def road(self) -> str:
        """'fused' for a Sequential the fused kernels take, else 'traced' (where a recording
        of a plain MLP is handed to the fused kernels too: fusion.py)."""
        return "fused" if self._road is not None else "traced"

    @property
    def reason(self) -> str | None:
        """Why some batch ran (and will run) the eager step, in one line; None if none did."""
        return self.traced.reason

    @property
    def compiled(self) -> bool:
        return self.reason is None

    def __call__(self, X, y) -> float:
        loss, _ = self._forward_backward(X, y)
        self.optimizer_step()
        return loss

    def optimizer_step(self):
        """optimizer.step(), after forward_backward.

        After a replay every gradient is in the optimizer's flat buffers, so its prepared
        step (checks made once, re-validated cheaply) can stand in for step()."""
        fast = self._prepared_step if self.replays != self._replays_stepped else None
        self._replays_stepped = self.replays
        if fast is None or not fast():
            self.optimizer.step()
            prepare = getattr(self.optimizer, "prepared_step", None)
            self._prepared_step = prepare() if prepare is not None else None

    def forward_backward(self, X, y):
        """Every parameter's .grad set to the gradient of the loss on (X, y) (what was there
        is replaced, as after zero_grad); returns (loss as a float, output Tensor)."""
        loss, output = self._forward_backward(X, y)
        return loss, output if isinstance(output, Tensor) else Tensor(output)

    def _forward_backward(self, X, y):
        X, y = self._batch_array(X), self._batch_array(y)
        X = self._cast(X)
        if not is_grad_enabled() or anomaly.enabled:
            return self._eager(X, y)
        if not self.watch.unchanged():
            self._start()
        # The same key and lookup for a Sequential and a custom Module on the fused kernels.
        key = (X.shape, X.dtype, y.shape, y.dtype, self.watch.mode_key)
        plan = self._plans.get(key)
        if plan is not None:
            return self._run_plan(plan, X, y)
        if self._road is not None:
            done = self._fused(self._road, X, y, key)
            if done is not None:
                return done  # else the kernels decline this kind of batch: the traced road
        program = self.traced.lookup(X, y)
        if isinstance(program, FusedRoad):
            return self._fused(program, X, y, key) or self._eager(X, y)
        if program is None or not self._bind_destinations():
            return self._record_or_eager(X, y)
        if self.check:
            return checked_replay(self, program, X, y)
        return self._replay(program, X, y)

    # --- the traced road ------------------------------------------------------------------
    def _record_or_eager(self, X, y):
        self.eager_steps += 1
        if self.traced.failed(X, y):
            return self._eager(X, y, counted=True)
        return self.traced.record(X, y, target_array)

    def _replay(self, program: Program, X, y):
        if self.device == "cuda" and not self.check:
            graph = self._graph(program, X, y)
            if graph is not None:
                return self._graph_replay(graph, X, y)
        values, grads = program.run(self.traced.inputs(X, y))
        for p, destination, grad in zip(self.params, self._bound_grads, grads):
            if grad is None:
                p.grad = None
            else:
                xp.copyto(destination, grad)
                p.grad = destination
        self.replays += 1
        return float(values["loss"]), values["output"]

    def _graph(self, program, X, y):
        """The CUDA graph of this program (captured now if new), or None: not capturable
        (`graph_reason` says why), or not for this batch."""
        inputs = self.traced.inputs(X, y)
        entry = self.graphs.get(id(program))
        if (
            entry is None
            or entry[0] is not program
            or (isinstance(entry[1], GraphProgram) and not entry[1].fits(inputs))
        ):
            live = {id(p) for p in self.traced.programs.values()}
            for key in [k for k in self.graphs if k not in live]:
                del self.graphs[key]  # its program was dropped from the bounded cache
            try:
                graph = GraphProgram(program, inputs, self._bound_grads)
            except GraphUnavailable as unavailable:
                graph = str(unavailable)
            entry = self.graphs[id(program)] = (program, graph)
        graph = entry[1]
        reason = graph if isinstance(graph, str) else graph.reason
        if reason is not None:
            self.graph_reason = f"the step runs op by op on the GPU: {reason}"
        if isinstance(graph, str):
            return None
        if graph.first is not None:  # made just now: it ran this batch (its checked replay)
            return graph
        return graph if graph.graph is not None and graph.labels_in_range(y) else None

    def _graph_replay(self, graph, X, y):
        values, has_grad = graph.run(X, y)
        for p, destination, got in zip(self.params, self._bound_grads, has_grad):
            p.grad = destination if got else None
        self.replays += 1
        return float(values["loss"]), values["output"]

    # --- the fused road -------------------------------------------------------------------
    def _fused(self, road, X, y, key):
        """(loss, output) by the road's kernels, or None when they decline this batch."""
        known = len(road.plans)
        plan = road.plan(X, y, self.dtype)
        if len(road.plans) != known:
            self._bound_data = None  # new kernels: bind their gradient arrays
        if plan is None:
            return None
        if len(self._plans) >= MAX_PROGRAMS:
            self._plans.clear()
        self._plans[key] = plan
        return self._run_plan(plan, X, y)

    def _run_plan(self, plan, X, y):
        target = plan.loss.target(y)
        if target is None or not self._bind_destinations():
            return self._eager(X, y)
        self.replays += 1
        return plan.run(X, target)

    def _bind_destinations(self):
        """Point each parameter's .grad at the array its gradient is written into: its view
        of a fused optimizer's flat gradient buffer, else a buffer of the step's own. They
        are looked up again when a parameter's .data was replaced (a fused optimizer
        re-points .data at its flat buffer when it builds one). False, binding nothing, when
        the parameters were cast (Module.to, a .data of another dtype): the recordings are
        dropped, to be made again for the new dtype, and this batch runs eagerly."""
        if self._bound_data is not None and all(
            map(is_, map(_data, self.params), self._bound_data)
        ):
            for p, grad in zip(self.params, self._bound_grads):
                p.grad = grad
            return True
        moved = any(device_of(p.data) != self.device for p in self.params)
        if moved or (
            self.dtype is not None and any(p.data.dtype != self.dtype for p in self.params)
        ):
            self.dtype = self.params[0].data.dtype
            self.device = device_of(self.params[0].data)
            self.traced.programs.clear()
            self.graphs.clear()
            self._plans.clear()
            if self._road is not None:
                self._road = fused_support(self.model, self.loss_fn, self.params)
            return False
        destinations = {id(p): xp.empty_like(p.data) for p in self.params}
        flat_grad_views = getattr(self.optimizer, "flat_grad_views", _no_views)
        for group in getattr(self.optimizer, "param_groups", ()):
            group_views = flat_grad_views(group)
            if group_views is not None:
                destinations.update(
                    (id(p), v)
                    for p, v in zip(group["params"], group_views)
                    if id(p) in destinations
                )
        roads = [self._road, *self.traced.programs.values()]
        for road in roads:
            if isinstance(road, FusedRoad):
                for plan in road.plans.values():
                    if plan:
                        plan.bind_grads(destinations)
        self._bound_grads = [destinations[id(p)] for p in self.params]
        self._bound_data = [p.data for p in self.params]
        return self._bind_destinations()

    def _batch_array(self, a):
        """A batch (Tensor, array or array-like) as an array on the parameters' device."""
        if isinstance(a, Tensor):
            a = a.data
        if self.device == "cuda":
            return to_device(a, "cuda") if not is_device_array(a) else a
        return a if type(a) is _ndarray else array_like(a, None)

    def _cast(self, X):
        """X in the dtype the parameters have now (the model may have been cast)."""
        dtype = self.params[0].data.dtype if self.params else None
        return X if dtype is None or X.dtype == dtype else X.astype(dtype)

    def _eager(self, X, y, counted=False):
        X = self._cast(X)
        if not counted:
            self.eager_steps += 1
        for p in self.params:
            p.grad = None
        output = self.model(Tensor(X))
        loss = self.loss_fn(output, to_target(y, output))
        if self.penalty is not None:
            loss = loss + self.penalty(self.model)
        loss.backward()
        return float(loss.data), output


def _no_views(group):
    return None


def compile_step(model, loss_fn, optimizer, *, check=False) -> CompiledStep:
    """A training step for (model, loss_fn, optimizer) replayed from a recording:
    `step(X, y)` does zero_grad, forward, loss, backward and optimizer.step() and returns the
    loss. What cannot be replayed runs the eager step (see `reason`). check=True replays and
    runs the eager step side by side on every batch and raises CompileCheckError at the first
    difference (for debugging a custom model; it is slower than either)."""
    return CompiledStep(model, loss_fn, optimizer, check=check)
