"""A recorded step planned for replay: constants placed once, each intermediate array dropped
after its last use, and the results (loss, output, each parameter's gradient) read at the end.

    program = Program(recorder, results={"loss": s1, "output": s2}, grads=[s3, None, ...])
    values, grads = program.run(inputs)
"""

from __future__ import annotations

from ..engine.backend import is_array, module_of


class Program:
    def __init__(self, recorder, n_inputs, results, grads):
        self.n_inputs = n_inputs
        self.results = results  # name -> slot
        self.grad_slots = grads  # per parameter: slot, or None when it gets no gradient
        self.template = [recorder.constants.get(slot) for slot in range(len(recorder.values))]
        for slot, _value in recorder.constants.items():
            # The array itself, not the copy kept for comparing: an array updated in place
            # (a buffer the step does not name as an input) is seen updated by every replay.
            self.template[slot] = recorder.values[slot]
        # The primitives it calls, by name (compile/graphs.py asks whether one draws on the host).
        self.calls = frozenset(str(ins.label[1]) for ins in recorder.program)
        kept = set(results.values()) | {s for s in grads if s is not None}
        self.code = _with_frees(recorder.program, kept | set(recorder.constants))

    def run(self, inputs):
        """(results by name, gradient per parameter) for these input arrays."""
        env = self.template.copy()
        env[: self.n_inputs] = inputs
        for fn, args, out, frees in self.code:
            result = fn(*[env[i] for i in args])
            if type(out) is int:
                env[out] = result
            else:
                for slot, value in zip(out, result):
                    if slot is not None:
                        env[slot] = value
            for slot in frees:
                env[slot] = None
        values = {name: env[slot] for name, slot in self.results.items()}
        return values, [None if s is None else env[s] for s in self.grad_slots]


def _with_frees(program, kept):
    """Each instruction with the slots whose last use it is (those are freed after it)."""
    last_use = {}
    for index, instruction in enumerate(program):
        for slot in instruction.args:
            last_use[slot] = index
    frees = [[] for _ in program]
    for slot, index in last_use.items():
        if slot not in kept:
            frees[index].append(slot)
    return [(ins.fn, ins.args, ins.out, tuple(f)) for ins, f in zip(program, frees)]


def difference(first, second) -> str | None:
    """Why two recordings of the step (on different batches) are not the same program, or
    None. A constant that differs was computed outside chainrule's ops from the data."""
    if len(first.program) != len(second.program):
        return (
            f"the step ran {len(first.program)} array calls on one batch and "
            f"{len(second.program)} on another (it branches on the data)"
        )
    for a, b in zip(first.program, second.program):
        if a.label[:2] != b.label[:2] or a.args != b.args or a.out != b.out:
            return f"the step calls {a.label[1]} on one batch and {b.label[1]} on another"
        if not _same(a.label[2:], b.label[2:]):
            return f"the options of {a.label[1]} change from batch to batch"
    if first.constants.keys() != second.constants.keys():
        return "the step's constants differ from batch to batch"
    for slot, value in first.constants.items():
        if not _same(value, second.constants[slot]):
            return (
                f"a value given to {_consumer(first, slot)} changes from batch to batch: "
                "it was computed outside chainrule's ops (e.g. with NumPy from .data)"
            )
    if first.leaf_grads != second.leaf_grads:
        return "different parameters receive gradients on different batches"
    return None


def _consumer(recorder, slot):
    for instruction in recorder.program:
        if slot in instruction.args:
            return (
                instruction.label[1]
                if isinstance(instruction.label[1], str)
                else instruction.label[0]
            )
    return "an op"


def _same(a, b) -> bool:
    if is_array(a) or is_array(b):
        return (
            is_array(a)
            and type(a) is type(b)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(module_of(a).array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b
