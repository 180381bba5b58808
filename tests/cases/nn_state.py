"""Cases for nn's non-differentiable primitives (state_ops.py): each used inside a
differentiable function, so gradcheck sees it run and its output feed a gradient.

Their values are compared with torch through the losses and layers that use them (tests/nn)
and replayed by the compiled step (tests/test_compile.py).
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.engine import ops
from chainrule.nn import primitives as P
from chainrule.nn import state_ops as S


def label_weights(rng):
    labels = rng.integers(0, 4, 5)
    labels[0] = -100
    w = rng.uniform(0.5, 2, 4)
    return [(lambda z: z.sum(axis=-1) * S.label_weights(labels, w, classes=4),
             [rng.standard_normal((5, 4))])]


def class_targets(rng):
    labels = rng.integers(0, 4, 5)
    w = rng.uniform(0.5, 2, 4)
    rows = S.class_targets(labels, w, classes=4, label_smoothing=0.2)
    return [(lambda z: P.softmax_cross_entropy(z, rows), [rng.standard_normal((5, 4))])]


def pick_labels(rng):
    labels = rng.integers(0, 4, 6)
    labels[1] = 2
    return [(lambda s: S.pick_labels(s, labels, ignore_index=2), [rng.standard_normal((6, 4))])]


def less(rng):
    return [(lambda x: ops.where(S.less(x, 0.3), x * x, x), [rng.standard_normal(7)])]


def dropout_mask(rng):
    def dropped(x):
        cr.manual_seed(3)  # the same mask at every evaluation
        return x * S.dropout_mask(x, p=0.4)

    return [(dropped, [rng.standard_normal((4, 5))])]


def count_batch(rng):
    return [(lambda x: x * 2 + 0 * S.count_batch(np.zeros((), np.int64)),
             [rng.standard_normal(3)])]


def running_update(rng):
    return [(lambda x: x + 0 * S.running_update(np.zeros(3), np.ones(3)),
             [rng.standard_normal(3)])]


CASES = {
    "label_weights": label_weights,
    "class_targets": class_targets,
    "pick_labels": pick_labels,
    "less": less,
    "dropout_mask": dropout_mask,
    "count_batch": count_batch,
    "running_update": running_update,
}


def batch_norm_train(rng):
    from chainrule.nn.batch_norm_ops import batch_norm_train as bn

    x = rng.standard_normal((6, 3)) * 2 + 1
    w, b = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    x3 = rng.standard_normal((4, 2, 5))
    return [(lambda x, w, b: bn(x, w, b), [x, w, b]),
            (lambda x: bn(x, eps=1e-3), [x]),
            (lambda x, w: bn(x, w, None, np.zeros(2), np.ones(2)), [x3, rng.uniform(0.5, 2, 2)])]


CASES["batch_norm_train"] = batch_norm_train


def one_hot_rows(rng):
    labels = rng.integers(0, 4, 6)
    return [(lambda z: z * S.one_hot_rows(labels, num_classes=4), [rng.standard_normal((6, 4))])]


CASES["one_hot_rows"] = one_hot_rows
