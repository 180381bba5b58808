"""Loss functions with PyTorch's arguments, options and reductions ('mean' | 'sum' | 'none').

Cross-entropy and BCE-with-logits go through fused primitives (primitives.py): their gradient
with respect to the logits is the texts' (ŷ − y), divided by m under 'mean'.
"""

from __future__ import annotations

from ..engine import ops
from ..engine.backend import array_like, module_of, xp
from ..engine.primitive import ShapeError
from ..engine.tensor import Tensor
from .cross_entropy import label_cross_entropy
from .primitives import bce_probs, bce_with_logits, softmax_cross_entropy
from .state_ops import LossError, class_targets, label_weights, less, pick_labels

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check(name, input, target, reduction):
    if reduction not in _REDUCTIONS:
        raise LossError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if target is not None and tuple(input.shape) != tuple(xp.shape(_data(target))):
        raise ShapeError(
            f"{name}: input of shape {tuple(input.shape)} and target of shape "
            f"{tuple(xp.shape(_data(target)))} differ"
        )


def _data(x):
    return x.data if isinstance(x, Tensor) else array_like(x, None)


def mse_loss(input, target, reduction="mean"):
    """(input − target)²."""
    _check("mse_loss", input, target, reduction)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """|input − target|."""
    _check("l1_loss", input, target, reduction)
    return _reduce(ops.abs(input - target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """½d² where |d| < delta, else delta·(|d| − ½delta); d = input − target."""
    _check("huber_loss", input, target, reduction)
    if delta <= 0:
        raise LossError(f"huber_loss: delta must be positive, got {delta}")
    diff = input - target
    size = ops.abs(diff)
    quadratic = 0.5 * diff * diff
    linear = delta * (size - 0.5 * delta)
    return _reduce(ops.where(less(size, delta), quadratic, linear), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """½d²/beta where |d| < beta, else |d| − ½beta (Huber divided by beta; L1 at beta = 0)."""
    if beta < 0:
        raise LossError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) / beta


def kl_div(input, target, reduction="mean", log_target=False):
    """Σ target·(log target − input) with input log-probabilities (0 where target is 0).

    reduction 'batchmean' divides the sum by the batch size (the true KL divergence per
    example); 'mean', as torch, divides by the number of elements.
    """
    batchmean = reduction == "batchmean"
    _check("kl_div", input, target, "sum" if batchmean else reduction)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        positive = _data(target) > 0
        loss = ops.where(
            positive, target * (ops.log(ops.where(positive, target, 1.0)) - input), 0.0
        )
    if batchmean:
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """−w·[y·log x + (1 − y)·log(1 − x)] on probabilities x, each log clamped at −100."""
    _check("binary_cross_entropy", input, target, reduction)
    x = _data(input)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise LossError(
            "binary_cross_entropy: input must hold probabilities in [0, 1], got "
            f"values in [{x.min()}, {x.max()}]; use "
            "binary_cross_entropy_with_logits for logits"
        )
    loss = bce_probs(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE on σ(input), computed stably from the logits; pos_weight scales positive terms."""
    _check("binary_cross_entropy_with_logits", input, target, reduction)
    loss = bce_with_logits(input, target, pos_weight)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _classes_last(input, name):
    """Logits or log-probabilities with the class axis (1, or 0 when unbatched) moved last."""
    if input.ndim == 0:
        raise ShapeError(f"{name}: input must have a class axis, got a scalar")
    if input.ndim <= 2:
        return input
    axes = (0, *range(2, input.ndim), 1)
    return ops.transpose(input, axes=axes)


def _labels_and_weights(name, scores, target, weight):
    """The labels as an array of the scores' batch shape, and the class weights."""
    labels = _data(target)
    classes = scores.shape[-1]
    if labels.shape != scores.shape[:-1]:
        raise ShapeError(
            f"{name}: target of shape {labels.shape} does not fit input with "
            f"batch shape {scores.shape[:-1]} and {classes} classes"
        )
    weights = (
        module_of(_data(scores)).ones(classes, scores.dtype) if weight is None else _data(weight)
    )
    return labels, weights


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """−w[t]·input[t] on log-probabilities; 'mean' divides by the summed weights of kept rows."""
    _check("nll_loss", input, None, reduction)
    scores = _classes_last(input, "nll_loss")
    labels, weights = _labels_and_weights("nll_loss", scores, target, weight)
    options = {"classes": scores.shape[-1], "ignore_index": ignore_index, "name": "nll_loss"}
    sample_weights = label_weights(labels, weights, **options)
    flat = scores.reshape(-1, scores.shape[-1])
    picked = pick_labels(flat, labels, ignore_index=ignore_index)
    loss = (-picked * sample_weights).reshape(scores.shape[:-1])
    return _weighted_reduce(loss, reduction, sample_weights)


def _weighted_reduce(loss, reduction, sample_weights):
    if reduction == "mean":
        return loss.sum() / ops.sum(sample_weights)
    return _reduce(loss, reduction)


def cross_entropy(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Softmax cross-entropy of logits against class indices or class probabilities.

    Integer targets: −w[t]·log softmax(x)[t], mixed with the uniform target when
    label_smoothing > 0; rows labelled ignore_index count for nothing; 'mean' divides by the
    summed weights of the kept rows. Float targets of the input's shape are probabilities;
    'mean' divides by the number of rows. All as torch.nn.functional.cross_entropy.
    """
    _check("cross_entropy", input, None, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise LossError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    logits = _classes_last(input, "cross_entropy")
    classes = logits.shape[-1]
    target_array = _data(target)
    if target_array.dtype.kind == "f":
        if target_array.shape != tuple(input.shape) and target_array.shape == (
            tuple(input.shape[:1]) + tuple(input.shape[2:])
        ):
            raise LossError(
                f"cross_entropy: target of shape {target_array.shape} and dtype "
                f"{target_array.dtype} looks like class labels, which must be integers "
                "(as in torch: cast with .astype(np.int64)); float targets are class "
                f"probabilities of the input's shape {tuple(input.shape)}"
            )
        _check("cross_entropy", input, target, reduction)
        probs = target if isinstance(target, Tensor) else Tensor(_data(target))
        probs = _classes_last(probs, "cross_entropy")
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / classes
        if weight is not None:
            probs = probs * _data(weight)
        return _reduce(softmax_cross_entropy(logits, probs), reduction)
    labels, weights = _labels_and_weights("cross_entropy", logits, target, weight)
    if logits.ndim == 2 and reduction != "none":
        return label_cross_entropy(
            logits,
            labels,
            None if weight is None else weights,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
        )
    options = {"classes": classes, "ignore_index": ignore_index}
    sample_weights = label_weights(labels, weights, **options)
    rows = class_targets(labels, weights, label_smoothing=label_smoothing, **options)
    loss = softmax_cross_entropy(logits, rows.reshape(logits.shape))
    return _weighted_reduce(loss, reduction, sample_weights)
