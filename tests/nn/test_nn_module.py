"""Module: names, state dicts, modes, dtypes and repr, against torch.nn where it applies."""

import re

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


def add_layers(module, lib):
    """Attributes, a ModuleList and a nested Sequential, found by walking the attributes."""
    module.embed = lib.Linear(3, 4)
    module.layers = lib.ModuleList([lib.Linear(4, 4), lib.BatchNorm1d(4)])
    module.head = lib.Sequential(lib.ReLU(), lib.Linear(4, 2, bias=False))
    module.scale = lib.Parameter(torch.ones(2) if lib is torch.nn else np.ones(2))


def forward(module, x):
    x = module.embed(x)
    for layer in module.layers:
        x = layer(x)
    return module.head(x) * module.scale


class Net(nn.Module):
    def __init__(self, lib=nn):
        super().__init__()
        add_layers(self, nn)

    forward = forward


class TorchNet(torch.nn.Module):
    def __init__(self, lib=torch.nn):
        super().__init__()
        add_layers(self, torch.nn)

    forward = forward


def test_names_and_state_dict_keys_equal_torchs():
    ours, theirs = Net(nn), TorchNet(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())
    assert [type(m).__name__ for m in ours.children()] == ["Linear", "ModuleList", "Sequential"]


def test_a_shared_module_is_counted_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model.num_parameters() == 6


def test_state_dict_round_trip_through_torch():
    cr.manual_seed(0)
    ours = Net(nn).double()
    ours(cr.tensor(np.random.default_rng(0).standard_normal((5, 3))))  # running stats move
    theirs = TorchNet(torch.nn).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    fresh = Net(nn).double()
    fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
        assert fresh.state_dict()[key].dtype == value.dtype


def test_state_dict_holds_copies_and_load_keeps_parameter_objects_and_dtypes():
    model = nn.Linear(2, 3)
    weight = model.weight
    state = model.state_dict()
    state["weight"][...] = 7.0
    assert not np.any(model.weight.data == 7.0)
    model.load_state_dict({"weight": np.full((3, 2), 2.5), "bias": np.zeros(3)})
    assert model.weight is weight and model.weight.dtype == np.float32
    np.testing.assert_array_equal(model.weight.data, np.full((3, 2), 2.5, np.float32))


def test_load_state_dict_names_missing_unexpected_and_mis_shaped_keys():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    state = model.state_dict()
    del state["1.running_var"]
    state["0.weight"] = np.zeros((2, 2))
    state["2.weight"] = np.zeros(1)
    before = model.state_dict()
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing key '1.running_var'" in message
    assert "unexpected key '2.weight'" in message
    assert "0.weight: expected shape (3, 2), got (2, 2)" in message
    assert isinstance(info.value, cr.ChainruleError)
    for key, value in model.state_dict().items():  # nothing was half-loaded
        np.testing.assert_array_equal(value, before[key])
    del state["2.weight"]
    state["0.weight"] = np.ones((3, 2))
    result = model.load_state_dict(state, strict=False)
    assert result == {"missing_keys": ["1.running_var"], "unexpected_keys": []}
    np.testing.assert_array_equal(model[0].weight.data, np.ones((3, 2)))


def test_train_eval_and_zero_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(cr.tensor(np.ones((3, 2), dtype=np.float32))).sum().backward()
    assert model[0].weight.grad is not None
    model.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(model[0].weight.grad, np.zeros((2, 2)))
    model.zero_grad()
    assert model[0].weight.grad is None


def test_to_double_and_float_cast_parameters_and_float_buffers():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model[0].weight.dtype == np.float32
    assert model.double() is model
    assert {v.dtype for k, v in model.state_dict().items() if "num_batches" not in k} == {
        np.dtype(np.float64)}
    assert model[1].num_batches_tracked.dtype == np.int64
    model.float()
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    model.to(np.float64)
    assert model[1].running_mean.dtype == np.float64
    assert isinstance(model[0].weight, nn.Parameter)
    with pytest.raises(TypeError, match="int32"):
        model.to(np.int32)


