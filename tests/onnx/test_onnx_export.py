"""cr.onnx.export: every layer in float32 and float64, run in ONNX Runtime on a batch of
another size than the example's and compared with chainrule's own outputs."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import onnx
import pytest

import chainrule as cr
from chainrule.onnx import OnnxExportError
from chainrule.onnx.registry import CONVERTERS

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from layer_examples import LAYER_EXAMPLES  # noqa: E402

nn = cr.nn


CASES = LAYER_EXAMPLES  # every layer class chainrule has must appear (see below)
NOT_EXPORTABLE = {"ModuleList": "not callable: a list of modules, not a layer"}
PARAMS = [pytest.param(name, build, shape, id=f"{name}-{i}")
          for name, cases in CASES.items() if name in nn.LAYERS
          for i, (build, shape) in enumerate(cases)]


def test_every_layer_has_an_export_case():
    """A layer added to chainrule without an export case (and converter) fails here."""
    assert set(nn.LAYERS) - set(NOT_EXPORTABLE) <= set(CASES)
    assert set(nn.LAYERS) - set(NOT_EXPORTABLE) <= set(CONVERTERS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "build", "shape"), PARAMS)
def test_onnx_runtime_equals_predict(name, build, shape, dtype, tmp_path, run_onnx,
                                     chainrule_outputs):
    cr.manual_seed(0)
    model = build().to(dtype)
    rng = np.random.default_rng(1)
    path = tmp_path / "model.onnx"
    cr.onnx.export(model, rng.normal(size=(3, *shape)).astype(dtype), path)
    x = rng.normal(size=(7, *shape)).astype(dtype)  # another batch size than the example's
    got = run_onnx(path, input=x)["output"]
    expected = chainrule_outputs(model, x)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_file_passes_the_checker_with_a_dynamic_batch_axis(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    cr.onnx.export(model, np.zeros((2, 4), np.float32), tmp_path / "m.onnx")
    proto = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain == ""] == [17]
    assert proto.ir_version == 8
    for value in (*proto.graph.input, *proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and not dims[0].HasField("dim_value")
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim[1:]] == [3]


def test_gelu_uses_the_gelu_operator_from_opset_20(tmp_path, run_onnx):
    for opset, op in ((17, "Erf"), (20, "Gelu")):
        proto = cr.onnx.export(nn.GELU(), np.zeros((2, 3), np.float32), tmp_path / "g.onnx",
                               opset=opset)
        assert op in {node.op_type for node in proto.graph.node}
        x = np.linspace(-4, 4, 12, dtype=np.float32).reshape(4, 3)
        np.testing.assert_allclose(run_onnx(tmp_path / "g.onnx", input=x)["output"],
                                   cr.predict(nn.GELU(), x), rtol=1e-5, atol=1e-6)


def test_training_mode_is_restored_and_dropout_is_off(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))
    proto = cr.onnx.export(model, np.ones((2, 4), np.float32), tmp_path / "m.onnx")
    assert model.training
    assert "Dropout" not in {node.op_type for node in proto.graph.node}


def test_metadata_is_stored(tmp_path):
    cr.onnx.export(nn.ReLU(), np.ones((1, 2)), tmp_path / "m.onnx",
                   metadata={"classes": '["a", "b"]'})
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert props == {"classes": '["a", "b"]'}


class Doubler(cr.nn.Module):
    def forward(self, x):
        return x * 2


class MyLinear(cr.nn.Linear):
    def forward(self, x):
        return super().forward(x) * 3


@pytest.mark.parametrize(("model", "named"), [
    (nn.Sequential(nn.Linear(4, 4), Doubler()), "layer 1 (Doubler)"),
    (nn.Residual(nn.Sequential(nn.ReLU(), MyLinear(4, 4))), "layer block.1 (MyLinear)"),
    (Doubler(), "the model (Doubler)"),
    (nn.Sequential(nn.BatchNorm1d(4, track_running_stats=False)), "layer 0 (BatchNorm1d)"),
])
def test_a_layer_that_cannot_be_exported_is_named(model, named, tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(OnnxExportError, match=named.replace("(", r"\(").replace(")", r"\)")):
        cr.onnx.export(model, np.ones((2, 4), np.float32), path)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_opset_before_17_is_refused(tmp_path):
    with pytest.raises(OnnxExportError, match="opset must be an int from 17"):
        cr.onnx.export(nn.ReLU(), np.ones((1, 2)), tmp_path / "m.onnx", opset=13)


def test_import_chainrule_does_not_import_onnx():
    code = ("import sys, chainrule as cr; cr.nn; "
            "assert not any(m == 'onnx' or m.startswith('onnx.') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_model_that_is_not_a_module(tmp_path):
    with pytest.raises(OnnxExportError, match="model must be a chainrule Module, got function"):
        cr.onnx.export(lambda x: x, np.ones((1, 2)), tmp_path / "m.onnx")


def test_a_path_that_cannot_be_written_is_named(tmp_path):
    path = tmp_path / "no such folder" / "m.onnx"
    with pytest.raises(OnnxExportError, match="no such folder/m.onnx: cannot write the file"):
        cr.onnx.export(nn.ReLU(), np.ones((1, 2)), path)
