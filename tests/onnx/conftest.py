"""Helpers for the ONNX tests: run a file in ONNX Runtime, compute chainrule's outputs."""

from __future__ import annotations

import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

import chainrule as cr


def run_onnx(path, **inputs):
    """The outputs of the ONNX file at `path` in ONNX Runtime (CPU), by output name."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))


def chainrule_outputs(model, x):
    """cr.predict for (n, features) inputs; the eval-mode forward pass for other shapes
    (predict checks a first Linear's in_features against axis 1)."""
    if x.ndim == 2:
        return cr.predict(model, x)
    was_training = model.training
    model.eval()
    with cr.no_grad():
        out = model(cr.tensor(x, dtype=x.dtype)).data
    model.train(was_training)
    return out


def write_graph(path, nodes, initializers=(), inputs=(("x", [None, 3]),),
                outputs=(("y", [None, 3]),)):
    """Save a float32 opset-17 graph of `nodes` at `path`; inputs and outputs as
    (name, shape) pairs (None: the batch axis)."""
    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    graph = helper.make_graph(nodes, "g", [info(*i) for i in inputs],
                              [info(*o) for o in outputs], list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture(name="write_graph")
def write_graph_fixture(tmp_path):
    """write_graph at tmp_path / "g.onnx"."""
    return lambda *args, **kwargs: write_graph(tmp_path / "g.onnx", *args, **kwargs)


@pytest.fixture(name="run_onnx")
def run_onnx_fixture():
    return run_onnx


@pytest.fixture(name="chainrule_outputs")
def chainrule_outputs_fixture():
    return chainrule_outputs
