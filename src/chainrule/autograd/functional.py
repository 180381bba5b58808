"""jacobian and hessian of small functions, as torch.autograd.functional (one row at a time)."""

from __future__ import annotations

from ..engine.autograd import grad
from ..engine.backend import xp
from ..engine.tensor import Tensor, enable_grad


def _fresh(inputs):
    single = isinstance(inputs, Tensor)
    tensors = [inputs] if single else list(inputs)
    return single, [Tensor(t.data.copy(), requires_grad=True) for t in tensors]


def jacobian(func, inputs, create_graph=False):
    """d func(inputs) / d inputs, shaped output.shape + input.shape (a tuple per input when
    inputs is a tuple). func returns one tensor."""
    single, xs = _fresh(inputs)
    with enable_grad():
        out = func(*xs)
        rows = [[] for _ in xs]
        for k in range(out.numel()):
            seed = xp.zeros(out.shape, dtype=out.dtype)
            seed.reshape(-1)[k] = 1
            grads = grad(
                out, xs, seed, retain_graph=True, create_graph=create_graph, allow_unused=True
            )
            for i, (x, g) in enumerate(zip(xs, grads)):
                rows[i].append(xp.zeros(x.shape, dtype=x.dtype) if g is None else g.data)
    blocks = [Tensor(xp.stack(r).reshape(out.shape + x.shape)) for r, x in zip(rows, xs)]
    return blocks[0] if single else tuple(blocks)


def hessian(func, inputs):
    """The second derivatives of a scalar func at inputs, shaped input.shape + input.shape
    (one input; for several, a tuple of tuples as torch)."""
    single, xs = _fresh(inputs)

    def gradient(*values):
        grads = grad(func(*values), list(values), create_graph=True, allow_unused=True)
        return grads

    blocks = []
    for i in range(len(xs)):
        row = jacobian(lambda *v, i=i: gradient(*v)[i], xs)
        blocks.append(row if isinstance(row, tuple) else (row,))
    return blocks[0][0] if single else tuple(blocks)
