"""Primitive shape ops: reshape, transpose, concatenate, stack, clone, pad, einsum.

Each VJP serves both the ordinary backward and a recorded one (create_graph).
"""

from __future__ import annotations

from .backend import xp
from .primitive import ShapeError, on, primitive


@primitive
def reshape(x, shape):
    return xp.reshape(x, shape)


@reshape.vjp
@reshape.graph_vjp
def _(g, out, x, shape):
    return (g.reshape(x.shape),)


@primitive
def transpose(x, axes=None):
    return xp.transpose(x, axes)


@transpose.vjp
@transpose.graph_vjp
def _(g, out, x, axes=None):
    if axes is None:
        return (on(transpose, g),)
    inverse = tuple(int(i) for i in xp.argsort([a % x.ndim for a in axes]))
    return (on(transpose, g, axes=inverse),)


def _along(axis, ndim, index):
    """An index tuple that picks `index` on `axis` and everything on the other axes."""
    return (slice(None),) * (axis % ndim) + (index,)


@primitive
def concatenate(*xs, axis=0):
    return xp.concatenate(xs, axis=axis)


@concatenate.vjp
@concatenate.graph_vjp
def _(g, out, *xs, axis=0):
    grads, start = [], 0
    for x in xs:
        stop = start + x.shape[axis]
        grads.append(g[_along(axis, g.ndim, slice(start, stop))])
        start = stop
    return tuple(grads)


@primitive
def stack(*xs, axis=0):
    return xp.stack(xs, axis=axis)


@stack.vjp
@stack.graph_vjp
def _(g, out, *xs, axis=0):
    return tuple(g[_along(axis, g.ndim, i)] for i in range(len(xs)))


@primitive
def clone(x):
    return x.copy()


@clone.vjp
@clone.graph_vjp
def _(g, out, x):
    return (g,)


@primitive
def pad(x, widths, value=0.0):
    """Pad with a constant: widths is one (before, after) pair per axis, as NumPy's."""
    return xp.pad(x, widths, constant_values=value)


@pad.vjp
@pad.graph_vjp
def _(g, out, x, widths, value=0.0):
    inner = tuple(slice(before, n - after) for (before, after), n in zip(widths, g.shape))
    return (g[inner],)


def _einsum_parts(equation, count):
    if "..." in equation or "->" not in equation:
        raise ShapeError(
            f"einsum: {equation!r}: write the output with '->'; '...' is not supported"
        )
    inputs, output = equation.replace(" ", "").split("->")
    inputs = inputs.split(",")
    if len(inputs) != count:
        raise ShapeError(f"einsum: {equation!r} names {len(inputs)} operands, got {count}")
    for term in inputs:
        if len(set(term)) != len(term):
            raise ShapeError(
                f"einsum: {equation!r}: a repeated letter in one operand "
                "(a diagonal) is not supported"
            )
    return inputs, output


@primitive
def einsum(*xs, equation):
    _einsum_parts(equation, len(xs))
    return xp.einsum(equation, *xs)


@einsum.vjp
@einsum.graph_vjp
def _(g, out, *xs, equation):
    # The gradient of operand i is the einsum of g with the other operands, written to i's
    # letters; letters only i has (summed away) are broadcast back.
    inputs, output = _einsum_parts(equation, len(xs))
    grads = []
    for i, x in enumerate(xs):
        others = [term for j, term in enumerate(inputs) if j != i]
        present = "".join(c for c in inputs[i] if c in output or any(c in t for t in others))
        terms = ",".join([output, *others])
        operands = [g, *(xs[j] for j in range(len(xs)) if j != i)]
        grad = on(einsum, *operands, equation=f"{terms}->{present}")
        kept = tuple(x.shape[k] if c in present else 1 for k, c in enumerate(inputs[i]))
        grads.append(on(broadcast_to, grad.reshape(kept), shape=tuple(x.shape)))
    return tuple(grads)


from .reductions import broadcast_to  # noqa: E402
