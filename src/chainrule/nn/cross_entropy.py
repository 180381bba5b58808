"""Cross-entropy of (n, C) logits against integer labels, its arithmetic written once.

The buffer forms below are what the eager primitive `label_cross_entropy` (buffers made per
call) and the compiled step's kernel (compile/losses.py, buffers kept across steps) both call,
so the two give the same bits:

- `label_loss_into`: each row shifted by its maximum, exp, the row sums Σ exp and their logs,
  the shifted logit at each label; the value Σ at_label·(log Σ exp − shifted logit at the
  label) (−log p at the label), plus the label smoothing's share, divided by the count;
- `label_grad_into`: (softmax·total − at_label at the label)·scale over exp, in one pass:
  exp · (total·scale / row sum), then at_label·scale taken off at each label.

NOTE: row sums are products with a vector of ones (BLAS gemv; reductions on a GPU), and the
shift, the picks and the normalization are compiled passes (chainrule.native, bit-identical to
the NumPy path, CPU only): NumPy's reductions cost several microseconds each on arrays this
small, a third of a tiny model's step.
"""

from __future__ import annotations

from .. import native
from ..engine.backend import is_device_array, module_of, xp
from ..engine.ops import exp, log_softmax
from ..engine.primitive import on, primitive, values
from ..engine.selection import where
from ..engine.tensor import is_grad_enabled
from .state_ops import _kept_labels, unchecked_labels


class SoftmaxPass:
    """The arrays one pass over (n, C) logits writes, and its constants."""

    __slots__ = (
        "exp", "log_sum", "offsets", "ones_c", "ones_n", "picked", "picks", "row_max",
        "row_sum", "shifted",
    )  # fmt: skip

    def __init__(self, shape, dtype, module=xp):
        n = shape[0]
        self.shifted = module.empty(shape, dtype)  # z − its row's maximum
        self.exp = module.empty(shape, dtype)  # exp(shifted); label_grad_into writes over it
        self.row_max, self.row_sum = module.empty(n, dtype), module.empty(n, dtype)
        self.log_sum, self.picks = module.empty(n, dtype), module.empty(n, dtype)
        self.picked = module.empty(n, module.intp)  # the flat index of each row's label
        # The flat index of each row's first class, and vectors of ones to sum with.
        self.offsets, self.ones_n, self.ones_c = _constants(shape, dtype, module)


_kept_constants: dict = {}  # (shape, dtype) -> SoftmaxPass constants, host arrays only


def _constants(shape, dtype, module):
    n, classes = shape
    shape = tuple(shape)
    found = _kept_constants.get((shape, dtype)) if module is xp else None
    if found is None:
        found = (module.arange(n) * classes, module.ones(n, dtype), module.ones(classes, dtype))
        if module is xp:  # read-only, shared by every pass of this shape (a few shapes in all)
            for array in found:
                array.flags.writeable = False
            if len(_kept_constants) >= 64:
                _kept_constants.clear()
            _kept_constants[shape, dtype] = found
    return found


def _row_max(z, out):
    classes = z.shape[1]
    if classes <= 4:  # a few columns: elementwise maxima beat a reduction
        xp.maximum(z[:, 0], z[:, -1], out=out)
        for c in range(1, classes - 1):
            xp.maximum(out, z[:, c], out=out)
        return out
    return z.max(axis=1, out=out)


def _dot(a, v, out=None):
    """a·v for a matrix or vector a and a vector v: BLAS on the host; on a GPU a product and a
    reduction (CuPy's dot calls cuBLAS, which a CUDA graph's capture refuses)."""
    if is_device_array(a):
        return (a * v).sum(axis=-1, out=out)
    return xp.dot(a, v, out=out)


def label_loss_into(buffers, z, labels, count, at_label=None, smoothing=None):
    """Cross-entropy's value for logits z and labels in range (signed, or unsigned of fewer
    than 64 bits: they are added to intp offsets), its intermediates written into `buffers`
    (a SoftmaxPass of z's shape and dtype, which label_grad_into reads next): each row's
    maximum, z shifted by it, exp, the row sums and their logs, the shifted logit at each
    label; then Σ at_label·(log Σ exp − that logit) (at_label None: 1), plus for label
    smoothing (v, Σv, kept): Σ kept·v·(log Σ exp − shifted) (kept None: all), / count."""
    b = buffers
    picked = xp.add(b.offsets, labels, out=b.picked)
    if not native.cross_entropy_shift(b.shifted, b.row_max, b.picks, z, picked):
        xp.subtract(z, _row_max(z, b.row_max)[:, None], out=b.shifted)
        b.shifted.reshape(-1).take(picked, out=b.picks)
    xp.exp(b.shifted, out=b.exp)
    _dot(b.exp, b.ones_c, out=b.row_sum)
    xp.log(b.row_sum, out=b.log_sum)
    per_row = xp.subtract(b.log_sum, b.picks, out=b.picks)  # −log p at each label
    if at_label is not None:
        per_row *= at_label
    if smoothing is not None:  # Σ_c v_c·(−log p_c) = log Σ exp · Σv − shifted·v, per kept row
        v, v_sum, kept = smoothing
        spread = xp.subtract(b.log_sum * v_sum, _dot(b.shifted, v), out=b.row_max)
        if kept is not None:
            spread *= kept
        per_row += spread
    return _dot(per_row, b.ones_n) / count