def test_repr_is_torchs_plus_parameter_counts():
    def build(lib):
        return lib.Sequential(lib.Linear(3, 4), lib.BatchNorm1d(4), lib.GELU(),
                              lib.Sequential(lib.Linear(4, 4, bias=False), lib.Tanh()),
                              lib.LayerNorm(4), lib.Flatten(), lib.Softmax(dim=-1))

    ours = repr(build(nn))
    assert re.sub(r"  # [\d,]+ parameters?( in all)?", "", ours) == repr(build(torch.nn))
    assert "(0): Linear(in_features=3, out_features=4, bias=True)  # 16 parameters" in ours
    total = sum(p.numel() for p in build(torch.nn).parameters())
    assert ours.endswith(f")  # {total} parameters in all")


def test_parameters_are_tensors_that_require_grad():
    p = nn.Parameter(np.zeros(3))
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.dtype == np.float64
    assert repr(p).startswith("Parameter containing:")


def test_manual_seed_makes_initialization_reproducible():
    cr.manual_seed(11)
    first = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 2)).state_dict()
    cr.manual_seed(11)
    second = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 2)).state_dict()
    third = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 2)).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
        assert not np.array_equal(first[key], third[key])


def test_module_list_and_sequential_indexing():
    layers = [nn.Linear(1, 1), nn.ReLU(), nn.Tanh()]
    model = nn.Sequential(*layers)
    assert model[-1] is layers[2] and len(model) == 3
    assert isinstance(model[1:], nn.Sequential) and list(model[1:]) == layers[1:]
    with pytest.raises(IndexError, match="index 3"):
        model[3]
    with pytest.raises(TypeError, match="int is not a Module"):
        nn.ModuleList([1])


# --- reproducibility of a whole training step -----------------------------------------
def _training_step(seed):
    """Seeded init (every init function), dropout, batch norm; forward, backward."""
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.4),
                          nn.Linear(8, 3))
    extra = np.empty((4, 6), np.float32)
    draws = []
    for fill in (nn.init.xavier_uniform_, nn.init.xavier_normal_, nn.init.kaiming_uniform_,
                 nn.init.kaiming_normal_, nn.init.uniform_, nn.init.normal_):
        draws.append(fill(extra).copy())
    x = cr.tensor(np.linspace(-1, 1, 40, dtype=np.float32).reshape(8, 5))
    loss = F.cross_entropy(F.dropout(model(x), 0.2), np.arange(8) % 3)
    loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    return [loss.data, *draws, *grads, *model.state_dict().values()]


def test_manual_seed_reproduces_a_whole_training_step_bit_for_bit():
    first, second, other = _training_step(5), _training_step(5), _training_step(6)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert any(a.tobytes() != c.tobytes() for a, c in zip(first, other))


def test_sequential_edits_by_index_as_in_torch():
    """seq[i] = m, del seq[i], del seq[a:b] and insert: the same layers, names and outputs as
    the same edits of a torch Sequential (torch numbers the rest again after a deletion)."""

    def build(lib):
        torch.manual_seed(0)
        seq = lib.Sequential(lib.Linear(3, 5), lib.ReLU(), lib.Linear(5, 5), lib.Tanh(),
                             lib.Linear(5, 2))
        seq[1] = lib.Sigmoid()
        del seq[3]
        seq.insert(1, lib.Linear(5, 5))
        seq[-1] = lib.Linear(5, 4)
        del seq[0:1]
        seq.insert(0, lib.Linear(3, 5))
        return seq

    theirs = build(torch.nn)
    ours = build(nn)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).data, theirs(torch.from_numpy(x)).detach(),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(IndexError, match="index 9 out of range for 5 modules"):
        del ours[9]
    with pytest.raises(TypeError, match="is not a Module"):
        ours[0] = "relu"


def test_a_layer_replaced_by_index_after_compiling_is_used():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    cr.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    step = cr.compile_step(seq, F.cross_entropy, cr.optim.SGD(seq.parameters(), lr=0.1))
    step(X, y)
    relu_loss = float(F.cross_entropy(seq(cr.tensor(X)), cr.tensor(y)).data)
    seq[1] = nn.Tanh()
    expected = float(F.cross_entropy(seq(cr.tensor(X)), cr.tensor(y)).data)
    assert expected != pytest.approx(relu_loss)
    assert step(X, y) == pytest.approx(expected, rel=1e-12)
