"""Model files: bit-exact round trips, PyTorch interop both ways, and damaged files."""

import json
import os
import pickle
import struct

import numpy as np
import pytest
import safetensors.torch
import torch

import chainrule as cr
from chainrule import io as crio
from chainrule.io import ModelFileError


def _bits(array):
    """The raw bytes of an array, so NaN payloads and -0.0 compare exactly."""
    return np.ascontiguousarray(array).tobytes()


def _assert_same_arrays(got, expected):
    assert sorted(got) == sorted(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype, name
        assert got[name].shape == array.shape, name
        assert _bits(got[name]) == _bits(array), name


def _random_floats(rng, dtype, shape):
    """Random bit patterns (NaNs, infinities, subnormals, -0.0 included)."""
    int_type = {np.float32: np.uint32, np.float64: np.uint64}[dtype]
    info = np.iinfo(int_type)
    bits = rng.integers(0, info.max, size=shape, dtype=int_type, endpoint=True)
    return bits.view(dtype)


# --- state dicts ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trip_is_bit_exact(tmp_path, rng, dtype):
    state = {
        "layer.weight": _random_floats(rng, dtype, (7, 5)),
        "layer.bias": np.array([-0.0, np.inf, -np.inf, np.nan, 1e-310], dtype=dtype),
        "scalar": np.asarray(3.25, dtype=dtype),
        "empty": np.zeros((0, 3), dtype=dtype),
        "count": np.asarray(12, dtype=np.int64),
        "mask": rng.random(6) > 0.5,
    }
    path = tmp_path / "state.safetensors"
    cr.save_state_dict(state, path)
    _assert_same_arrays(cr.load_state_dict(path), state)


def test_state_dict_accepts_tensors_views_and_big_endian(tmp_path, rng):
    matrix = rng.standard_normal((4, 3))
    state = {
        "tensor": cr.tensor(matrix[:, 0].astype(np.float32)),
        "transposed": matrix.T,
        "big_endian": matrix.astype(">f8"),
    }
    path = tmp_path / "views.safetensors"
    cr.save_state_dict(state, path)
    loaded = cr.load_state_dict(path)
    assert _bits(loaded["tensor"]) == _bits(matrix[:, 0].astype(np.float32))
    assert _bits(loaded["transposed"]) == _bits(matrix.T)
    assert loaded["big_endian"].dtype == np.float64
    assert np.array_equal(loaded["big_endian"], matrix)
    loaded["transposed"][0, 0] = 1.0  # arrays come back writable


def test_metadata_round_trip(tmp_path):
    metadata = {"classes": ["setosa", "virginica"], "scaler": {"mean": [0.5, -1.25]},
                "note": "λ = 0.01", "epochs": 20}
    path = tmp_path / "meta.safetensors"
    cr.save_state_dict({"w": np.ones(2, np.float32)}, path, metadata=metadata)
    assert crio.load_metadata(path) == metadata
    cr.save_state_dict({"w": np.ones(2, np.float32)}, path)
    assert crio.load_metadata(path) == {}


@pytest.mark.parametrize("state, metadata, problem", [
    ({"w": np.ones(2, dtype=object)}, None, "dtype object"),
    ({"w": np.ones(2, dtype=np.complex128)}, None, "dtype complex128"),
    ({"w": np.array(["a", "b"])}, None, "dtype <U1"),
    ({1: np.ones(2)}, None, "tensor name 1"),
    ([np.ones(2)], None, "expected a dict"),
    ({"w": np.ones(2)}, {"bad": {1, 2}}, "not JSON-serialisable"),
    ({"w": np.ones(2)}, ["not", "a", "dict"], "metadata must be a dict"),
])
def test_bad_input_to_save_state_dict_leaves_the_old_file(tmp_path, state, metadata, problem):
    path = tmp_path / "keep.safetensors"
    cr.save_state_dict({"old": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(ModelFileError, match=problem) as caught:
        cr.save_state_dict(state, path, metadata=metadata)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.safetensors"]


def test_torch_reads_chainrule_state_dict_with_same_names(tmp_path, rng):
    state = {"0.weight": rng.standard_normal((3, 2)), "0.bias": rng.standard_normal(3)}
    path = tmp_path / "for_torch.safetensors"
    cr.save_state_dict(state, path)
    loaded = safetensors.torch.load_file(str(path))
    assert sorted(loaded) == sorted(state)
    for name, array in state.items():
        assert loaded[name].dtype == torch.float64
        assert _bits(loaded[name].numpy()) == _bits(array)


def test_chainrule_reads_torch_state_dict(tmp_path):
    torch.manual_seed(0)
    state = {"a": torch.randn(4, 3), "b": torch.randn(5, dtype=torch.float64),
             "n": torch.tensor(7)}
    path = tmp_path / "from_torch.safetensors"
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    _assert_same_arrays(cr.load_state_dict(path), {k: v.numpy() for k, v in state.items()})
    assert crio.load_metadata(path) == {}


def test_load_without_architecture_points_to_load_state_dict(tmp_path):
    path = tmp_path / "weights.safetensors"
    cr.save_state_dict({"w": np.ones(2)}, path)
    with pytest.raises(ModelFileError, match="load_state_dict") as caught:
        cr.load(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_a_model_file_error(tmp_path):
    path = tmp_path / "absent.safetensors"
    for loader in (cr.load, cr.load_state_dict, crio.load_metadata):
        with pytest.raises(ModelFileError, match="cannot read") as caught:
            loader(path)
        assert str(path) in str(caught.value)


# --- damaged files ----------------------------------------------------------------------------
def _file_bytes(header, data=b""):
    """A safetensors file from a header (dict or raw text) and a data section."""
    text = header if isinstance(header, (str, bytes)) else json.dumps(header)
    text = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(text)) + text + data


def _f32(shape, begin):
    size = 4 * int(np.prod(shape))
    return {"dtype": "F32", "shape": list(shape), "data_offsets": [begin, begin + size]}


_EIGHT = np.arange(8, dtype=np.float32).tobytes()  # 32 bytes of data

DAMAGED = {
    "header length larger than the file": (
        struct.pack("<Q", 10_000) + b'{"a": 1}', "larger than the file"),
    "header not JSON": (_file_bytes("{this is not json}   "), "not valid JSON"),
    "header not UTF-8": (_file_bytes(b'{"\xff\xfe": 1}'), "not valid JSON"),
    "header nested too deeply": (_file_bytes("[" * 100_000 + "]" * 100_000), "not valid JSON"),
    "header a JSON list": (_file_bytes("[1, 2, 3]"), "not an object"),
    "duplicate tensor names": (
        _file_bytes('{"a": %s, "a": %s}' % (json.dumps(_f32([4], 0)), json.dumps(_f32([4], 16))),
                    _EIGHT), "duplicate key 'a'"),
    "offsets overlapping": (
        _file_bytes({"a": _f32([4], 0), "b": _f32([4], 8)}, _EIGHT[:24]), "overlap"),
    "offsets outside the data": (
        _file_bytes({"a": _f32([4], 0), "b": _f32([4], 16)}, _EIGHT[:24]), "outside the data"),
    "offsets not a pair": (
        _file_bytes({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, _EIGHT[:4]),
        "data_offsets"),
    "negative offset": (
        _file_bytes({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, _EIGHT[:4]),
        "data_offsets"),
    "dtype and shape do not match the byte count": (
        _file_bytes({"a": {"dtype": "F64", "shape": [3], "data_offsets": [0, 32]}}, _EIGHT),
        "need 24 bytes"),
    "shape with a fraction": (
        _file_bytes({"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, _EIGHT[:8]),
        "shape"),
    "unknown dtype": (
        _file_bytes({"a": {"dtype": "F31", "shape": [8], "data_offsets": [0, 32]}}, _EIGHT),
        "dtype 'F31'"),
    "dtype a JSON list": (
        _file_bytes({"a": {"dtype": ["F32"], "shape": [8], "data_offsets": [0, 32]}}, _EIGHT),
        r"dtype \['F32'\]"),
    "dtype a JSON object": (
        _file_bytes({"a": {"dtype": {"F32": 1}, "shape": [8], "data_offsets": [0, 32]}},
                    _EIGHT), r"dtype \{'F32': 1\}"),
    "bfloat16": (
        _file_bytes({"a": {"dtype": "BF16", "shape": [16], "data_offsets": [0, 32]}}, _EIGHT),
        "dtype 'BF16'"),
    "gap between tensors": (
        _file_bytes({"a": _f32([2], 0), "b": _f32([4], 16)}, _EIGHT), "gap of 8"),
    "trailing bytes": (
        _file_bytes({"a": _f32([4], 0)}, _EIGHT), "cover 16"),
    "metadata a list": (
        _file_bytes({"__metadata__": [], "a": _f32([8], 0)}, _EIGHT), "__metadata__"),
    "metadata not strings": (
        _file_bytes({"__metadata__": {"x": 1}, "a": _f32([8], 0)}, _EIGHT), "__metadata__"),
    "entry missing fields": (
        _file_bytes({"a": {"dtype": "F32", "shape": [8]}}, _EIGHT), "data_offsets"),
}


@pytest.mark.parametrize("loader", ["load", "load_state_dict", "load_metadata"])
@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_file_gives_model_file_error(tmp_path, case, loader):
    content, problem = DAMAGED[case]
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=problem) as caught:
        getattr(crio, loader)(path)
    assert str(caught.value).count(str(path)) == 1
    assert isinstance(caught.value, cr.ChainruleError)


def test_every_truncation_of_a_valid_file_is_detected(tmp_path, rng):
    path = tmp_path / "whole.safetensors"
    state = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(3).astype(np.float32)}
    cr.save_state_dict(state, path, metadata={"classes": ["a", "b"]})
    content = path.read_bytes()
    cut_path = tmp_path / "cut.safetensors"
    for length in range(len(content)):
        cut_path.write_bytes(content[:length])
        for loader in (crio.load_state_dict, crio.load_metadata):
            with pytest.raises(ModelFileError) as caught:
                loader(cut_path)
            assert str(cut_path) in str(caught.value)
    assert "truncated" in str(pytest.raises(ModelFileError, crio.load, cut_path).value)


class _CreatesMarker:
    """Unpickling this object calls open(marker, "w"), which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_payloads(marker, folder):
    plain = pickle.dumps({"weight": np.ones(3), "evil": _CreatesMarker(marker)})
    zipped = folder / "torch_save.bin"
    torch.save({"weight": torch.ones(3), "evil": _CreatesMarker(marker)}, zipped)
    return {"pickle": plain, "torch.save zip": zipped.read_bytes()}


def test_payload_would_create_marker_if_unpickled(tmp_path):
    marker = tmp_path / "proof"
    pickle.loads(_pickle_payloads(marker, tmp_path)["pickle"])["evil"].close()
    assert marker.exists()


@pytest.mark.parametrize("loader", ["load", "load_state_dict", "load_metadata"])
def test_pickle_renamed_to_safetensors_runs_nothing(tmp_path, loader):
    marker = tmp_path / "unpickled_marker"
    for kind, content in _pickle_payloads(marker, tmp_path).items():
        path = tmp_path / f"{kind.replace(' ', '_')}.safetensors"
        path.write_bytes(content)
        with pytest.raises(ModelFileError, match="never unpickles") as caught:
            getattr(crio, loader)(path)
        assert str(path) in str(caught.value)
        assert not marker.exists(), f"loading a {kind} ran code from the file"


# --- models -----------------------------------------------------------------------------------
nn = cr.nn


def _every_layer_model():
    """A chainrule model using every built-in layer type, with non-default arguments."""
    block = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8, eps=1e-4), nn.Tanh())
    return nn.Sequential(
        nn.Flatten(), nn.Linear(6, 8), nn.BatchNorm1d(8, eps=1e-3, momentum=0.2), nn.ReLU(),
        nn.Residual(block), nn.Dropout(p=0.3), nn.LeakyReLU(negative_slope=0.2),
        nn.Linear(8, 8, bias=False), nn.GELU(), nn.Sigmoid(), nn.SiLU(), nn.ELU(alpha=0.5),
        nn.Softplus(beta=2.0, threshold=5.0), nn.Mish(), nn.Identity(), nn.Linear(8, 4),
        nn.Softmax(dim=-1), nn.LogSoftmax(dim=-1))


class _TorchResidual(torch.nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return x + self.block(x)


def _every_layer_torch_model():
    """The same architecture in torch.nn (same key names)."""
    tnn = torch.nn
    block = tnn.Sequential(tnn.Linear(8, 8), tnn.LayerNorm(8, eps=1e-4), tnn.Tanh())
    return tnn.Sequential(
        tnn.Flatten(), tnn.Linear(6, 8), tnn.BatchNorm1d(8, eps=1e-3, momentum=0.2), tnn.ReLU(),
        _TorchResidual(block), tnn.Dropout(p=0.3), tnn.LeakyReLU(negative_slope=0.2),
        tnn.Linear(8, 8, bias=False), tnn.GELU(), tnn.Sigmoid(), tnn.SiLU(), tnn.ELU(alpha=0.5),
        tnn.Softplus(beta=2.0, threshold=5.0), tnn.Mish(), tnn.Identity(),
        tnn.Linear(8, 4), tnn.Softmax(dim=-1), tnn.LogSoftmax(dim=-1))


def _trained_model(rng, dtype):
    """Random weights everywhere and BatchNorm running statistics away from their defaults."""
    cr.manual_seed(0)
    model = _every_layer_model().to(dtype)
    for _, param in model.named_parameters():
        param.data[...] = rng.standard_normal(param.shape)
    for _ in range(3):
        model(cr.tensor(rng.standard_normal((16, 2, 3)).astype(dtype)))
    return model.eval()


def _output(model, x):
    with cr.no_grad():
        return model(cr.tensor(x)).data


def _conv_model():
    """The convolution and pooling layers (their files: tests/nn/test_conv_layers.py)."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 6, 6)), nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.MaxPool2d(2),
        nn.AvgPool2d(1), nn.AdaptiveAvgPool2d(1), nn.Flatten(1, 2), nn.Conv1d(2, 2, 1),
        nn.MaxPool1d(1), nn.AvgPool1d(1), nn.AdaptiveAvgPool1d(1))


def test_models_cover_every_built_in_layer():
    used = {type(module).__name__ for module in _every_layer_model().modules()}
    used |= {type(module).__name__ for module in _conv_model().modules()}
    used.add("ModuleList")  # saved on its own in test_module_list_round_trip
    assert set(nn.LAYERS) <= used, f"not covered: {sorted(set(nn.LAYERS) - used)}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_round_trip_is_bit_exact(tmp_path, rng, dtype):
    model = _trained_model(rng, dtype)
    state = model.state_dict()
    assert state["2.num_batches_tracked"] == 3
    assert not np.array_equal(state["2.running_var"], np.ones(8))
    path = tmp_path / "model.safetensors"
    cr.save(model, path)
    loaded = cr.load(path).eval()
    assert type(loaded) is nn.Sequential
    assert repr(loaded) == repr(model)
    _assert_same_arrays(loaded.state_dict(), state)
    assert all(p.dtype == dtype for p in loaded.parameters())
    x = rng.standard_normal((5, 2, 3)).astype(dtype)
    assert _bits(_output(loaded, x)) == _bits(_output(model, x))


@pytest.mark.parametrize("make", [
    _every_layer_model, _conv_model, lambda: nn.Sequential(nn.BatchNorm1d(5, affine=False),
                                              nn.LayerNorm([2, 3], elementwise_affine=False),
                                              nn.BatchNorm1d(4, track_running_stats=False)),
])
def test_state_size_is_the_size_of_a_real_models_state(make):
    model = make()
    held = sum(array.size for array in model.state_dict().values())
    assert 0 < nn.spec.state_size(nn.to_spec(model)) == held


def test_conv_model_round_trip_is_bit_exact(tmp_path, rng):
    model = _conv_model()
    x = rng.standard_normal((4, 36)).astype(np.float32)
    _output(model, x)
    model.eval()
    path = tmp_path / "conv.safetensors"
    cr.save(model, path)
    loaded = cr.load(path).eval()
    assert repr(loaded) == repr(model)
    _assert_same_arrays(loaded.state_dict(), model.state_dict())
    assert _bits(_output(loaded, x)) == _bits(_output(model, x))


def test_module_list_round_trip(tmp_path, rng):
    model = nn.ModuleList([nn.Linear(3, 2), nn.LayerNorm(2)])
    path = tmp_path / "list.safetensors"
    cr.save(model, path)
    loaded = cr.load(path)
    assert [type(m) for m in loaded] == [nn.Linear, nn.LayerNorm]
    _assert_same_arrays(loaded.state_dict(), model.state_dict())


def test_model_metadata_is_stored(tmp_path):
    metadata = {"task": "classification", "classes": ["no", "yes"]}
    path = tmp_path / "model.safetensors"
    cr.save(nn.Sequential(nn.Linear(2, 2)), path, metadata=metadata)
    assert crio.load_metadata(path) == metadata


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-7)])
def test_chainrule_file_loads_into_torch(tmp_path, rng, dtype, rtol):
    model = _trained_model(rng, dtype)
    path = tmp_path / "model.safetensors"
    cr.save(model, path)
    torch_model = _every_layer_torch_model().to(getattr(torch, np.dtype(dtype).name))
    torch_model.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)
    torch_model.eval()
    x = rng.standard_normal((5, 2, 3)).astype(dtype)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    assert expected.dtype == dtype
    np.testing.assert_allclose(_output(model, x), expected, rtol=rtol)


