"""Central-difference gradient checks of any function of tensors, in float64.

    [f(θ + ε) − f(θ − ε)] / (2ε)

Small inputs get the full Jacobian, element by element. Large ones get random projections:
⟨u, J v⟩ from two evaluations of f along v, against ⟨Jᵀu, v⟩ from one backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine.tensor import ChainruleError, Tensor, enable_grad


class GradcheckError(ChainruleError, AssertionError):
    """Analytic and numerical gradients disagree."""


@dataclass
class InputReport:
    index: int
    mode: str  # "full" or "projection"
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple  # element of the input (full) or (projection number,)
    passed: bool


@dataclass
class GradcheckResult:
    passed: bool
    inputs: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def __bool__(self):
        return self.passed

    def __str__(self):
        lines = ["input  mode        max abs err   max rel err   worst element   ok"]
        for r in self.inputs:
            lines.append(
                f"{r.index:<6} {r.mode:<11} {r.max_abs_error:<13.3e} {r.max_rel_error:<13.3e} "
                f"{r.worst_index!s:<15} {'yes' if r.passed else 'NO'}"
            )
        return "\n".join(lines + self.notes)


def _evaluate(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, Tensor) else Tensor(np.asarray(out, dtype=np.float64))


def _prepare(inputs, notes):
    """float64 copies of the inputs; the positions of those to check."""
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in inputs]
    floating = [i for i, t in enumerate(tensors) if t.dtype.kind == "f"]
    checked = [i for i in floating if tensors[i].requires_grad] or floating
    prepared = []
    for i, t in enumerate(tensors):
        data = t.data
        if i in floating and data.dtype != np.float64:
            notes.append(f"note: input {i} upcast from {data.dtype} to float64")
            data = data.astype(np.float64)
        prepared.append(Tensor(data.copy(), requires_grad=i in checked))
    return prepared, checked


def _analytic_vjp(fn, inputs, seed):
    """Jᵀ·seed for every input, by one backward pass."""
    for t in inputs:
        t.grad = None
    with enable_grad():
        out = _evaluate(fn, inputs)
    if out.requires_grad:
        out.backward(seed.reshape(out.shape))
    return [np.zeros_like(t.data) if t.grad is None else t.grad for t in inputs]


def _directional(fn, inputs, i, direction, eps):
    """(f(x + εv) − f(x − εv)) / 2ε for input i moved along v."""
    base = inputs[i].data
    values = []
    for sign in (1.0, -1.0):
        moved = list(inputs)
        moved[i] = Tensor(base + sign * eps * direction)
        values.append(_evaluate(fn, moved).data.astype(np.float64))
    return (values[0] - values[1]) / (2 * eps)


def _report(index, mode, analytic, numeric, atol, rtol, positions):
    abs_err = np.abs(analytic - numeric)
    rel_err = abs_err / np.maximum(np.abs(numeric), 1e-12)
    worst = int(np.argmax(abs_err - rtol * np.abs(numeric)))
    passed = bool(np.all(abs_err <= atol + rtol * np.abs(numeric)))
    return InputReport(
        index,
        mode,
        float(abs_err.max(initial=0.0)),
        float(rel_err.max(initial=0.0)),
        positions(worst),
        passed,
    )


def _check_full(fn, inputs, i, out_shape, eps, atol, rtol):
    x = inputs[i]
    out_size = int(np.prod(out_shape))
    numeric = np.empty((out_size, x.size))
    for j in range(x.size):
        direction = np.zeros(x.shape)
        direction.flat[j] = 1.0
        numeric[:, j] = _directional(fn, inputs, i, direction, eps).ravel()
    analytic = np.empty_like(numeric)
    for k in range(out_size):
        seed = np.zeros(out_size)
        seed[k] = 1.0
        analytic[k] = _analytic_vjp(fn, inputs, seed)[i].ravel()
    return _report(
        i,
        "full",
        analytic,
        numeric,
        atol,
        rtol,
        lambda w: tuple(int(k) for k in np.unravel_index(w % max(x.size, 1), x.shape)),
    )


def _check_projections(fn, inputs, i, out_shape, eps, atol, rtol, count, rng):
    analytic, numeric = np.empty(count), np.empty(count)
    for p in range(count):
        u = rng.standard_normal(out_shape)
        v = rng.standard_normal(inputs[i].shape)
        analytic[p] = np.sum(_analytic_vjp(fn, inputs, u)[i] * v)
        numeric[p] = np.sum(u * _directional(fn, inputs, i, v, eps))
    return _report(i, "projection", analytic, numeric, atol, rtol, lambda w: (w,))


def gradcheck(
    fn,
    *inputs,
    eps=1e-6,
    atol=1e-5,
    rtol=1e-3,
    raise_on_fail=False,
    full_limit=512,
    projections=6,
    seed=0,
) -> GradcheckResult:
    """Compare fn's autodiff gradients with central differences for each floating input.

    Inputs that require grad are checked (all floating inputs if none does). An input with
    at most `full_limit` Jacobian entries is checked in full, a larger one by `projections`
    random projections. Returns a GradcheckResult (truthy when every input passes).
    """
    notes: list[str] = []
    prepared, checked = _prepare(inputs, notes)
    out_shape = _evaluate(fn, prepared).shape
    rng = np.random.default_rng(seed)
    reports = []
    for i in checked:
        if prepared[i].size * max(int(np.prod(out_shape)), 1) <= full_limit:
            reports.append(_check_full(fn, prepared, i, out_shape, eps, atol, rtol))
        else:
            reports.append(
                _check_projections(fn, prepared, i, out_shape, eps, atol, rtol, projections, rng)
            )
    result = GradcheckResult(all(r.passed for r in reports), reports, notes)
    if raise_on_fail and not result.passed:
        failures = "; ".join(
            f"input {r.index}: max abs error {r.max_abs_error:.3e} at element {r.worst_index}"
            for r in reports
            if not r.passed
        )
        raise GradcheckError(f"gradcheck failed for {failures}\n{result}")
    return result
