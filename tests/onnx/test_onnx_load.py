"""cr.onnx.load: files exported by torch.onnx.export and by cr.onnx.export become chainrule
models with the same outputs; other operators and damaged files raise OnnxImportError."""

from __future__ import annotations

import math
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

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


def test_gemm_alpha_beta_and_untransposed_weight(tmp_path):
    rng = np.random.default_rng(0)
    b, c = rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "b", "c"], ["y"], alpha=0.5, beta=2.0)
    path = _write(tmp_path, [node], [numpy_helper.from_array(b, "b"),
                                     numpy_helper.from_array(c, "c")], inputs=[("x", [None, 3])],
                  outputs=[("y", [None, 2])])
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


def test_gelu_like_arithmetic_that_is_not_gelu(tmp_path):
    """0.5·x·(1 + erf(x·√2)) (a Mul where GELU divides): not GELU, so Erf is refused."""
    consts = {"half": 0.5, "one": 1.0, "root": math.sqrt(2)}
    nodes = [helper.make_node("Mul", ["x", "root"], ["s"]),
             helper.make_node("Erf", ["s"], ["e"], name="erf"),
             helper.make_node("Add", ["e", "one"], ["p"]),
             helper.make_node("Mul", ["x", "half"], ["h"]),
             helper.make_node("Mul", ["h", "p"], ["y"])]
    path = _write(tmp_path, nodes, [numpy_helper.from_array(np.float32(v), k)
                                    for k, v in consts.items()])
    with pytest.raises(OnnxImportError, match="operator not supported"):
        cr.onnx.load(path)