@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-5), (torch.float64, 1e-7)])
def test_torch_file_loads_into_chainrule(tmp_path, rng, dtype, rtol):
    torch.manual_seed(0)
    torch_model = _every_layer_torch_model().to(dtype)
    with torch.no_grad():
        for _ in range(3):
            torch_model(torch.randn(16, 2, 3, dtype=dtype))
    torch_model.eval()
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(torch_model.state_dict(), str(path))
    model = _every_layer_model().to(np.float32 if dtype == torch.float32 else np.float64)
    model.load_state_dict(cr.load_state_dict(path))
    model.eval()
    x = torch.randn(5, 2, 3, dtype=dtype)
    with torch.no_grad():
        expected = torch_model(x).numpy()
    np.testing.assert_allclose(_output(model, x.numpy()), expected, rtol=rtol)
    with pytest.raises(ModelFileError, match="load_state_dict"):
        cr.load(path)


class _CustomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


@pytest.mark.parametrize("make", [_CustomNet, lambda: nn.Sequential(nn.Linear(3, 3), _CustomNet())])
def test_an_unregistered_custom_model_is_refused_at_save_time(tmp_path, rng, make):
    model = make()
    path = tmp_path / "custom.safetensors"
    with pytest.raises(ModelFileError, match="_CustomNet") as caught:
        cr.save(model, path)
    assert "cr.save_state_dict" in str(caught.value) and "@cr.nn.register" in str(caught.value)
    assert os.listdir(tmp_path) == []  # nothing half-written
    cr.save_state_dict(model.state_dict(), path)  # the weights alone, rebuilt in code
    rebuilt = make()
    rebuilt.load_state_dict(cr.load_state_dict(path))
    x = rng.standard_normal((4, 3)).astype(np.float32)
    assert _bits(_output(rebuilt, x)) == _bits(_output(model, x))
    with pytest.raises(ModelFileError, match="load_state_dict"):
        cr.load(path)


