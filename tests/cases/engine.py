"""Cases for the engine's primitives: op name -> function(rng) -> list of cases.

A case is (fn, inputs) or (fn, inputs, torch_fn). fn maps chainrule tensors to a tensor;
inputs are float64 arrays (a bool array is a condition, never differentiated); torch_fn, where
given, computes the same thing from torch tensors (tests/test_ops_torch.py compares the two).
Values stay away from kinks and ties, where central differences mean nothing; the torch
comparison covers kinks and ties separately (tests/test_ops_torch.py).
"""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def shape(rng, ndim=None, high=4):
    ndim = int(rng.integers(0, 4)) if ndim is None else ndim
    return tuple(int(n) for n in rng.integers(1, high + 1, size=ndim))


def partner(rng, full):
    """A shape that broadcasts against `full`: some leading axes dropped, some set to 1."""
    keep = int(rng.integers(0, len(full) + 1))
    return tuple(1 if rng.random() < 0.4 else n for n in full[len(full) - keep:])


def normal(rng, shp):
    return rng.standard_normal(shp)


def positive(rng, shp):
    return rng.uniform(0.5, 2.0, shp)


def nonzero(rng, shp):
    """Away from 0, where abs, relu and friends have a kink."""
    return rng.choice([-1.0, 1.0], shp) * rng.uniform(0.2, 2.0, shp)


def distinct(rng, shp):
    """No two elements within 0.05 of each other, so max/min have no ties."""
    n = int(np.prod(shp))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.05, n) - n * 0.05).reshape(shp)


def both(fn, *inputs):
    """A case whose fn is written with operators and methods both libraries share."""
    return (fn, list(inputs), fn)


def broadcast_shapes(rng):
    full = shape(rng, ndim=int(rng.integers(1, 4)))
    other = partner(rng, full)
    return [(full, full), (full, other), (other, full)]


def binary(fn, left=normal, right=normal):
    def cases(rng):
        found = [both(fn, left(rng, a), right(rng, b)) for a, b in broadcast_shapes(rng)]
        found.append(both(lambda x: fn(x, 1.5), left(rng, shape(rng))))
        found.append(both(lambda y: fn(0.75, y), right(rng, shape(rng))))
        return found

    return cases


def unary(fn, values=normal, torch_fn=None):
    def cases(rng):
        return [(fn, [values(rng, shape(rng, ndim))], torch_fn or fn) for ndim in (0, 1, 2, 3)]

    return cases


def matmul(rng):
    n, k, m, b = (int(v) for v in rng.integers(1, 5, size=4))
    pairs = [((n, k), (k, m)), ((k,), (k, m)), ((n, k), (k,)), ((k,), (k,)),
             ((b, n, k), (k, m)), ((2, b, n, k), (b, k, m)), ((k,), (b, k, m)), ((b, n, k), (k,))]
    return [both(lambda x, y: x @ y, normal(rng, p), normal(rng, q)) for p, q in pairs]


def softmax_like(method):
    def cases(rng):
        found = []
        for axis in (-1, 0, 1):
            x = normal(rng, shape(rng, ndim=3)) * 3
            found.append((lambda t, a=axis: getattr(t, method)(axis=a), [x],
                          lambda t, a=axis: getattr(t, method)(dim=a)))
        return found

    return cases


def clip(rng):
    x = nonzero(rng, (3, 4)) * 2
    x[np.abs(np.abs(x) - 1.0) < 0.05] = 0.3  # keep clear of the bounds
    return [(lambda t: t.clip(-1.0, 1.0), [x], lambda t: t.clamp(-1.0, 1.0)),
            (lambda t: t.clip(min=-1.0), [x], lambda t: t.clamp(min=-1.0)),
            (lambda t: t.clip(max=1.0), [x], lambda t: t.clamp(max=1.0))]


def extremum_pair(name):
    def cases(rng):
        found = []
        for a, b in broadcast_shapes(rng):
            x = distinct(rng, a)
            y = distinct(rng, b) + 0.025  # distinct() values are 0.05 apart: no ties
            found.append((lambda s, t: getattr(cr, name)(s, t), [x, y],
                          lambda s, t: getattr(torch, name)(s, t)))
        return found

    return cases


def where(rng):
    found = []
    for a, b in broadcast_shapes(rng):
        condition = rng.random(a) < 0.5
        found.append((lambda c, x, y: cr.where(c, x, y), [condition, normal(rng, a),
                      normal(rng, b)], lambda c, x, y: torch.where(c, x, y)))
    return found


def astype(rng):
    return [(lambda x: x.astype(np.float64) * 2, [normal(rng, (2, 3))],
             lambda x: x.to(torch.float64) * 2)]


def to_device(rng):
    # the primitive itself (Tensor.to skips it when the device does not change); CPU to CPU
    # here, CUDA in tests/test_cuda.py
    return [(lambda x: cr.engine.ops.to_device(x, device="cpu") * 2, [normal(rng, (2, 3))],
             lambda x: x.to("cpu") * 2)]


