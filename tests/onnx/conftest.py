"""Helpers for the ONNX tests: run a file in ONNX Runtime, compute chainrule's outputs."""

from __future__ import annotations

import onnxruntime
import pytest

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


@pytest.fixture(name="run_onnx")
def run_onnx_fixture():
    return run_onnx


@pytest.fixture(name="chainrule_outputs")
def chainrule_outputs_fixture():
    return chainrule_outputs