def gradient_scales(g, dtype, count, total=1.0, at_label=1.0):
    """(scale, factor, label_step) for the upstream gradient g of the loss, in `dtype`: the
    gradient (softmax·total − at_label at the label)·scale, scale = g / count, is
    exp · (factor / row_sum) less label_step at each label (label_grad_into), with factor =
    total·scale and label_step = at_label·scale. Python numbers where they are one number on
    the host, as the compiled passes take them (values of `dtype`, so exactly)."""
    host = type(g) is xp.ndarray or isinstance(g, (xp.generic, float, int))
    g = dtype.type(g) if host else g.astype(dtype, copy=False)
    scale = g / count
    factor = total * scale
    label_step = factor if at_label is total else at_label * scale
    if isinstance(factor, xp.generic) and isinstance(label_step, xp.generic):
        return scale, float(factor), float(label_step)
    return scale, factor, label_step


def label_grad_into(buffers, factor, label_step):
    """The gradient with respect to z, written over buffers.exp (after label_loss_into):
    exp · (factor / row_sum) per row, less label_step at each label (gradient_scales gives
    both, numbers or per-row arrays)."""
    b, grad = buffers, buffers.exp
    if not native.cross_entropy_normalize(grad, b.row_max, b.row_sum, b.picked, factor, label_step):
        factors = xp.divide(factor, b.row_sum, out=b.row_max)
        xp.multiply(grad, factors[:, None], out=grad)
        grad.reshape(-1)[b.picked] -= label_step
    return grad


# --- the primitive ------------------------------------------------------------------------


_UINT64 = xp.dtype(xp.uint64)


class _LabelRows:
    """What the value and the VJP share: the flat labels and each row's target weight at its
    label (`at_label`) and in all (`total`), in z's dtype, and the SoftmaxPass of z the
    value was computed in. Both weights are plain numbers (1.0) in the common case: every label
    kept, no class weights."""

    def __init__(self, z, labels, weights, ignore_index, label_smoothing):
        classes = z.shape[-1]
        self.module = module_of(z)
        self.labels, kept = _kept_labels("cross_entropy", labels, classes, ignore_index)
        if self.labels.dtype == _UINT64:  # in range: exact as intp, which the offsets are
            self.labels = self.labels.astype(self.module.intp)
        self.weights = None if weights is None else weights.astype(z.dtype, copy=False)
        per_row = 1.0 if self.weights is None else self.weights[self.labels]
        all_kept = unchecked_labels(classes, ignore_index) or kept.all()
        self.kept = None if all_kept else kept.astype(z.dtype)
        self.kept_rows = None if all_kept else kept  # (bool), to skip the others as torch
        if self.kept is not None:
            per_row = per_row * self.kept
        self.count = float(len(kept)) if isinstance(per_row, float) else per_row.sum()
        self.at_label = (1 - label_smoothing) * per_row
        self.spread = label_smoothing / classes
        self.plain = isinstance(self.at_label, float) and self.at_label == 1.0
        self.total = self.at_label  # without smoothing: the same array
        if label_smoothing:
            whole = classes if self.weights is None else self.weights.sum()
            self.spread_sum = spread = self.spread * whole
            self.total = self.at_label + (spread if self.kept is None else spread * self.kept)
        self.buffers = None  # the SoftmaxPass, once label_loss made it

    def dense(self, shape, dtype):
        """The (n, C) target rows themselves: at_label at each label plus the smoothing."""
        rows = self.module.zeros(shape, dtype)
        if self.spread:
            rows += self.spread * self.smoothing_rows(dtype)
        rows[module_of(self.labels).arange(shape[0]), self.labels] += self.at_label
        return rows

    def smoothing_rows(self, dtype):
        """Each row's weights before the smoothing factor: kept·w (or kept), shape (n, C)."""
        rows = self.module.ones((), dtype) if self.weights is None else self.weights
        return rows if self.kept is None else self.kept[:, None] * rows