# --- graphs cr.onnx.load refuses ------------------------------------------------------------
def _write(tmp_path, nodes, initializers=(), inputs=(("x", [None, 3]),),
           outputs=(("y", [None, 3]),), name="g.onnx"):
    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    graph = helper.make_graph(nodes, "g", [info(*i) for i in inputs],
                              [info(*o) for o in outputs], list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def test_unsupported_operator_is_named(tmp_path):
    path = _write(tmp_path, [helper.make_node("Relu", ["x"], ["r"]),
                             helper.make_node("Cos", ["r"], ["y"], name="the_cos")])
    with pytest.raises(OnnxImportError, match=r"g.onnx: node 'the_cos' \(Cos\): operator not "
                                              "supported"):
        cr.onnx.load(path)


def test_branching_graph_is_refused(tmp_path):
    path = _write(tmp_path, [helper.make_node("Relu", ["x"], ["r"]),
                             helper.make_node("Tanh", ["x"], ["t"], name="branch"),
                             helper.make_node("Mul", ["r", "t"], ["y"])])
    with pytest.raises(OnnxImportError, match=r"node 'branch' \(Tanh\): reads \['x'\], not "
                                              "the output of the layer before it"):
        cr.onnx.load(path)


def test_matmul_of_two_inputs_is_refused(tmp_path):
    path = _write(tmp_path, [helper.make_node("MatMul", ["x", "x2"], ["y"], name="mm")],
                  inputs=[("x", [None, 3]), ("x2", [3, 3])])
    with pytest.raises(OnnxImportError, match="the graph has 2 inputs"):
        cr.onnx.load(path)


def test_weights_must_be_constants(tmp_path):
    weight = numpy_helper.from_array(np.ones(3, np.float32), "w")
    path = _write(tmp_path, [helper.make_node("Relu", ["x"], ["r"]),
                             helper.make_node("Add", ["r", "w"], ["y"], name="add")], [weight])
    with pytest.raises(OnnxImportError, match=r"node 'add' \(Add\): an Add of a constant is "
                                              "supported only as the bias after a MatMul"):
        cr.onnx.load(path)


def test_external_data_is_refused(tmp_path):
    weight = numpy_helper.from_array(np.ones((3, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="/etc/passwd")
    path = _write(tmp_path, [helper.make_node("MatMul", ["x", "w"], ["y"])], [weight])
    with pytest.raises(OnnxImportError, match=r"g.onnx: (tensor 'w' is stored in an external "
                                              "file|damaged ONNX model)"):
        cr.onnx.load(path)


@pytest.fixture(name="valid_file")
def valid_file_fixture(tmp_path):
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
    cr.onnx.export(model, np.zeros((1, 4), np.float32), tmp_path / "ok.onnx")
    return (tmp_path / "ok.onnx").read_bytes()


@pytest.mark.parametrize(("damage", "message"), [
    (lambda data: b"", "not an ONNX model"),
    (lambda data: data[:len(data) // 2], "ONNX model"),
    (lambda data: bytes(range(256)) * 4, "ONNX model"),
    (lambda data: b"PK\x03\x04" + data[4:], "ONNX model"),
    (lambda data: b"\x80\x04\x95" + b"cos\nsystem\n" * 10, "ONNX model"),
])
def test_damaged_file_is_a_named_error(damage, message, valid_file, tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(damage(valid_file))
    with pytest.raises(OnnxImportError, match=f"bad.onnx: .*{message}"):
        cr.onnx.load(path)


def test_missing_file_is_a_named_error(tmp_path):
    with pytest.raises(OnnxImportError, match="nothing.onnx: cannot read the file"):
        cr.onnx.load(tmp_path / "nothing.onnx")


def test_weights_whose_bytes_do_not_fit_their_shape(valid_file, tmp_path):
    proto = onnx.load_from_string(valid_file)
    proto.graph.initializer[0].dims[0] = 1000  # the bytes stored hold 64 rows
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(OnnxImportError, match="bad.onnx: (damaged ONNX model|tensor .* is "
                                              "damaged)"):
        cr.onnx.load(path)


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


def test_layers_of_sizes_that_do_not_fit(tmp_path):
    rng = np.random.default_rng(0)
    first = numpy_helper.from_array(rng.normal(size=(3, 4)).astype(np.float32), "w1")
    second = numpy_helper.from_array(rng.normal(size=(5, 2)).astype(np.float32), "w2")
    path = _write(tmp_path, [helper.make_node("MatMul", ["x", "w1"], ["h"]),
                             helper.make_node("MatMul", ["h", "w2"], ["y"])], [first, second],
                  outputs=[("y", [None, 2])])
    with pytest.raises(OnnxImportError, match=r"g.onnx: its layers do not fit an input of "
                                              r"shape \(batch, 3\)"):
        cr.onnx.load(path)


def test_constant_nodes_dropout_and_identity(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 2)).astype(np.float32)
    nodes = [helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(weight)),
             helper.make_node("Identity", ["x"], ["i"]),
             helper.make_node("Dropout", ["i", "ratio"], ["d"]),
             helper.make_node("MatMul", ["d", "w"], ["y"])]
    path = _write(tmp_path, nodes, [numpy_helper.from_array(np.float32(0.5), "ratio")],
                  outputs=[("y", [None, 2])])
    model = cr.onnx.load(path)
    assert [type(m).__name__ for m in model] == ["Linear"]
    x = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(cr.predict(model, x), x @ weight, rtol=1e-6)


@pytest.mark.parametrize(("node", "weights", "message"), [
    (helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn"),
     {"s": np.ones(3), "b": np.zeros(3), "m": np.zeros(2), "v": np.ones(3)},
     r"node 'bn' \(BatchNormalization\): cannot build its layer: .*running_mean"),
    (helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], name="ln"),
     {"s": np.ones(3), "b": np.zeros(4)}, r"node 'ln' \(LayerNormalization\): cannot build"),
    (helper.make_node("Gelu", ["x"], ["y"], name="g", approximate="cubic"), {},
     r"node 'g' \(Gelu\): cannot build its layer: .*approximate"),
])
def test_weights_or_attributes_that_do_not_fit(node, weights, message, tmp_path):
    initializers = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()]
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    onnx.save(model, str(tmp_path / "g.onnx"))
    with pytest.raises(OnnxImportError, match=message):
        cr.onnx.load(tmp_path / "g.onnx")


@pytest.mark.parametrize(("start", "end", "shape"), [(1, -1, (3, 4)), (0, -1, (3, 4)),
                                                     (1, 2, (2, 3, 4)), (2, 3, (2, 3, 4))])
def test_flatten_round_trip(start, end, shape, tmp_path, chainrule_outputs):
    """Flatten(1, -1) is ONNX's Flatten; the others are written (and read) as Reshape."""
    model = nn.Sequential(nn.Flatten(start, end), nn.Tanh())
    cr.onnx.export(model, np.zeros((2, *shape), np.float32), tmp_path / "m.onnx")
    loaded = cr.onnx.load(tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(5, *shape)).astype(np.float32)
    np.testing.assert_array_equal(chainrule_outputs(loaded, x), chainrule_outputs(model, x))


def test_torch_flatten_of_inner_axes_is_refused_by_name(tmp_path):
    """torch writes Flatten(2) as Shape, Slice and Concat arithmetic on the input's shape:
    not a chain of layers, so load names the first such node."""
    module = torch.nn.Sequential(torch.nn.Flatten(2), torch.nn.ReLU()).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (torch.zeros(2, 3, 4, 5),), str(tmp_path / "t.onnx"),
                          dynamo=False)
    with pytest.raises(OnnxImportError, match=r"t.onnx: node '/0/Shape' \(Shape\): operator "
                                              "not supported"):
        cr.onnx.load(tmp_path / "t.onnx")


def test_reshape_that_is_not_a_flatten(tmp_path):
    shape = numpy_helper.from_array(np.array([0, 4, 3], np.int64), "shape")
    path = _write(tmp_path, [helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
                  [shape], inputs=[("x", [None, 3, 4])], outputs=[("y", [None, 4, 3])])
    with pytest.raises(OnnxImportError, match=r"node 'r' \(Reshape\): .* is no Flatten"):
        cr.onnx.load(path)
