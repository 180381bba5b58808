"""The traced road of a compiled step: any model and loss built from chainrule's ops.

The first batch of a kind (input and target shapes and dtypes, each module's train/eval
mode) runs the eager step while a Recorder writes it down; the second batch of that kind is
recorded again and the two recordings compared: the same calls with the same constants make
a Program, replayed from the third batch on. Anything else keeps the eager step, with the
reason in one line: a Python read of a computed value (`.item()`, `float()`, `bool()`), a
value computed outside chainrule's ops that changes with the data, branches on the data.
"""

from __future__ import annotations

from collections import OrderedDict

from ..engine.tensor import Tensor
from .fused import FusedRoad, fused_support
from .fusion import mlp_layers
from .program import Program, difference
from .trace import recording

MAX_PROGRAMS = 16  # kinds of batch kept (a ragged last batch is a kind of its own)


class _Pending:
    """A kind of batch recorded once, waiting for its second recording."""

    def __init__(self, recorder):
        self.recorder = recorder


class TracedSteps:
    """Programs by kind of batch, and the eager step that records them."""

    def __init__(self, model, loss_fn, params, penalty=None, fuse=True):
        self.model, self.loss_fn, self.params = model, loss_fn, params
        self.penalty = penalty  # a function of the model adding to the loss (fit's l2), or None
        self.fuse = fuse  # hand a plain MLP's recording to the fused road (fusion.py)
        self.modules = list(model.modules())
        self.buffer_owners = [
            (m, name) for m in self.modules for name in vars(m).get("_buffer_names", ())
        ]
        self.programs: OrderedDict = OrderedDict()
        self.reason = None  # why the last kind of batch could not be compiled

    def key(self, X, y):
        modes = tuple([m.training for m in self.modules])
        return X.shape, X.dtype, y.shape, y.dtype, modes

    def inputs(self, X, y):
        buffers = [getattr(m, name) for m, name in self.buffer_owners]
        return [X, y, *[p.data for p in self.params], *buffers]

    def lookup(self, X, y):
        """The Program (or FusedRoad) for this kind of batch, or None (then `record` runs
        the step)."""
        program = self.programs.get(self.key(X, y))
        return program if isinstance(program, (Program, FusedRoad)) else None

    def record(self, X, y, to_target):
        """Run the eager step on (X, y) while recording it; returns (loss, output Tensor)."""
        key = self.key(X, y)
        inputs = self.inputs(X, y)
        with recording(inputs, self.params) as recorder:
            for p in self.params:
                p.grad = None
            output = self.model(Tensor(X))
            target = recorder.call(to_target, (y, output.data), "target")
            loss = self.loss_fn(output, Tensor(target))
            if self.penalty is not None:
                loss = loss + self.penalty(self.model)
            loss.backward()
        self._learn(key, recorder, len(inputs), loss, output)
        return float(loss.data), output

    def _learn(self, key, recorder, n_inputs, loss, output):
        previous = self.programs.get(key)
        why = recorder.problems[0] if recorder.problems else None
        results = {
            "loss": recorder.slot_of.get(id(loss.data)),
            "output": recorder.slot_of.get(id(output.data)),
        }
        if why is None and None in results.values():
            why = "the loss or the output was not computed by chainrule's ops"
        if why is None and isinstance(previous, _Pending):
            why = difference(previous.recorder, recorder)
            if why is None:
                self._keep(key, self._fused(recorder) or self._program(recorder, n_inputs, results))
                return
        if why is not None:
            self.reason = why
            self._keep(key, why)
        elif previous is None:
            self._keep(key, _Pending(recorder))

    def _program(self, recorder, n_inputs, results):
        grads = [recorder.leaf_grads.get(id(p)) for p in self.params]
        return Program(recorder, n_inputs, results, grads)

    def _fused(self, recorder):
        chain = mlp_layers(recorder, self.model, self.params) if self.fuse else None
        return (
            None
            if chain is None
            else fused_support(self.model, chain[1], self.params, layers=chain[0])
        )

    def failed(self, X, y):
        """Why this kind of batch runs eagerly for good, or None."""
        entry = self.programs.get(self.key(X, y))
        return entry if isinstance(entry, str) else None

    def _keep(self, key, entry):
        self.programs[key] = entry
        self.programs.move_to_end(key)
        while len(self.programs) > MAX_PROGRAMS:
            self.programs.popitem(last=False)
