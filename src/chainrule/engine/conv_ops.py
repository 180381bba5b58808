"""Convolution over N-d windows (N = 1 or 2 in nn) as two primitives, VJPs beside them:
conv_windows (the columns) and conv_gemm (one GEMM per group, and the bias).

x has shape (batch, channels, *spatial). A convolution is one GEMM over the windows of the
padded input (im2col, made by striding a channels-last copy); its input gradient is a GEMM
followed by a scatter-add that adds each kernel offset's slice into a strided view of the
padded input (windows.scatter). Loops run over the few kernel offsets, never over
positions, and never through np.add.at. Options as in windows.py.
"""

from __future__ import annotations

import math

from .backend import contiguous, is_device_array, module_of, product, xp
from .primitive import ShapeError, primitive
from .windows import kernel_offsets, out_sizes, pad, scatter, unpad, window_offsets


def _as_strided(x, shape, strides, writeable):
    """A strided view of x (NumPy's or CuPy's; CuPy's views are always writeable)."""
    if is_device_array(x):
        return module_of(x).lib.stride_tricks.as_strided(x, shape, strides)
    return xp.lib.stride_tricks.as_strided(x, shape, strides, writeable=writeable)


# --- convolution: out[n, o] = Σ_c Σ_k w[o, c, k] · x[n, g(o)·C/G + c, s·p + d·k] + b[o] -----
# im2col runs channels-last: a window of a (N, *size, C) array is (*kernel, C) with C
# contiguous, so it copies whole channel rows, not single floats. numpy's loops cost per
# contiguous run, so each copy and scatter picks the layout with the longer runs.


def _to_channels_last(ndim):
    """The axes that move axis 1 last (moveaxis, without its argument checks: this runs
    several times per layer and step)."""
    return (0, *range(2, ndim), 1)


def _to_channels_first(ndim):
    return (0, ndim - 1, *range(1, ndim - 1))


def _channels_last_padded(x, padding):
    """x (N, C, *size) as a zero-padded (N, *padded, C) array (one copy)."""
    sizes = [n + b + a for n, (b, a) in zip(x.shape[2:], padding)]
    out = module_of(x).zeros((x.shape[0], *sizes, x.shape[1]), dtype=x.dtype)
    inner = tuple(slice(b, b + n) for n, (b, _) in zip(x.shape[2:], padding))
    key = (slice(None), *inner)  # built outside [], where mypy reads a star as 3.11 syntax
    out[key] = x.transpose(_to_channels_last(x.ndim))
    return out


