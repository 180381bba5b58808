"""to_spec / from_spec: every built-in layer round-trips; custom modules and unknown types fail."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def built_in_layers():
    return [
        nn.Linear(3, 4), nn.Linear(3, 4, bias=False), nn.Linear(2, 5, dtype=np.float64),
        nn.Identity(), nn.Flatten(), nn.Flatten(0, 1), nn.Dropout(0.25), nn.ReLU(),
        nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU("tanh"),
        nn.Softmax(dim=0), nn.LogSoftmax(dim=1), nn.BatchNorm1d(4), nn.BatchNorm1d(3, bias=False),
        nn.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False, track_running_stats=False),
        nn.LayerNorm(4), nn.LayerNorm((2, 3), eps=1e-6, elementwise_affine=False),
        nn.LayerNorm(5, bias=False, dtype=np.float64),
        nn.Sequential(nn.Linear(2, 3), nn.ReLU()), nn.ModuleList([nn.Linear(1, 2), nn.Tanh()]),
        nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.GELU())),
        nn.Conv1d(2, 4, 3, stride=2, padding=1, groups=2),
        nn.Conv2d(1, 3, (2, 3), padding="same", dilation=(2, 1), bias=False,
                  dtype=np.float64),
        nn.MaxPool1d(3, 2, 1, ceil_mode=True), nn.MaxPool2d((2, 3), dilation=2),
        nn.AvgPool1d(2, count_include_pad=False), nn.AvgPool2d(3, 1, 1, divisor_override=2),
        nn.AdaptiveAvgPool1d(4), nn.AdaptiveAvgPool2d((2, None)), nn.BatchNorm2d(3),
        nn.Unflatten(1, (2, 3)),
    ]


def _describe(module):
    return repr(module), {k: (v.dtype, v.shape) for k, v in module.state_dict().items()}


def test_layers_maps_names_to_every_built_in_class():
    for layer in built_in_layers():
        assert nn.LAYERS[type(layer).__name__] is type(layer)


@pytest.mark.parametrize("layer", built_in_layers(), ids=lambda m: repr(m).split("\n")[0])
def test_every_built_in_layer_round_trips_through_json(layer):
    spec = json.loads(json.dumps(nn.to_spec(layer)))
    rebuilt = nn.from_spec(spec)
    assert type(rebuilt) is type(layer)
    assert _describe(rebuilt) == _describe(layer)
    assert nn.to_spec(rebuilt) == spec


def test_rebuilt_model_computes_the_same_after_loading_the_weights():
    cr.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.GELU(),
                          nn.Residual(nn.Sequential(nn.Linear(8, 8), nn.Tanh())),
                          nn.LayerNorm(8), nn.Linear(8, 2)).double()
    model(cr.tensor(np.random.default_rng(0).standard_normal((6, 3))))  # move running stats
    rebuilt = nn.from_spec(nn.to_spec(model))
    rebuilt.load_state_dict(model.state_dict())
    model.eval(), rebuilt.eval()
    x = cr.tensor(np.random.default_rng(1).standard_normal((5, 3)))
    np.testing.assert_array_equal(rebuilt(x).data, model(x).data)


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


class MyLinear(nn.Linear):
    pass


@pytest.mark.parametrize("module", [Custom(), MyLinear(2, 2), nn.Sequential(Custom())],
                         ids=["custom", "subclass", "nested"])
def test_to_spec_rejects_modules_that_are_not_built_in(module):
    with pytest.raises(nn.SpecError, match="Custom|MyLinear") as info:
        nn.to_spec(module)
    assert isinstance(info.value, cr.ChainruleError)


@pytest.mark.parametrize("spec, message", [
    ({"type": "Conv3d", "args": {}}, "unknown layer type 'Conv3d'"),
    ({"type": "Conv2d", "args": {}}, "bad arguments for Conv2d"),
    ({"type": "os.system", "args": {}}, "unknown layer type"),
    ({"type": "Linear", "args": {"in_features": 2}}, "bad arguments for Linear"),
    ({"type": "Linear", "args": {"in_features": 2, "out_features": 3, "colour": 1}},
     "bad arguments for Linear"),
    ({"type": "Dropout", "args": {"p": 2.0}}, "bad arguments for Dropout"),
    ({"type": "Residual", "args": {}, "children": []}, "exactly one child"),
    ({"type": "ReLU", "args": {}, "children": [{"type": "ReLU"}]}, "not a container"),
    ({"type": "Sequential", "args": {}, "children": [{"type": "Nope"}]}, "'Nope'"),
    ({"type": "Linear", "args": [2, 3]}, "args must be a dict"),
    ("Linear", "expected a dict"),
    ({"args": {}}, "expected a dict with a 'type'"),
])
def test_from_spec_names_what_is_wrong(spec, message):
    with pytest.raises(nn.SpecError, match=message):
        nn.from_spec(spec)