def reduction(name, torch_name, values=normal):
    def cases(rng):
        x = values(rng, (2, 3, 4))
        found = []
        for axis, keepdims in ((None, False), (None, True), (0, False), (-1, True),
                               ((0, 2), False), ((1, -1), True)):
            torch_kwargs = {} if axis is None else {"dim": axis, "keepdim": keepdims}
            found.append((lambda t, a=axis, k=keepdims: getattr(t, name)(axis=a, keepdims=k),
                          [x], _torch_reduce(torch_name, axis, keepdims)))
        found.append(both(lambda t: getattr(t, name)(), values(rng, ())))
        return found

    return cases


def _torch_reduce(name, axis, keepdims):
    if axis is None:
        ones = (1,) * 3
        return lambda t: getattr(t, name)().reshape(ones if keepdims else ())
    return lambda t: getattr(t, name)(dim=axis, keepdim=keepdims)


def reshape(rng):
    x = normal(rng, (2, 3, 4))
    return [both(lambda t: t.reshape(6, 4), x), both(lambda t: t.reshape((4, -1)), x),
            both(lambda t: t.reshape(-1), x), both(lambda t: t.reshape(1, 1), normal(rng, ()))]


def transpose(rng):
    x = normal(rng, (2, 3, 4))
    return [(lambda t: t.transpose(), [x], lambda t: t.permute(2, 1, 0)),
            (lambda t: t.transpose(1, 2, 0), [x], lambda t: t.permute(1, 2, 0)),
            (lambda t: t.transpose((-1, 0, 1)), [x], lambda t: t.permute(2, 0, 1)),
            both(lambda t: t.T, normal(rng, (3, 5)))]


def broadcast_to(rng):
    found = []
    for a, b in broadcast_shapes(rng)[1:2]:
        found.append((lambda t, s=a: t.broadcast_to(s), [normal(rng, b)],
                      lambda t, s=a: t.broadcast_to(s)))
    found.append(both(lambda t: t.broadcast_to((2, 3, 4)), normal(rng, (3, 1))))
    return found


def getitem(rng):
    x = normal(rng, (4, 5))
    labels = np.array([1, 4, 0, 1])
    rows = np.array([0, 2, 0, 3, 0])  # repeated rows: their gradients add up
    mask = rng.random((4, 5)) < 0.5
    return [both(lambda t: t[1:, ::2], x), both(lambda t: t[2], x), both(lambda t: t[-1, 3], x),
            both(lambda t: t[None, ..., 1:3], x),
            both(lambda t: t[np.arange(4), labels], x),
            both(lambda t: t[rows], x), both(lambda t: t[rows, 1:], x),
            (lambda t: t[mask], [x], lambda t: t[torch.from_numpy(mask)]),
            (lambda t: t[::-1], [x], lambda t: t.flip(0))]


def join(name, torch_name):
    def cases(rng):
        found = []
        for axis in (0, 1, -1):
            shapes = [(2, 3), (2, 3), (2, 3)]
            if name == "concatenate":
                shapes = [(2, 3), (1, 3), (4, 3)] if axis == 0 else [(2, 3), (2, 1), (2, 2)]
            arrays = [normal(rng, s) for s in shapes]
            found.append((lambda *ts, a=axis: getattr(cr, name)(list(ts), axis=a), arrays,
                          lambda *ts, a=axis: getattr(torch, torch_name)(ts, dim=a)))
        return found

    return cases


CASES = {
    "add": binary(lambda x, y: x + y),
    "sub": binary(lambda x, y: x - y),
    "mul": binary(lambda x, y: x * y),
    "div": binary(lambda x, y: x / y, right=nonzero),
    "pow": binary(lambda x, y: x**y, left=positive),
    "neg": unary(lambda x: -x),
    "abs": unary(lambda x: abs(x), values=nonzero),
    "matmul": matmul,
    "exp": unary(lambda x: x.exp()),
    "log": unary(lambda x: x.log(), values=positive),
    "sqrt": unary(lambda x: x.sqrt(), values=positive),
    "tanh": unary(lambda x: x.tanh()),
    "sigmoid": unary(lambda x: (x * 4).sigmoid()),
    "relu": unary(lambda x: x.relu(), values=nonzero),
    "leaky_relu": unary(lambda x: x.leaky_relu(0.1), values=nonzero,
                        torch_fn=lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    "softmax": softmax_like("softmax"),
    "log_softmax": softmax_like("log_softmax"),
    "clip": clip,
    "maximum": extremum_pair("maximum"),
    "minimum": extremum_pair("minimum"),
    "where": where,
    "astype": astype,
    "to_device": to_device,
    "sum": reduction("sum", "sum"),
    "mean": reduction("mean", "mean"),
    "max": reduction("max", "amax", values=distinct),
    "min": reduction("min", "amin", values=distinct),
    "reshape": reshape,
    "transpose": transpose,
    "broadcast_to": broadcast_to,
    "getitem": getitem,
    "concatenate": join("concatenate", "cat"),
    "stack": join("stack", "stack"),
}