def _columns(x, kernel, stride, padding, dilation, groups):
    """im2col: (groups, batch·positions, kernel · channels/groups) and the output sizes."""
    if x.shape[1] == 1:
        return _single_channel_columns(x, kernel, stride, padding, dilation)
    padded = _channels_last_padded(x, padding)
    steps = padded.strides[1:-1]
    out = out_sizes(padded.shape[1:-1], kernel, stride, dilation)
    shape = (x.shape[0], *out, *kernel, groups, x.shape[1] // groups)
    strides = (
        padded.strides[0],
        *(t * s for t, s in zip(steps, stride)),
        *(t * d for t, d in zip(steps, dilation)),
        padded.strides[-1] * shape[-1],
        padded.strides[-1],
    )
    win = _as_strided(padded, shape, strides, writeable=False)
    if groups > 1:
        win = xp.moveaxis(win, -2, 0)
    return win.reshape(groups, x.shape[0] * math.prod(out), -1), out


def _single_channel_columns(x, kernel, stride, padding, dilation):
    """_columns of a one-channel input (a first layer), built by one copy per kernel offset:
    those copy runs along the output's rows, where a window holds only a few floats."""
    padded = pad(x, padding, 0)
    out = out_sizes(padded.shape[2:], kernel, stride, dilation)
    cols = module_of(x).empty((math.prod(kernel), x.shape[0], *out), dtype=x.dtype)
    for k, index in enumerate(window_offsets(kernel, stride, dilation, out)):
        cols[k] = padded[index][:, 0]
    return cols.reshape(cols.shape[0], -1).T[None], out  # a transposed view: BLAS takes it


def _grouped_weight(weight, groups):
    """weight (O, C/G, *kernel) as (G, O/G, kernel · C/G), matching _columns' order."""
    w = weight.reshape(groups, weight.shape[0] // groups, *weight.shape[1:])
    return w.transpose(0, 1, *range(3, weight.ndim + 1), 2).reshape(groups, w.shape[1], -1)


def conv(x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
    """Cross-correlation of x (N, C, *size) with weight (O, C/groups, *kernel), as torch.

    Two primitives: conv_windows (the columns) and conv_gemm (one GEMM), so the columns the
    forward built are the ones the weight gradient reads, not built again in its VJP."""
    dims = weight.ndim - 2
    if x.ndim != dims + 2 or x.shape[1] != weight.shape[1] * groups:
        raise ShapeError(
            f"conv: input of shape {x.shape} does not fit weight of shape "
            f"{weight.shape} with groups={groups} (expected (N, "
            f"{weight.shape[1] * groups}, ...) with {dims} spatial axes)"
        )
    kernel = tuple(weight.shape[2:])
    padded = [n + b + a for n, (b, a) in zip(x.shape[2:], padding)]
    out = tuple(out_sizes(padded, kernel, stride, dilation))
    rows = _rows_are_longer(x.shape, out, stride, groups)
    cols = conv_windows(
        x,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        rows=rows,
    )
    return conv_gemm(cols, weight, bias, batch=x.shape[0], out=out, rows=rows)


@primitive
def conv_windows(
    x, kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,), groups=1, rows=False
):
    """im2col: x's windows as (groups, batch·positions, kernel · channels/groups); `rows`
    picks how the VJP adds the windows' gradients back (see _rows_are_longer)."""
    return _columns(x, kernel_size, stride, padding, dilation, groups)[0]


@conv_windows.vjp
def _(
    gcols,
    cols,
    x,
    kernel_size=(1,),
    stride=(1,),
    padding=((0, 0),),
    dilation=(1,),
    groups=1,
    rows=False,
):
    padded = [n + b + a for n, (b, a) in zip(x.shape[2:], padding)]
    out = out_sizes(padded, kernel_size, stride, dilation)
    if rows:  # conv_gemm's VJP made gcols kernel-offset-major: (G, kernel · C/G, N·P) memory
        slabs = gcols.transpose(0, 2, 1)
        return (_input_gradient(slabs, x.shape, out, kernel_size, stride, padding, dilation),)
    return (_scatter_channels_last(gcols, x.shape, out, kernel_size, stride, padding, dilation),)


@primitive
def conv_gemm(cols, weight, bias=None, batch=1, out=(1,), rows=False):
    """The convolution's output (batch, O, *out) from conv_windows' columns: one GEMM per
    group, the bias added to the GEMM's own output (contiguous rows), then one copy."""
    groups, w = cols.shape[0], _grouped_weight(weight, groups=cols.shape[0])
    if cols.strides[1] < cols.strides[2]:  # columns laid out kernel-major (a first layer)
        y = product(w, cols.transpose(0, 2, 1))  # (G, O/G, N·P): copied back in whole rows
        if bias is not None:
            y += bias.reshape(groups, -1, 1)
        y = y.reshape(groups, -1, batch, math.prod(out)).transpose(2, 0, 1, 3)
    else:
        y = product(cols, w.transpose(0, 2, 1))  # (G, N·P, O/G)
        if bias is not None:
            y += bias.reshape(groups, 1, -1)
        y = y.reshape(groups, batch, math.prod(out), -1).transpose(1, 0, 3, 2)
    # The one copy back to channels-first (with one group the reshape alone would give a
    # strided view, and every elementwise op after it, forward and back, would run slowly).
    return contiguous(y.reshape(batch, -1, *out))


@conv_gemm.vjp
def _(g, y, cols, weight, bias=None, batch=1, out=(1,), rows=False, needs=(True, True, True)):
    groups, per_group = cols.shape[0], weight.shape[0] // cols.shape[0]
    # the output gradient as (G, O/G, N·P): one copy, read by both GEMMs
    gt = (
        g.reshape(batch, groups, per_group, -1).transpose(1, 2, 0, 3).reshape(groups, per_group, -1)
    )
    gcols = gw = gb = None
    if needs[1]:
        gw = product(gt, cols)  # (G, O/G, kernel · C/G)
        gw = gw.reshape(weight.shape[0], *weight.shape[2:], -1)
        gw = contiguous(gw.transpose(_to_channels_first(gw.ndim)))
    if needs[0]:
        w = _grouped_weight(weight, groups)  # (G, O/G, kernel · C/G)
        if rows:  # computed transposed: conv_windows' VJP adds it back offset by offset
            gcols = product(w.transpose(0, 2, 1), gt).transpose(0, 2, 1)
        else:
            gcols = product(gt.transpose(0, 2, 1), w)
    if bias is not None and needs[2]:
        # The batch axis first (whole rows at a time), then the few positions per channel:
        # several times faster than one sum over (0, 2, ...), which runs along short rows.
        gb = g.sum(axis=0).reshape(g.shape[1], -1).sum(axis=1)
    return gcols, gw, gb


def _input_gradient(slabs, shape, out, kernel, stride, padding, dilation):
    """The adjoint of _columns, rows first: slabs (G, kernel · C/G, N·P), laid out
    kernel-offset-major, so each offset's slab adds into the padded input gradient along
    whole output rows."""
    groups, batch = slabs.shape[0], shape[0]
    padded = [n + b + a for n, (b, a) in zip(shape[2:], padding)]
    slabs = slabs.reshape(groups, math.prod(kernel), -1, batch, *out)
    dims = len(out)

    def target(gx):  # (G, C/G, N, *padded), a view of gx (N, C, *padded)
        return gx.reshape(batch, groups, -1, *padded).transpose(1, 2, 0, *range(3, 3 + dims))

    parts = (
        (where, (slice(None), *index), slabs[:, k])
        for k, (_, index, where) in enumerate(kernel_offsets(kernel, stride, dilation, out))
    )
    gx = scatter((batch, *shape[1:2], *padded), slabs.dtype, target, parts)
    return contiguous(unpad(gx, shape, padding))


def _rows_are_longer(shape, out_shape, stride, groups):
    """Whether the scatter-add runs longer along output rows (unit stride) than along the
    channels of a group: numpy's loops cost per run, so the longer runs win."""
    return stride[-1] == 1 and out_shape[-1] > shape[1] // groups


def _scatter_channels_last(gcols, shape, out, kernel, stride, padding, dilation):
    """The adjoint of _columns: window gradients (G, N·P, kernel · C/G) back to the input
    gradient, added channels-last (runs of C/G floats)."""
    groups, dims = gcols.shape[0], len(kernel)
    gcols = gcols.reshape(groups, shape[0], *out, *kernel, shape[1] // groups)
    if groups > 1:
        gcols = xp.moveaxis(gcols, 0, -2)  # (N, *out, *kernel, G, C/G)
    gcols = gcols.reshape(shape[0], *out, *kernel, shape[1])
    padded = [n + b + a for n, (b, a) in zip(shape[2:], padding)]
    parts = (
        (
            where,
            index[:1] + index[2:],
            gcols[(slice(None),) * (dims + 1) + offset],
        )
        for offset, index, where in kernel_offsets(kernel, stride, dilation, out)
    )
    gx = scatter((shape[0], *padded, shape[1]), gcols.dtype, lambda a: a, parts)
    inner = tuple(slice(b, b + n) for n, (b, _) in zip(shape[2:], padding))
    key = (slice(None), *inner)
    return contiguous(gx[key].transpose(_to_channels_first(gx.ndim)))
