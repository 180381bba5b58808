"""A recorded step replayed as one CUDA graph: the traced road on a GPU, not launch-bound.

A small model's step on a GPU is a few hundred tiny kernels, each costing its launch more
than its work. A CUDA graph holds the kernels of one replay (captured once through CuPy's
stream capture) and launches them with one call. The captured replay reads its batch from two
fixed arrays (each step copies the batch there), the parameters and buffers from the arrays it
saw at capture (the optimizer and the running statistics update them in place), and writes
every gradient into the array the optimizer reads. The memory of the captured kernels comes
from a pool of the graph's own, kept as long as the graph: no other array is ever given an
address those kernels write.

Not captured, so replayed op by op: a program that draws random numbers on the host (dropout
masks come from chainrule's generator, so a seed gives the same masks on every device), one
with a callback's tap (GradientMonitor's activation statistics), and one whose capture fails
(an op that reads a value back, a boolean mask, say). A batch with an integer target outside
[0, classes) is left to the op-by-op replay too: its label checks were skipped while
capturing (nn/state_ops.unchecked_labels) and are made there.
"""

from __future__ import annotations

import contextlib

from .. import cuda_blas
from ..engine import backend

# Calls a graph would not repeat faithfully: a draw from the host generator (the graph would
# replay one mask) and a callback's tap (Python code, run at capture only).
NOT_CAPTURED = {
    "dropout_mask": "dropout draws its masks on the host",
    "tap": "a callback observes an activation (compile.tap)",
}


class GraphUnavailable(Exception):
    """Why a program is replayed op by op instead (the message)."""


class GraphProgram:
    """`program` captured for batches like (X, y); gradients go to `destinations`.

    Making one runs the step on the batch it is given (the replay before the capture), so a
    failed capture still has that batch's results: `graph` is None and `reason` says why."""

    def __init__(self, program, inputs, destinations):
        blocked = sorted(program.calls & NOT_CAPTURED.keys())
        if blocked:
            raise GraphUnavailable(NOT_CAPTURED[blocked[0]])
        cupy = backend.cuda()
        self.program, self.destinations = program, destinations
        self.batch = [cupy.array(a) for a in inputs[:2]]  # X, y: each step copies there
        self.fixed = list(inputs[2:])  # parameters and buffers, read in place
        self.integer_target = self.batch[1].dtype.kind in "iu"
        cuda_blas.warm_up()  # its handle is made outside the capture
        self.stream = cupy.cuda.Stream()  # a blocking stream: ordered with the default one
        self.pool = cupy.cuda.MemoryPool()  # the graph's own memory (see the docstring)
        with cupy.cuda.using_allocator(self.pool.malloc), self.stream:
            self.values, self.has_grad = self._replay()  # compiles kernels, fills the pool
            self.first = dict(self.values)
            self.graph, self.reason = self._capture()
        self.stream.synchronize()
        self.classes = self.values["output"].shape[-1] if self.values["output"].ndim else 1

    def _replay(self):
        values, grads = self.program.run([*self.batch, *self.fixed])
        for destination, grad in zip(self.destinations, grads):
            if grad is not None:
                destination[...] = grad
        return values, [grad is not None for grad in grads]

    def _capture(self):
        """(the CUDA graph, None), or (None, why the capture failed)."""
        self.stream.begin_capture()
        backend.capturing = True
        try:
            self.values, _ = self._replay()
        except Exception as err:
            _end_quietly(self.stream)
            return None, f"its capture failed ({type(err).__name__}: {err})"
        finally:
            backend.capturing = False
        return self.stream.end_capture(), None

    def fits(self, inputs) -> bool:
        """Whether the parameters and buffers are still the arrays the graph reads."""
        return len(inputs) - 2 == len(self.fixed) and all(
            a is b for a, b in zip(inputs[2:], self.fixed)
        )

    def labels_in_range(self, y) -> bool:
        if not self.integer_target or y.size == 0:
            return True
        if backend.is_device_array(y):  # one read-back for both ends
            low, high = backend.to_host(backend.cuda().stack((y.min(), y.max()))).tolist()
        else:
            low, high = int(y.min()), int(y.max())
        return low >= 0 and high < self.classes

    def run(self, X, y):
        """The step on (X, y): (results by name, whether each parameter got a gradient).
        The first call returns the results of the replay made before capturing."""
        if self.first is not None:
            values, self.first = self.first, None
            return values, self.has_grad
        self.batch[0][...] = backend.array_like(X, self.batch[0])
        self.batch[1][...] = backend.array_like(y, self.batch[1])
        self.graph.launch()
        return {name: value.copy() for name, value in self.values.items()}, self.has_grad


def _end_quietly(stream):
    with contextlib.suppress(Exception):  # an invalidated capture ends with an error of its own
        stream.end_capture()