@primitive
def label_cross_entropy(
    z, labels, weights=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"
):
    """Cross-entropy of (n, C) logits against n integer labels with torch's options, reduced
    by 'sum' or 'mean' (over the summed weights of the kept rows).

    NOTE: fused (one forward, one VJP) where the composition of class_targets, label_weights
    and softmax_cross_entropy makes about ten calls: a small model's step is made of calls."""
    rows = _LabelRows(z, labels, weights, ignore_index, label_smoothing)
    if is_grad_enabled():  # else no VJP follows: kept, they would hold z's memory for nothing
        _latest_rows[0] = (z, labels, weights, ignore_index, label_smoothing, rows)
    return label_loss(rows, z, reduction)


# The latest forward's _LabelRows, for the VJP that follows it: built from the same arrays and
# options they are the same numbers, and a small model's step spends a tenth of its time
# building them (the softmax pass and the label checks). The VJP takes them (writing the
# gradient over their exp), so a second VJP of the same forward builds its own.
_latest_rows: list = [None]


def _rows_for_vjp(z, labels, weights, ignore_index, label_smoothing, reduction):
    latest, _latest_rows[0] = _latest_rows[0], None
    if (
        latest is not None
        and latest[0] is z
        and latest[1] is labels
        and latest[2] is weights
        and latest[3] == ignore_index
        and latest[4] == label_smoothing
    ):
        return latest[5]
    rows = _LabelRows(z, labels, weights, ignore_index, label_smoothing)
    label_loss(rows, z, reduction)  # the pass the gradient reads
    return rows


def _count(rows, reduction):
    return rows.count if reduction == "mean" else 1.0


def label_loss(rows, z, reduction):
    """label_cross_entropy's value from its _LabelRows (which keep the pass's buffers)."""
    rows.buffers = b = SoftmaxPass(z.shape, z.dtype, rows.module)
    at_label = None if rows.plain else rows.at_label
    smoothing = None
    if rows.spread:  # each class's smoothing weight, their sum, the kept rows
        v = rows.spread * (b.ones_c if rows.weights is None else rows.weights)
        smoothing = (v, rows.spread_sum, rows.kept)
    count = _count(rows, reduction)
    if rows.kept_rows is not None:  # an ignored row's logits play no part, even NaN ones
        z = rows.module.where(rows.kept_rows[:, None], z, 0)
    if count == 0:  # every row ignored, 'mean': torch's NaN, without a division by zero
        label_loss_into(rows.buffers, z, rows.labels, 1.0, at_label, smoothing)
        return rows.module.asarray(float("nan"), z.dtype)
    return label_loss_into(rows.buffers, z, rows.labels, count, at_label, smoothing)


@label_cross_entropy.vjp
def _(g, out, z, labels, weights=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    rows = _rows_for_vjp(z, labels, weights, ignore_index, label_smoothing, reduction)
    return label_grad(rows, g, z, reduction), None, None


def label_grad(rows, g, z, reduction):
    """label_cross_entropy's gradient with respect to z for the upstream g (written over
    rows.buffers.exp)."""
    count = _count(rows, reduction)
    if count == 0:  # every row ignored, 'mean': no row has a gradient (torch's zeros)
        return rows.module.zeros_like(z)
    scale, factor, label_step = gradient_scales(g, z.dtype, count, rows.total, rows.at_label)
    grad = label_grad_into(rows.buffers, factor, label_step)
    if rows.spread:
        grad -= rows.spread * scale * rows.smoothing_rows(z.dtype)
    return grad


@label_cross_entropy.graph_vjp
def _(g, out, z, labels, weights=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    array = values(z)
    rows = _LabelRows(array, values(labels), values(weights), ignore_index, label_smoothing)
    count = _count(rows, reduction)
    if count == 0:  # every row ignored, 'mean': no row has a gradient (as label_grad)
        return g * rows.module.zeros_like(array), None, None
    if rows.kept_rows is not None:  # an ignored row's logits play no part (as label_loss)
        z = on(where, rows.kept_rows[:, None], z, rows.module.zeros((), array.dtype))
    total = rows.total
    if getattr(total, "ndim", 0):
        total = total[:, None]
    probs = on(exp, on(log_softmax, z, axis=-1))
    return (probs * total - rows.dense(array.shape, array.dtype)) * (g / count), None, None