def test_save_rejects_what_is_not_a_module(tmp_path):
    with pytest.raises(ModelFileError, match="save_state_dict"):
        cr.save({"w": np.ones(2)}, tmp_path / "dict.safetensors")
    assert os.listdir(tmp_path) == []


def _file_with_architecture(path, architecture, state):
    import safetensors.numpy

    text = architecture if isinstance(architecture, str) else json.dumps(architecture)
    path.write_bytes(safetensors.numpy.save(state, metadata={crio.ARCHITECTURE_KEY: text}))


_LINEAR_STATE = {"0.weight": np.ones((2, 3), np.float32), "0.bias": np.ones(2, np.float32)}


@pytest.mark.parametrize("architecture, problem", [
    ({"type": "Sequential", "args": {}, "children": [
        {"type": "os.system", "args": {"command": "touch pwned"}}]}, "unknown layer type"),
    ({"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": "three", "out_features": 2}}]},
     "bad arguments for Linear"),
    ({"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": 1, "out_features": 4}}]},
     "do not fit the architecture"),
    ({"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": 4, "out_features": 2}}]},
     "needs 10 weights but the file holds 8"),
    ({"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": 10**6, "out_features": 10**6}}]},
     "needs 1,000,001,000,000 weights but the file holds 8"),
    ({"type": "Residual", "args": {}, "children": [
        {"type": "BatchNorm1d", "args": {"num_features": 10**12}}]},
     "needs 4,000,000,000,001 weights"),
    ("{'type': 'Sequential'}", "architecture is not valid JSON"),
    (["Sequential"], "cannot be rebuilt"),
])
def test_bad_architecture_gives_model_file_error(tmp_path, architecture, problem):
    path = tmp_path / "arch.safetensors"
    _file_with_architecture(path, architecture, _LINEAR_STATE)
    with pytest.raises(ModelFileError, match=problem) as caught:
        cr.load(path)
    assert str(caught.value).count(str(path)) == 1
    assert not os.path.exists("pwned")


