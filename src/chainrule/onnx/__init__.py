"""ONNX export and import: run chainrule models in ONNX Runtime, bring PyTorch's in.

    cr.onnx.export(model, example_input, "model.onnx")   # torch.onnx.export's argument order
    model = cr.onnx.load("model.onnx")                    # a chainrule Module

Needs the onnx package (`pip install 'chainrule[onnx]'`), imported on first use.
"""

from .errors import OnnxExportError, OnnxImportError
from .export import DEFAULT_OPSET, export
from .load import load

__all__ = ["DEFAULT_OPSET", "OnnxExportError", "OnnxImportError", "export", "load"]
