"""cr.onnx.load refuses what it cannot read with an OnnxImportError naming the file (and
the node and operator): other operators, graphs that are not chains, weights that do not
fit, damaged files."""

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


def test_gelu_like_arithmetic_that_is_not_gelu(write_graph, tmp_path):
    """0.5·x·(1 + erf(x·√2)) (a Mul where GELU divides): not GELU, so Erf is refused."""
    consts = {"half": 0.5, "one": 1.0, "root": math.sqrt(2)}
    nodes = [helper.make_node("Mul", ["x", "root"], ["s"]),
             helper.make_node("Erf", ["s"], ["e"], name="erf"),
             helper.make_node("Add", ["e", "one"], ["p"]),
             helper.make_node("Mul", ["x", "half"], ["h"]),
             helper.make_node("Mul", ["h", "p"], ["y"])]
    path = write_graph(nodes, [numpy_helper.from_array(np.float32(v), k)
                               for k, v in consts.items()])
    with pytest.raises(OnnxImportError, match="operator not supported"):
        cr.onnx.load(path)


def test_unsupported_operator_is_named(write_graph, tmp_path):
    path = write_graph([helper.make_node("Relu", ["x"], ["r"]),
                        helper.make_node("Cos", ["r"], ["y"], name="the_cos")])
    with pytest.raises(OnnxImportError, match=r"g.onnx: node 'the_cos' \(Cos\): operator not "
                                              "supported"):
        cr.onnx.load(path)


def test_branching_graph_is_refused(write_graph, tmp_path):
    path = write_graph([helper.make_node("Relu", ["x"], ["r"]),
                        helper.make_node("Tanh", ["x"], ["t"], name="branch"),
                        helper.make_node("Mul", ["r", "t"], ["y"])])
    with pytest.raises(OnnxImportError, match=r"node 'branch' \(Tanh\): reads \['x'\], not "
                                              "the output of the layer before it"):
        cr.onnx.load(path)


def test_matmul_of_two_inputs_is_refused(write_graph, tmp_path):
    path = write_graph([helper.make_node("MatMul", ["x", "x2"], ["y"], name="mm")],
                       inputs=[("x", [None, 3]), ("x2", [3, 3])])
    with pytest.raises(OnnxImportError, match="the graph has 2 inputs"):
        cr.onnx.load(path)


def test_weights_must_be_constants(write_graph, tmp_path):
    weight = numpy_helper.from_array(np.ones(3, np.float32), "w")
    path = write_graph([helper.make_node("Relu", ["x"], ["r"]),
                        helper.make_node("Add", ["r", "w"], ["y"], name="add")], [weight])
    with pytest.raises(OnnxImportError, match=r"node 'add' \(Add\): an Add of a constant is "
                                              "supported only as the bias after a MatMul"):
        cr.onnx.load(path)


def test_external_data_is_refused(write_graph, tmp_path):
    weight = numpy_helper.from_array(np.ones((3, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="/etc/passwd")
    path = write_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], [weight])
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


def test_layers_of_sizes_that_do_not_fit(write_graph, tmp_path):
    rng = np.random.default_rng(0)
    first = numpy_helper.from_array(rng.normal(size=(3, 4)).astype(np.float32), "w1")
    second = numpy_helper.from_array(rng.normal(size=(5, 2)).astype(np.float32), "w2")
    path = write_graph([helper.make_node("MatMul", ["x", "w1"], ["h"]),
                        helper.make_node("MatMul", ["h", "w2"], ["y"])], [first, second],
                       outputs=[("y", [None, 2])])
    with pytest.raises(OnnxImportError, match=r"g.onnx: its layers do not fit an input of "
                                              r"shape \(batch, 3\)"):
        cr.onnx.load(path)


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


def test_reshape_that_is_not_a_flatten(write_graph, tmp_path):
    shape = numpy_helper.from_array(np.array([0, 4, 3], np.int64), "shape")
    path = write_graph([helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
                       [shape], inputs=[("x", [None, 3, 4])], outputs=[("y", [None, 4, 3])])
    with pytest.raises(OnnxImportError, match=r"node 'r' \(Reshape\): .* is no Flatten"):
        cr.onnx.load(path)
