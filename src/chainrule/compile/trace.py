"""Recording one training step as a flat program of array calls.

While a Recorder is installed (`recording(...)`), the engine reports every primitive's
forward call, every VJP call of backward() and the glue between them (un-broadcasting,
accumulating a gradient that arrives twice, storing a parameter's gradient). Each array the
step touches gets a slot; an instruction is `fn(*slots) -> slot(s)`. Arrays the recorder was
not told about are constants of the program, and so are the Python values passed to ops:
recording twice and comparing (program.same_program) finds the ones that change with the data.
"""

from __future__ import annotations

import contextlib
import operator
from functools import partial
from typing import NamedTuple

from ..engine import autograd
from ..engine import tensor as _engine
from ..engine.anomaly import user_site
from ..engine.backend import is_device_array, xp
from ..engine.tensor import unbroadcast

_ndarray = xp.ndarray
_ARRAYS = (xp.ndarray, xp.generic)  # NumPy scalars too: a VJP of a 0-d array may give one


class Instruction(NamedTuple):
    fn: object  # called on the arrays of `args`
    args: tuple  # slots
    out: object  # a slot, or a tuple of slots (None where a VJP gives no gradient)
    label: tuple  # what the call is, for comparing two recordings: (kind, name, options)


class Recorder:
    """Slots, instructions and what made the step impossible to replay (`problems`)."""

    def __init__(self, inputs, parameters):
        # slot -> the value seen while recording (kept alive, so ids stay unique)
        self.values: list = []
        self.constants: dict[int, object] = {}  # slot -> a copy, to compare recordings
        self.slot_of: dict[int, int] = {}
        self.program: list[Instruction] = []
        self.leaf_grads: dict[int, int] = {}  # id(parameter) -> slot of its gradient
        self.parameters = {id(p) for p in parameters}  # whose gradients the program returns
        self.problems: list[str] = []
        self.glue = _RecordingGlue(self)
        for array in inputs:
            self.new_slot(array)

    # --- slots --------------------------------------------------------------------------
    def new_slot(self, value) -> int:
        slot = len(self.values)
        self.values.append(value)
        if isinstance(value, _ARRAYS) or is_device_array(value):
            self.slot_of[id(value)] = slot
        return slot

    def slot(self, value) -> int:
        """The slot holding this array, or a new constant slot for a value seen first here."""
        if isinstance(value, _ARRAYS) or is_device_array(value):
            slot = self.slot_of.get(id(value))
            if slot is not None:
                return slot
        slot = self.new_slot(value)
        owned = type(value) is _ndarray or is_device_array(value)
        self.constants[slot] = value.copy() if owned else value
        return slot

    def emit(self, fn, args, out_values, label):
        arg_slots = tuple([self.slot(a) for a in args])
        if isinstance(out_values, tuple):
            out = tuple([None if v is None else self.new_slot(v) for v in out_values])
        else:
            out = self.new_slot(out_values)
        self.program.append(Instruction(fn, arg_slots, out, label))

    # --- what the engine reports -------------------------------------------------------
    def forward(self, op, arrays, options, out, converted):
        fn = partial(op.forward, **options) if options else op.forward
        self.emit(_as_array(fn) if converted else fn, arrays, out, ("forward", op.name, options))

    def vjp(self, op, grad, out, arrays, options, needs, grads):
        kwargs = dict(options) if needs is None else {**options, "needs": needs}
        fn = partial(op._vjp, **kwargs) if kwargs else op._vjp
        self.emit(fn, (grad, out, *arrays), tuple(grads), ("vjp", op.name, kwargs))

    def call(self, fn, args, label, **options):
        """Run fn(*args, **options) and record it (the glue and the step's own conversions)."""
        fn = partial(fn, **options) if options else fn
        result = fn(*args)
        self.emit(fn, args, result, ("call", label, options))
        return result

    def note_read(self, how):
        self.problems.append(f"the step reads a computed value ({how} at {user_site()})")

    def store_grad(self, node, grad):
        if node._ctx is not None:
            self.problems.append("a tensor keeps its gradient (retain_grad) inside the step")
        elif id(node) not in self.parameters:
            self.problems.append(
                "the step takes the gradient of a tensor that is not a parameter of the model"
            )
        elif id(node) in self.leaf_grads:
            self.problems.append("the step calls backward() more than once")
        else:
            self.leaf_grads[id(node)] = self.slot(grad)


def _as_array(fn):
    """A forward's result as an ndarray, as Primitive.__call__ makes it (sums give scalars)."""

    def call(*arrays):
        out = fn(*arrays)
        return out if type(out) is _ndarray or is_device_array(out) else xp.asarray(out)

    return call


class _RecordingGlue:
    """backward()'s glue, recorded as it runs."""

    def __init__(self, recorder):
        self.recorder = recorder

    def unbroadcast(self, grad, shape):
        return self.recorder.call(unbroadcast, (grad,), "unbroadcast", shape=shape)

    def add(self, a, b):
        return self.recorder.call(operator.add, (a, b), "add")

    def store(self, node, grad, owned):
        self.recorder.store_grad(node, grad)
        autograd._EAGER.store(node, grad, owned)


@contextlib.contextmanager
def recording(inputs, parameters):
    """Install a Recorder for the step run inside the block; inputs get the first slots."""
    if _engine._recorder is not None:
        raise RuntimeError("a step is already being recorded")
    recorder = Recorder(inputs, parameters)
    _engine._recorder = recorder
    try:
        yield recorder
    finally:
        _engine._recorder = None


def tap(fn, array):
    """Call fn(array) now and, when a step is being recorded, at this point of every replay
    of it: how a callback observes an intermediate array (an activation) of a compiled step."""
    recorder = _engine._recorder
    if recorder is None:
        fn(array)
    else:
        recorder.call(fn, (array,), "tap")


def observed_forward(forward, fn):
    """A module's forward that hands the array of its output to fn (through `tap`, so every
    replay of a compiled step calls fn too). The fused road recognizes it by `.observer` and
    calls fn on its kernel's output: how a callback watches an activation layer."""

    def observed(*args, **kwargs):
        out = forward(*args, **kwargs)
        tap(fn, out.data)
        return out

    observed.observer = fn
    return observed