def test_mixed_precision_model_keeps_each_dtype(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.LayerNorm(2))
    path = tmp_path / "mixed.safetensors"
    cr.save(model, path)
    _assert_same_arrays(cr.load(path).state_dict(), model.state_dict())


def test_weights_of_another_dtype_than_the_architecture_are_refused(tmp_path):
    architecture = {"type": "Sequential", "args": {}, "children": [
        {"type": "Linear", "args": {"in_features": 3, "out_features": 2}}]}
    state = {k: v.astype(np.float64) for k, v in _LINEAR_STATE.items()}
    path = tmp_path / "float64.safetensors"
    _file_with_architecture(path, architecture, state)
    with pytest.raises(ModelFileError, match="is float64 but the architecture makes it float32"):
        cr.load(path)


def test_randomly_damaged_model_files_load_or_raise_model_file_error(tmp_path, rng):
    path = tmp_path / "model.safetensors"
    cr.save(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU()), path,
            metadata={"classes": ["a", "b"]})
    good = path.read_bytes()
    damaged_path = tmp_path / "damaged.safetensors"
    failures = 0
    for _ in range(300):
        content = bytearray(good)
        for _ in range(rng.integers(1, 4, endpoint=True)):
            at = int(rng.integers(len(content)))
            action = rng.integers(3)
            if action == 0:
                content[at] = int(rng.integers(256))
            elif action == 1:
                del content[at]
            else:
                content.insert(at, int(rng.integers(256)))
        damaged_path.write_bytes(bytes(content))
        for loader in (crio.load, crio.load_state_dict, crio.load_metadata):
            try:
                loader(damaged_path)
            except ModelFileError as error:  # any other exception fails the test
                assert str(damaged_path) in str(error)
                failures += 1
    assert failures > 300  # most damage is detected, not silently accepted


def test_stored_metadata_that_is_not_an_object_is_refused(tmp_path):
    import safetensors.numpy

    path = tmp_path / "list_metadata.safetensors"
    path.write_bytes(safetensors.numpy.save(_LINEAR_STATE, metadata={crio.METADATA_KEY: "[1]"}))
    with pytest.raises(ModelFileError, match="stored metadata is JSON list"):
        crio.load_metadata(path)


def test_an_architecture_longer_than_any_model_needs_is_refused_before_parsing(tmp_path):
    path = tmp_path / "long.safetensors"
    relu = json.dumps({"type": "ReLU", "args": {}}) + ", "
    count = nn.spec.MAX_SPEC_BYTES // len(relu) + 1
    text = '{"type": "Sequential", "args": {}, "children": [' + relu * count + '{"type": "ReLU"}]}'
    _file_with_architecture(path, text, _LINEAR_STATE)
    with pytest.raises(ModelFileError, match="characters exceed the 4,000,000") as caught:
        cr.load(path)
    assert str(caught.value).count(str(path)) == 1
