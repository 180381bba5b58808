"""The errors of ONNX export and import, and the one place that imports the onnx package."""

from __future__ import annotations

import os

from ..engine.tensor import ChainruleError


class OnnxExportError(ChainruleError, ValueError):
    """A model (or one of its layers) that cannot be written as an ONNX graph."""


class OnnxImportError(ChainruleError, ValueError):
    """An ONNX file that cannot be read or turned into a chainrule model; names the file."""

    def __init__(self, path, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class OnnxMissingError(ChainruleError, ImportError):
    """The onnx package is not installed."""


def require_onnx():
    """The onnx package, or an OnnxMissingError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise OnnxMissingError(
            "ONNX export and import need the onnx package: pip install 'chainrule[onnx]'"
        ) from None
    return onnx
