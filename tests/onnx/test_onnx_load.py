"""cr.onnx.load: files exported by torch.onnx.export and by cr.onnx.export become chainrule
models with the same outputs (what it refuses: test_onnx_load_refused.py)."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

import chainrule as cr
from chainrule.onnx import OnnxImportError

nn = cr.nn


class TorchResidual(torch.nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return x + self.block(x)


def _torch_models():
    t = torch.nn
    return {
        "gemm-mlp": (lambda: t.Sequential(t.Linear(4, 16), t.ReLU(), t.Linear(16, 3)), (4,)),
        "norms": (lambda: t.Sequential(t.Linear(4, 8), t.Tanh(), t.BatchNorm1d(8),
                                       t.Linear(8, 6), t.LayerNorm(6), t.Sigmoid()), (4,)),
        "flatten": (lambda: t.Sequential(t.Flatten(), t.Linear(12, 8), t.LeakyReLU(0.1),
                                         t.Dropout(0.5), t.Linear(8, 3), t.LogSoftmax(dim=1)),
                    (3, 4)),
        "matmul-add": (lambda: t.Sequential(t.Linear(4, 8), t.GELU(), t.Linear(8, 2),
                                            t.Softmax(dim=-1)), (5, 4)),
        "residual": (lambda: t.Sequential(t.Linear(4, 6),
                                          TorchResidual(t.Sequential(t.Linear(6, 6), t.ReLU())),
                                          t.Linear(6, 2)), (4,)),
    }


def _export_torch(module, shape, dtype, path):
    module = module.to(dtype).eval()
    with torch.no_grad():  # BatchNorm: running statistics other than 0 and 1
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    with warnings.catch_warnings():  # dynamo=False is "legacy" to torch; it is what works offline
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (torch.zeros((2, *shape), dtype=dtype),), str(path),
                          dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}})
    return module


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(_torch_models()))
def test_torch_exported_model_loads_with_the_same_outputs(name, dtype, tmp_path,
                                                          chainrule_outputs):
    torch.manual_seed(0)
    build, shape = _torch_models()[name]
    module = _export_torch(build(), shape, dtype, tmp_path / "torch.onnx")
    model = cr.onnx.load(tmp_path / "torch.onnx")
    x = np.random.default_rng(2).normal(size=(9, *shape))
    with torch.no_grad():
        expected = module(torch.from_numpy(x).to(dtype)).numpy()
    got = chainrule_outputs(model, x.astype(expected.dtype))
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not model.training
    assert model.num_parameters() == sum(p.numel() for p in module.parameters())


def test_gemm_alpha_beta_and_untransposed_weight(write_graph, tmp_path):
    rng = np.random.default_rng(0)
    b, c = rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "b", "c"], ["y"], alpha=0.5, beta=2.0)
    weights = [numpy_helper.from_array(b, "b"), numpy_helper.from_array(c, "c")]
    path = write_graph([node], weights, outputs=[("y", [None, 2])])
    x = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(cr.predict(cr.onnx.load(path), x), 0.5 * x @ b + 2.0 * c,
                               rtol=1e-5, atol=1e-6)


def _round_trip_models():
    return {
        "mlp": lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                                     nn.Linear(8, 3), nn.Softmax(dim=1)),
        "norms": lambda: nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.Sigmoid(),
                                       nn.LayerNorm(6), nn.LeakyReLU(0.3), nn.Dropout(0.2),
                                       nn.Linear(6, 2, bias=False), nn.LogSoftmax(dim=1)),
        "residual": lambda: nn.Sequential(
            nn.Linear(5, 4), nn.Residual(nn.Sequential(nn.Linear(4, 4), nn.ReLU())),
            nn.Residual(nn.Tanh()), nn.Flatten(), nn.Linear(4, 1)),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(_round_trip_models()))
def test_chainrule_round_trip(name, dtype, tmp_path):
    cr.manual_seed(0)
    model = _round_trip_models()[name]().to(dtype)
    model.train()
    for _ in range(2):  # move BatchNorm's running statistics
        model(cr.tensor(np.random.default_rng(0).normal(1, 2, size=(8, 5)).astype(dtype)))
    cr.onnx.export(model, np.zeros((2, 5), dtype), tmp_path / "m.onnx")
    loaded = cr.onnx.load(tmp_path / "m.onnx")
    x = np.random.default_rng(1).normal(size=(6, 5)).astype(dtype)
    np.testing.assert_allclose(cr.predict(loaded, x), cr.predict(model, x), rtol=1e-6,
                               atol=1e-7)
    expected = {k: v for k, v in model.state_dict().items() if "num_batches" not in k}
    got = {k: v for k, v in loaded.state_dict().items() if "num_batches" not in k}
    assert [v.shape for v in got.values()] == [v.shape for v in expected.values()]
    for a, b in zip(got.values(), expected.values()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    cr.save(loaded, tmp_path / "m.safetensors")  # built from built-in layers: savable


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_round_trip(dtype, opset, tmp_path):
    """A Gelu node (opset 20, float32) or GELU spelled out in Erf/Tanh arithmetic."""
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU("tanh"), nn.GELU(), nn.Linear(4, 2),
                          nn.GELU()).to(dtype)
    cr.onnx.export(model, np.zeros((1, 3), dtype), tmp_path / "m.onnx", opset=opset)
    loaded = cr.onnx.load(tmp_path / "m.onnx")
    assert [type(m).__name__ for m in loaded] == ["Linear", "GELU", "GELU", "Linear", "GELU"]
    assert [loaded[i].approximate for i in (1, 2, 4)] == ["tanh", "none", "none"]
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(dtype)
    np.testing.assert_array_equal(cr.predict(loaded, x), cr.predict(model, x))


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_torch_gelu_before_opset_20(approximate, opset, tmp_path):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU(approximate)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (torch.zeros(2, 3),), str(tmp_path / "g.onnx"), dynamo=False,
                          opset_version=opset)
    assert "Gelu" not in {n.op_type for n in onnx.load(str(tmp_path / "g.onnx")).graph.node}
    model = cr.onnx.load(tmp_path / "g.onnx")
    assert model[1].approximate == approximate
    x = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(cr.predict(model, x), expected, rtol=1e-5, atol=1e-6)


def _torch_cnn():
    t = torch.nn
    return t.Sequential(t.Conv2d(2, 4, 3, padding=1), t.BatchNorm2d(4), t.ReLU(),
                        t.MaxPool2d(2), t.Conv2d(4, 4, 3, stride=2), t.AvgPool2d(2),
                        t.AdaptiveAvgPool2d(1), t.Flatten(), t.Linear(4, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_torch_cnn_loads_once_chainrule_has_the_layers(dtype, tmp_path, chainrule_outputs):
    """With chainrule's conv and pooling layers: the same outputs as torch; without them:
    an error naming the layer the file needs."""
    torch.manual_seed(0)
    module = _export_torch(_torch_cnn(), (2, 12, 12), dtype, tmp_path / "cnn.onnx")
    # torch folds the eval-mode BatchNorm2d into the Conv before it
    needed = ["Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
    missing = [name for name in needed if name not in nn.LAYERS]
    if missing:
        with pytest.raises(OnnxImportError, match=f"needs chainrule's {missing[0]} layer"):
            cr.onnx.load(tmp_path / "cnn.onnx")
        return
    model = cr.onnx.load(tmp_path / "cnn.onnx")
    x = np.random.default_rng(2).normal(size=(3, 2, 12, 12))
    with torch.no_grad():
        expected = module(torch.from_numpy(x).to(dtype)).numpy()
    np.testing.assert_allclose(chainrule_outputs(model, x.astype(expected.dtype)), expected,
                               rtol=1e-5, atol=1e-6)


def test_constant_nodes_dropout_and_identity(write_graph, tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 2)).astype(np.float32)
    nodes = [helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(weight)),
             helper.make_node("Identity", ["x"], ["i"]),
             helper.make_node("Dropout", ["i", "ratio"], ["d"]),
             helper.make_node("MatMul", ["d", "w"], ["y"])]
    path = write_graph(nodes, [numpy_helper.from_array(np.float32(0.5), "ratio")],
                       outputs=[("y", [None, 2])])
    model = cr.onnx.load(path)
    assert [type(m).__name__ for m in model] == ["Linear"]
    x = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(cr.predict(model, x), x @ weight, rtol=1e-6)


@pytest.mark.parametrize(("start", "end", "shape"), [(1, -1, (3, 4)), (0, -1, (3, 4)),
                                                     (1, 2, (2, 3, 4)), (2, 3, (2, 3, 4))])
def test_flatten_round_trip(start, end, shape, tmp_path, chainrule_outputs):
    """Flatten(1, -1) is ONNX's Flatten; the others are written (and read) as Reshape."""
    model = nn.Sequential(nn.Flatten(start, end), nn.Tanh())
    cr.onnx.export(model, np.zeros((2, *shape), np.float32), tmp_path / "m.onnx")
    loaded = cr.onnx.load(tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(5, *shape)).astype(np.float32)
    np.testing.assert_array_equal(chainrule_outputs(loaded, x), chainrule_outputs(model, x))
