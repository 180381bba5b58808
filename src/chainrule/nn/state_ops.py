"""The arrays of losses and layers that come from the data or change state, as primitives.

Targets built from integer labels, dropout masks and BatchNorm's running statistics are
not differentiable, but they are ops all the same: written as primitives, a compiled step
records and replays them (the labels of each batch, the generator's next draws, the buffers
updated in place), where NumPy code beside the graph would be frozen into the recording.
"""

from __future__ import annotations

from ..engine import backend, random
from ..engine.backend import array_like, module_of, xp
from ..engine.primitive import ShapeError, primitive, values
from ..engine.tensor import ChainruleError


class LossError(ChainruleError, ValueError):
    """A loss was given a bad option or targets that do not fit its input."""


def _kept_labels(name, labels, classes, ignore_index):
    """Flat labels (ignored ones set to 0) and the mask of those kept; bad labels raise."""
    labels = labels.reshape(-1)
    if unchecked_labels(classes, ignore_index):
        return labels, module_of(labels).ones(labels.shape, bool)
    if labels.size and not 0 <= ignore_index < classes:
        low, high = labels.min(), labels.max()
        if low >= 0 and high < classes:  # the common case: every label kept, in two reductions
            return labels, module_of(labels).ones(labels.shape, bool)
    kept = labels != ignore_index
    bad = kept & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise LossError(f"{name}: target {labels[bad][0]} is out of bounds for {classes} classes")
    return xp.where(kept, labels, 0), kept


def unchecked_labels(classes, ignore_index) -> bool:
    """Whether the labels' range is left unchecked: while a CUDA graph is captured (a check
    would read the data back); its replay checks the range before each launch
    (compile/graphs.py) and leaves batches with ignored or bad labels to the plain replay."""
    return backend.capturing and not 0 <= ignore_index < classes


def _no_gradient(g, out, *args, **options):
    return (None,) * len(args)


@primitive
def label_weights(labels, weights, classes=2, ignore_index=-100, name="cross_entropy"):
    """Per label its class weight, 0 for an ignored label (the 'mean' divides by their sum)."""
    safe, kept = _kept_labels(name, labels, classes, ignore_index)
    return weights[safe] * kept


label_weights.vjp(_no_gradient)
label_weights.graph_vjp(_no_gradient)


@primitive
def class_targets(
    labels, weights, classes=2, ignore_index=-100, label_smoothing=0.0, name="cross_entropy"
):
    """(n, C) target rows: w[t]·(1 − s) at the label plus w·s/C everywhere (s the label
    smoothing), zero rows for ignored labels; cross-entropy is −Σ rows·log softmax."""
    safe, kept = _kept_labels(name, labels, classes, ignore_index)
    rows = module_of(weights).zeros((len(safe), classes), weights.dtype)
    if label_smoothing:
        rows += (label_smoothing / classes) * weights * kept[:, None]
    rows[module_of(safe).arange(len(safe)), safe] += (1 - label_smoothing) * weights[safe] * kept
    return rows


class_targets.vjp(_no_gradient)
class_targets.graph_vjp(_no_gradient)


@primitive
def pick_labels(scores, labels, ignore_index=-100, name="nll_loss"):
    """scores[i, label_i] of (n, C) scores (0 for an ignored label)."""
    safe, kept = _kept_labels(name, labels, scores.shape[-1], ignore_index)
    return scores[module_of(safe).arange(len(safe)), safe] * kept


@pick_labels.vjp
def _(g, out, scores, labels, ignore_index=-100, name="nll_loss"):
    safe, kept = _kept_labels(name, labels, scores.shape[-1], ignore_index)
    grad = xp.zeros_like(scores)
    grad[module_of(safe).arange(len(safe)), safe] = g * kept
    return grad, None


@pick_labels.graph_vjp
def _(g, out, scores, labels, ignore_index=-100, name="nll_loss"):
    scores, labels = values(scores), values(labels)
    safe, kept = _kept_labels(name, labels, scores.shape[-1], ignore_index)
    picked = xp.zeros_like(scores)
    picked[module_of(safe).arange(len(safe)), safe] = kept
    return g.reshape(-1, 1) * picked, None


@primitive
def one_hot_rows(labels, num_classes=2):
    """Integer labels of shape S -> int64 rows of shape S + (num_classes,) (F.one_hot)."""
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ShapeError(
            f"one_hot: labels must lie in [0, {num_classes}), got values in "
            f"[{labels.min()}, {labels.max()}]"
        )
    return (labels[..., None] == module_of(labels).arange(num_classes)).astype(xp.int64)


one_hot_rows.vjp(_no_gradient)
one_hot_rows.graph_vjp(_no_gradient)


@primitive
def less(x, y):
    """x < y elementwise, as a boolean array (a region of a piecewise function)."""
    return xp.less(x, y)


less.vjp(_no_gradient)
less.graph_vjp(_no_gradient)


@primitive
def dropout_mask(x, p=0.5):
    """Kept elements 1/(1 − p), dropped ones 0, drawn from chainrule's generator."""
    return draw_dropout_mask(x, p)


def draw_dropout_mask(x, p, out=None):
    """dropout_mask's draw on arrays, written into `out` when given (the fused road's
    Dropout kernel): the generator's next draws either way."""
    keep = random.generator().random(x.shape) >= p  # drawn on the host: one stream everywhere
    scale = xp.asarray(0.0 if p == 1.0 else 1.0 / (1.0 - p), dtype=x.dtype)
    if out is None:
        return array_like(keep * scale, x)
    return xp.multiply(array_like(keep, out), array_like(scale, out), out=out)


dropout_mask.vjp(_no_gradient)
dropout_mask.graph_vjp(_no_gradient)


@primitive
def count_batch(counter):
    """num_batches_tracked += 1, in place; returns the counter."""
    counter += 1
    return counter


count_batch.vjp(_no_gradient)
count_batch.graph_vjp(_no_gradient)


@primitive
def running_update(running, batch, counter=None, momentum=0.1, correction=1.0):
    """running ← (1 − f)·running + f·batch·correction in place, f the momentum, or
    1/counter (a cumulative average) when momentum is None; returns running."""
    factor = 1.0 / float(counter) if momentum is None else momentum
    running *= 1 - factor
    running += factor * batch.reshape(-1) * correction
    return running


running_update.vjp(_no_gradient)
running_update.graph_vjp(_no_gradient)
