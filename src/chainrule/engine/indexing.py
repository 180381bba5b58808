"""Primitive indexing ops: getitem and its adjoint put_at, setitem, gather, scatter, index_add.

Index arrays that are data (gather's, scatter's, index_add's) are positional inputs, never
differentiated; a getitem index is a static option. Each VJP serves both the ordinary
backward and a recorded one (create_graph).
"""

from __future__ import annotations

from .backend import module_of, xp
from .primitive import on, primitive, values


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


@primitive
def getitem(x, index):
    return x[index]


@getitem.vjp
@getitem.graph_vjp
def _(g, out, x, index):
    return (on(put_at, g, shape=x.shape, index=index),)


@primitive
def put_at(g, shape, index):
    """Zeros of `shape` with g added at `index`: the adjoint of getitem."""
    grad = module_of(g).zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        grad[index] = g
    else:
        module_of(g).add.at(grad, index, g)  # repeated integer indices accumulate
    return grad


@put_at.vjp
@put_at.graph_vjp
def _(g, out, small, shape, index):
    return (on(getitem, g, index=index),)


@primitive
def setitem(x, value, index):
    """A copy of x with x[index] = value (the recorded form of `x[index] = value`)."""
    out = x.copy()
    out[index] = value
    return out


@setitem.vjp
@setitem.graph_vjp
def _(g, out, x, value, index):
    kept = module_of(g).ones(xp.shape(values(x)), dtype=bool)
    kept[index] = False
    return g * kept, on(getitem, g, index=index)


def _check_index(name, x, index):
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must hold integers, got dtype {index.dtype}")
    if xp.ndim(index) != xp.ndim(x):
        raise ValueError(
            f"{name}: index of shape {xp.shape(index)} needs as many axes as "
            f"the input of shape {xp.shape(x)}"
        )


@primitive
def gather(x, index, axis):
    """out[i][j] = x[index[i][j]][j] along axis 0, and so on (torch.gather)."""
    _check_index("gather", x, index)
    return x[_scatter_positions(index, axis)]


@gather.vjp
@gather.graph_vjp
def _(g, out, x, index, axis):
    index = values(index)
    zeros = module_of(g).zeros(xp.shape(values(x)), dtype=g.dtype)
    return on(scatter_add, zeros, index, g, axis=axis), None


def _scatter_positions(index, axis):
    """Full integer coordinates of every element `index` names along `axis` (on the other
    axes, index may be shorter than the input, as torch allows)."""
    grids = list(module_of(index).indices(index.shape, sparse=True))
    grids[axis % index.ndim] = index
    return tuple(grids)


@primitive
def scatter_add(x, index, src, axis):
    """out = x with src[i][j] added at out[index[i][j]][j] along axis 0 (torch.scatter_add)."""
    _check_index("scatter_add", x, index)
    out = x.copy()
    module_of(out).add.at(
        out, _scatter_positions(index, axis), src[tuple(slice(n) for n in index.shape)]
    )
    return out


@scatter_add.vjp
@scatter_add.graph_vjp
def _(g, out, x, index, src, axis):
    return g, None, _gathered(g, index, src, axis)


def _gathered(g, index, src, axis):
    """g gathered at index, padded with zeros to src's shape (src may be the larger)."""
    index = values(index)
    picked = on(gather, g, index, axis=axis)
    extra = [(0, s - n) for s, n in zip(xp.shape(values(src)), index.shape)]
    return on(pad, picked, widths=tuple(extra)) if any(a for _, a in extra) else picked


@primitive
def scatter(x, index, src, axis):
    """out = x with out[index[i][j]][j] = src[i][j] along axis 0 (torch.scatter)."""
    _check_index("scatter", x, index)
    out = x.copy()
    out[_scatter_positions(index, axis)] = src[tuple(slice(n) for n in index.shape)]
    return out


@scatter.vjp
@scatter.graph_vjp
def _(g, out, x, index, src, axis):
    kept = module_of(g).ones(xp.shape(values(x)), dtype=bool)
    kept[_scatter_positions(values(index), axis)] = False
    return g * kept, None, _gathered(g, index, src, axis)


@primitive
def index_add(x, index, source, axis, alpha=1.0):
    """out = x with alpha·source's slices added at x's `index` along axis (torch.index_add)."""
    out = x.copy()
    module_of(out).add.at(out, (slice(None),) * (axis % out.ndim) + (index,), alpha * source)
    return out


@index_add.vjp
@index_add.graph_vjp
def _(g, out, x, index, source, axis, alpha=1.0):
    picked = on(getitem, g, index=(slice(None),) * (axis % g.ndim) + (values(index),))
    return g, None, alpha * picked


from .shapes import pad  # noqa: E402
