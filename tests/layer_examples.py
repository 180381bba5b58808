"""An example of every layer chainrule has, with an input shape: the ONNX export test and the
GPU test (test_cuda.py) run each one."""

from __future__ import annotations

import numpy as np

import chainrule as cr

nn = cr.nn


def _trained_batch_norm(layer_class, n, shape):
    """A batch norm whose running statistics and affine parameters are not the defaults."""
    def build():
        layer = layer_class(n)
        rng = np.random.default_rng(3)
        for _ in range(3):  # a few training steps move the running statistics
            layer(cr.tensor(rng.normal(2.0, 3.0, size=(8, *shape)).astype(np.float32)))
        layer.weight.data[...] = rng.uniform(0.5, 2.0, n)
        layer.bias.data[...] = rng.normal(size=n)
        return layer
    return build


def _randomized_layer_norm(shape, **kwargs):
    def build():
        layer = nn.LayerNorm(shape, **kwargs)
        rng = np.random.default_rng(4)
        for p in layer.parameters():
            p.data[...] = rng.normal(size=p.shape)
        return layer
    return build


# name -> [(model factory, input shape without the batch axis)]: every layer class chainrule
# has must appear (see test_onnx_export.test_every_layer_has_an_export_case).
LAYER_EXAMPLES = {
    "Linear": [(lambda: nn.Linear(5, 3), (5,)), (lambda: nn.Linear(5, 3, bias=False), (5,)),
               (lambda: nn.Linear(4, 2), (3, 4))],
    "ReLU": [(nn.ReLU, (6,))],
    "LeakyReLU": [(lambda: nn.LeakyReLU(0.2), (6,))],
    "Sigmoid": [(nn.Sigmoid, (6,))],
    "Tanh": [(nn.Tanh, (6,))],
    "GELU": [(nn.GELU, (6,)), (lambda: nn.GELU("tanh"), (6,))],
    "SiLU": [(nn.SiLU, (6,))],
    "Unflatten": [(lambda: nn.Sequential(nn.Linear(6, 6), nn.Unflatten(1, (2, 3))), (6,)),
                  (lambda: nn.Unflatten(2, (2, -1)), (3, 4))],
    "Mish": [(nn.Mish, (6,))],
    "Softplus": [(nn.Softplus, (6,)), (lambda: nn.Softplus(beta=2.0, threshold=1.0), (6,))],
    "ELU": [(lambda: nn.ELU(0.7), (6,))],
    "Softmax": [(nn.Softmax, (6,)), (lambda: nn.Softmax(dim=1), (3, 4))],
    "LogSoftmax": [(lambda: nn.LogSoftmax(dim=1), (6,)), (lambda: nn.LogSoftmax(dim=-1), (3, 4))],
    "Dropout": [(lambda: nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)), (4,))],
    "Identity": [(nn.Identity, (4,))],
    "BatchNorm1d": [(_trained_batch_norm(nn.BatchNorm1d, 4, (4,)), (4,)),
                    (_trained_batch_norm(nn.BatchNorm1d, 3, (3, 5)), (3, 5))],
    "LayerNorm": [(_randomized_layer_norm(6), (6,)), (_randomized_layer_norm((3, 4)), (3, 4)),
                  (lambda: nn.LayerNorm(6, elementwise_affine=False), (6,)),
                  (_randomized_layer_norm(6, bias=False), (6,))],
    "Flatten": [(nn.Flatten, (3, 4)), (lambda: nn.Flatten(0, -1), (3, 4)),
                (lambda: nn.Flatten(1, 2), (2, 3, 4)), (lambda: nn.Flatten(2, 3), (2, 3, 4))],
    "Sequential": [(lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)), (4,))],
    "Residual": [(lambda: nn.Residual(nn.Sequential(nn.Linear(4, 4), nn.ReLU())), (4,))],
    # The conv and pooling layers (torch's constructor arguments), run once chainrule has them.
    "Conv1d": [(lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (3, 10))],
    "Conv2d": [(lambda: nn.Conv2d(3, 4, 3, padding=1), (3, 6, 6)),
               (lambda: nn.Conv2d(4, 4, 3, stride=2, groups=2, bias=False), (4, 7, 7))],
    "MaxPool1d": [(lambda: nn.MaxPool1d(2), (3, 8))],
    "MaxPool2d": [(lambda: nn.MaxPool2d(2), (3, 6, 6)),
                  (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 7, 7))],
    "AvgPool1d": [(lambda: nn.AvgPool1d(2), (3, 8))],
    "AvgPool2d": [(lambda: nn.AvgPool2d(2), (3, 6, 6))],
    "AdaptiveAvgPool1d": [(lambda: nn.AdaptiveAvgPool1d(1), (3, 8))],
    "AdaptiveAvgPool2d": [(lambda: nn.AdaptiveAvgPool2d(1), (3, 5, 6)),
                          (lambda: nn.AdaptiveAvgPool2d(2), (3, 6, 4))],
    "BatchNorm2d": [(_trained_batch_norm(lambda n: nn.BatchNorm2d(n), 3, (3, 4, 4)),
                     (3, 4, 4))],
}
