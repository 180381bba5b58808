"""Cases for the engine's primitives added for PyTorch parity (issue 14): scans, einsum,
indexing (gather, scatter, index_add, setitem, put_at), pad, clone and softplus.

Same shape as tests/cases/engine.py: op name -> function(rng) -> list of (fn, inputs, torch_fn).
Integer indices are closed over by fn (they are never differentiated).
"""

from __future__ import annotations

import numpy as np
import torch

from chainrule.engine import ops


def normal(rng, shape):
    return rng.standard_normal(shape)


def clone(rng):
    return [(lambda t: t.clone() * 2, [normal(rng, (2, 3))], lambda t: t.clone() * 2)]


def cumsum(rng):
    x = normal(rng, (3, 4))
    return [(lambda t, a=a: t.cumsum(dim=a), [x], lambda t, a=a: t.cumsum(dim=a))
            for a in (0, 1, -1)]


def logsumexp(rng):
    x = normal(rng, (2, 3, 4)) * 3
    found = [(lambda t: t.logsumexp(dim=1), [x], lambda t: t.logsumexp(dim=1)),
             (lambda t: t.logsumexp(dim=(0, 2), keepdim=True), [x],
              lambda t: t.logsumexp(dim=(0, 2), keepdim=True)),
             (lambda t: t.logsumexp(), [x], lambda t: t.logsumexp(dim=(0, 1, 2)))]
    return found


EINSUMS = {"ij,jk->ik": [(3, 4), (4, 2)], "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
           "i,i->": [(4,), (4,)], "ij->j": [(3, 4)], "ij->": [(3, 4)], "i,j->ij": [(3,), (2,)],
           "ijk,ik->j": [(2, 3, 4), (2, 4)], "ij->ji": [(2, 3)]}


def einsum(rng):
    import chainrule as cr

    return [(lambda *ts, e=eq: cr.einsum(e, *ts), [normal(rng, s) for s in shapes],
             lambda *ts, e=eq: torch.einsum(e, *ts)) for eq, shapes in EINSUMS.items()]


def gather(rng):
    x = normal(rng, (4, 5))
    across = rng.integers(0, 5, (4, 3))
    down = rng.integers(0, 4, (2, 5))
    return [(lambda t: t.gather(1, across), [x], lambda t: t.gather(1, torch.from_numpy(across))),
            (lambda t: t.gather(dim=0, index=down), [x],
             lambda t: t.gather(0, torch.from_numpy(down)))]


def _rows(rng):
    """A (2, 5) index into 3 rows, distinct down each column (scatter's writes never clash)."""
    return np.stack([rng.permutation(3)[:2] for _ in range(5)], axis=1)


def scatter(rng):
    index = _rows(rng)
    return [(lambda x, s: x.scatter(0, index, s), [normal(rng, (3, 5)), normal(rng, (2, 5))],
             lambda x, s: x.scatter(0, torch.from_numpy(index), s)),
            (lambda x, s: x.scatter(0, index[:, :3], s), [normal(rng, (3, 5)),
                                                          normal(rng, (2, 3))],
             lambda x, s: x.scatter(0, torch.from_numpy(index[:, :3]), s)),
            # a src larger than the index (torch's forward allows it; its backward fails)
            (lambda x, s: x.scatter(0, index[:, :3], s), [normal(rng, (3, 5)),
                                                          normal(rng, (2, 4))])]


def scatter_add(rng):
    index = rng.integers(0, 3, (4, 5))  # repeats accumulate
    return [(lambda x, s: x.scatter_add(0, index, s), [normal(rng, (3, 5)), normal(rng, (4, 5))],
             lambda x, s: x.scatter_add(0, torch.from_numpy(index), s))]


def index_add(rng):
    index = np.array([0, 2, 0])
    return [(lambda x, s: x.index_add(0, index, s), [normal(rng, (4, 3)), normal(rng, (3, 3))],
             lambda x, s: x.index_add(0, torch.from_numpy(index), s)),
            (lambda x, s: x.index_add(1, index, s, alpha=2.0), [normal(rng, (2, 4)),
                                                                normal(rng, (2, 3))],
             lambda x, s: x.index_add(1, torch.from_numpy(index), s, alpha=2.0))]


def pad(rng):
    x = normal(rng, (2, 3))
    return [(lambda t: ops.pad(t, widths=((1, 2), (0, 1)), value=0.5), [x],
             lambda t: torch.nn.functional.pad(t, (0, 1, 1, 2), value=0.5))]


def _torch_put(shape, index, accumulate=False):
    def put(g):
        zeros = torch.zeros(shape, dtype=g.dtype)
        return zeros.index_put(index, g, accumulate=True)

    return put


def put_at(rng):
    rows = np.array([0, 2, 0])
    return [(lambda g: ops.put_at(g, shape=(3, 4), index=(rows,)), [normal(rng, (3, 4))],
             _torch_put((3, 4), (torch.from_numpy(rows),))),
            (lambda g: ops.put_at(g, shape=(3, 4), index=(slice(1, 3),)), [normal(rng, (2, 4))],
             lambda g: torch.nn.functional.pad(g, (0, 0, 1, 0)))]


def _torch_set(index):
    def set_(x, v):
        y = x.clone()
        y[index] = v
        return y

    return set_


def setitem(rng):
    rows = np.array([2, 0])
    return [(lambda x, v: ops.setitem(x, v, index=(slice(1, 3),)), [normal(rng, (4, 3)),
                                                                    normal(rng, (2, 3))],
             _torch_set(slice(1, 3))),
            (lambda x, v: ops.setitem(x, v, index=(rows,)), [normal(rng, (4, 3)),
                                                             normal(rng, (3,))],
             _torch_set(torch.from_numpy(rows)))]


def softplus(rng):
    x = normal(rng, (3, 4)) * 4
    x[np.abs(x - 2.5) < 0.1] = 0.3  # away from the switch at beta·x = threshold
    return [(lambda t: ops.softplus(t), [x], torch.nn.functional.softplus),
            (lambda t: ops.softplus(t, beta=2.0, threshold=5.0), [x],
             lambda t: torch.nn.functional.softplus(t, beta=2.0, threshold=5.0))]


CASES = {
    "clone": clone, "cumsum": cumsum, "logsumexp": logsumexp, "einsum": einsum,
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add, "index_add": index_add,
    "pad": pad, "put_at": put_at, "setitem": setitem, "softplus": softplus,
}
