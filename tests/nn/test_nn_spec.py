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
        nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU("tanh"), nn.SiLU(),
        nn.Mish(), nn.ELU(0.5), nn.Softplus(beta=2.0, threshold=10.0),
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


# --- the layer registry: each class declares its arguments, its state size, how it is rebuilt
def test_every_registered_layer_has_an_example_above():
    assert set(nn.LAYERS) <= {type(layer).__name__ for layer in built_in_layers()}


@pytest.mark.parametrize("layer", built_in_layers(), ids=lambda m: repr(m).split("\n")[0])
def test_declared_state_size_is_the_state_a_built_layer_holds(layer):
    held = sum(array.size for array in layer.state_dict().values())
    assert nn.spec.state_size(nn.to_spec(layer)) == held


@pytest.mark.parametrize("layer", built_in_layers(), ids=lambda m: repr(m).split("\n")[0])
def test_spec_args_are_exactly_declared_arguments_of_the_right_type(layer):
    declared = type(layer).layer_spec.args
    for name, value in nn.to_spec(layer)["args"].items():
        assert name in declared
        declared[name].check(value)  # raises on a value of the wrong type


def _linear(**args):
    return {"type": "Linear", "args": {"in_features": 2, "out_features": 3, **args}}


@pytest.mark.parametrize("spec, message", [
    (_linear(in_features="20000"), r"in_features: expected an integer, got '20000'"),
    (_linear(in_features=20000.0), r"in_features: expected an integer, got 20000.0"),
    (_linear(out_features=True), r"out_features: expected an integer, got True"),
    (_linear(in_features=-1), r"in_features: expected an integer in \[0, "),
    (_linear(in_features=2**80), r"in_features: expected an integer in \[0, "),
    (_linear(bias=1), r"bias: expected true or false"),
    (_linear(dtype=["float32"]), r"dtype: expected one of"),
    (_linear(dtype="object"), r"dtype: expected one of"),
    ({"type": "LayerNorm", "args": {"normalized_shape": "20000"}}, "normalized_shape"),
    ({"type": "LayerNorm", "args": {"normalized_shape": [[3]]}}, "normalized_shape"),
    ({"type": "LayerNorm", "args": {"normalized_shape": [2] * 33}}, "normalized_shape"),
    ({"type": "LayerNorm", "args": {"normalized_shape": 3, "eps": float("nan")}}, "eps"),
    ({"type": "BatchNorm1d", "args": {"num_features": 20000.0}}, "num_features"),
    ({"type": "BatchNorm1d", "args": {"num_features": 3, "momentum": "0.1"}}, "momentum"),
    ({"type": "BatchNorm1d", "args": {"num_features": 3, "eps": -1.0}}, "eps"),
    ({"type": "Flatten", "args": {"start_dim": {}}}, "start_dim: expected an integer"),
    ({"type": "Softmax", "args": {"dim": [1]}}, "dim: expected an integer"),
    ({"type": "GELU", "args": {"approximate": "fast"}}, "approximate: expected one of"),
    ({"type": "Dropout", "args": {"p": "0.5"}}, "p: expected a finite number"),
    ({"type": "LeakyReLU", "args": {"negative_slope": float("inf")}}, "negative_slope"),
    ({"type": "ReLU", "args": {"inplace": True}}, "unknown argument 'inplace'"),
    ({"type": "Sequential", "args": {}, "children": {"0": {"type": "ReLU"}}}, "must be a list"),
    ({"type": "Sequential", "args": {}, "children": [_linear(in_features=1.5)]},
     r"Linear at the root > Sequential\[0\]: in_features"),
])
def test_from_spec_checks_every_argument_against_the_declared_type(spec, message):
    with pytest.raises(nn.SpecError, match=message):
        nn.from_spec(spec)
    with pytest.raises(nn.SpecError, match=message):
        nn.spec.state_size(spec)  # refused before anything is sized or built


def test_from_spec_takes_an_int_where_a_float_is_declared():
    layer = nn.from_spec({"type": "BatchNorm1d", "args": {"num_features": 2, "eps": 1}})
    assert layer.eps == 1.0 and isinstance(layer.eps, float)


def _nested(depth):
    spec = {"type": "ReLU"}
    for _ in range(depth):
        spec = {"type": "Sequential", "children": [spec]}
    return spec


def test_nesting_deeper_than_the_limit_is_refused():
    assert nn.spec.state_size(_nested(nn.spec.MAX_DEPTH)) == 0
    with pytest.raises(nn.SpecError, match="nest more than"):
        nn.from_spec(_nested(nn.spec.MAX_DEPTH + 1))


def test_more_layers_than_the_limit_are_refused_before_any_is_checked():
    children = [{"type": "ReLU"}] * nn.spec.MAX_LAYERS
    assert len(nn.from_spec({"type": "Sequential", "children": children[:-1]})) == len(
        children) - 1
    with pytest.raises(nn.SpecError, match="more than 10,000 layers"):
        nn.from_spec({"type": "Sequential", "children": children})


def test_register_layer_refuses_an_argument_the_constructor_does_not_take():
    from chainrule.nn.registry import Int, register_layer

    class Scale(nn.Module):
        def __init__(self, factor=2):
            super().__init__()

    with pytest.raises(TypeError, match="takes no"):
        register_layer(args={"factr": Int()})(Scale)
    assert "Scale" not in nn.LAYERS


def test_register_layer_refuses_a_second_class_of_the_same_name():
    from chainrule.nn.registry import register_layer

    class Linear(nn.Module):
        pass

    with pytest.raises(TypeError, match="a layer named Linear is registered"):
        register_layer()(Linear)
    assert nn.LAYERS["Linear"] is nn.Linear


def test_one_of_takes_the_first_type_that_accepts_the_value_and_names_every_refusal():
    from chainrule.nn.registry import Choice, OneOf, Shape

    padding = OneOf(Shape(), Choice(("same", "valid")))
    assert padding.check(2) == (2,)
    assert padding.check([1, 2]) == (1, 2)
    assert padding.check("same") == "same"
    with pytest.raises(ValueError, match=r"a size or a list .*; or expected one of \['same'"):
        padding.check("full")
