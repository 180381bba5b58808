"""Cases for nn's fused primitives: op name -> function(rng) -> list of (fn, inputs).

fn maps chainrule tensors to a tensor; inputs are float64 arrays. Integer labels are closed
over by fn (they are never differentiated). tests/nn/ compares the same ops with torch.nn.
"""

from __future__ import annotations

import numpy as np

from chainrule.nn import primitives as P
from chainrule.nn.cross_entropy import label_cross_entropy as label_ce


def linear(rng):
    found = []
    for batch in ((), (5,), (2, 3)):
        x = rng.standard_normal((*batch, 4))
        w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
        found.append((lambda x, w, b: P.linear(x, w, b), [x, w, b]))
    found.append((lambda x, w: P.linear(x, w), [rng.standard_normal((5, 2)),
                                                rng.standard_normal((3, 2))]))
    for bias_shape in ((1, 3), (5, 3)):  # other bias shapes that broadcast, as torch allows
        found.append((lambda x, w, b: P.linear(x, w, b),
                      [rng.standard_normal((5, 4)), rng.standard_normal((3, 4)),
                       rng.standard_normal(bias_shape)]))
    return found


def gelu(rng):
    x = rng.standard_normal((3, 4)) * 3
    return [(lambda t: P.gelu(t), [x]), (lambda t: P.gelu(t, approximate="tanh"), [x]),
            (lambda t: P.gelu(t), [rng.uniform(-0.6, 0.6, 7)])]


def bce_probs(rng):
    p = rng.uniform(0.05, 0.95, (4, 3))
    y = rng.uniform(0, 1, (4, 3))
    return [(lambda p, y: P.bce_probs(p, y), [p, y]),
            (lambda p: P.bce_probs(p, (y > 0.5) * 1.0), [p])]


def bce_with_logits(rng):
    z = rng.standard_normal((4, 3)) * 3
    y = rng.uniform(0, 1, (4, 3))
    pos_weight = rng.uniform(0.5, 3, 3)
    return [(lambda z, y: P.bce_with_logits(z, y), [z, y]),
            (lambda z, y, p: P.bce_with_logits(z, y, p), [z, y, pos_weight]),
            (lambda z: P.bce_with_logits(z, (y > 0.5) * 1.0, pos_weight), [z])]


def softmax_cross_entropy(rng):
    z = rng.standard_normal((5, 4)) * 2
    probs = rng.dirichlet(np.ones(4), 5)
    labels = rng.integers(0, 4, 5)
    one_hot = np.eye(4)[labels] * rng.uniform(0.5, 2, (5, 1))  # weighted rows, as cross_entropy
    return [(lambda z, q: P.softmax_cross_entropy(z, q), [z, probs]),
            (lambda z: P.softmax_cross_entropy(z, one_hot), [z]),
            (lambda z, q: P.softmax_cross_entropy(z, q), [rng.standard_normal((2, 3, 4)),
                                                          rng.dirichlet(np.ones(4), (2, 3))])]


CASES = {
    "linear": linear,
    "gelu": gelu,
    "bce_probs": bce_probs,
    "bce_with_logits": bce_with_logits,
    "softmax_cross_entropy": softmax_cross_entropy,
}


def label_cross_entropy(rng):
    labels = rng.integers(0, 4, 6)
    labels[2] = 1
    w = rng.uniform(0.5, 2, 4)
    z = rng.standard_normal((6, 4)) * 2
    return [(lambda z: label_ce(z, labels), [z]),
            (lambda z: label_ce(z, labels, w, ignore_index=1, label_smoothing=0.2),
             [z]),
            (lambda z: label_ce(z, labels, label_smoothing=0.3, reduction="sum"),
             [z])]


CASES["label_cross_entropy"] = label_cross_entropy


def normal_cdf(rng):
    return [(lambda t: P.normal_cdf(t), [rng.standard_normal((3, 4)) * 2])]


CASES["normal_cdf"] = normal_cdf
