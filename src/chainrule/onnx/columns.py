"""A table run's column encodings (data/columns.py) as ONNX nodes: one graph input per column.

Numeric column: a float64 (batch, 1) input, NaN for a missing cell; the training median fills
it and, where training had gaps, a missing indicator follows. Categorical column: a string
(batch, 1) input of texts, compared as predict compares a file's cells: after stripping
white space, and "" or a missing marker (NA, null, ?, ... in any case, as csvtable.MISSING)
for a missing cell; one-hot over the training categories, then <other> (an unseen category,
when rare ones were pooled) and <missing>, as Column._one_hot does; an unseen category
without <other> is all zeros. Date columns need date parsing, which ONNX has no operator
for: refused by name.

NOTE: the comparisons are RegexFullMatch (RE2: its white space is ASCII white space), which needs
opset 20, so a run with categorical columns exports at opset >= 20.
"""

from __future__ import annotations

import numpy as np

from ..data.csvtable import MISSING
from .errors import OnnxExportError
from .graph import Value

_DOUBLE = 11  # onnx.TensorProto.DOUBLE
STRING_OPSET = 20
RE2_SPECIAL = set("\\.+*?()|[]{}^$")  # characters RE2 reads as syntax


def _literal(text: str) -> str:
    """An RE2 pattern that matches `text` exactly."""
    return "".join("\\" + char if char in RE2_SPECIAL else char for char in text)


def needs_columns(preprocessor) -> bool:
    """Whether the run encodes anything beyond plain numeric columns."""
    return any(
        c.kind != "numeric" or len(c.feature_names()) != 1
        for c in getattr(preprocessor, "columns", [])
    )


def check_exportable(preprocessor) -> None:
    dates = [c.name for c in preprocessor.columns if c.kind not in ("numeric", "categorical")]
    if dates:
        raise OnnxExportError(
            f"the run turns the date columns {dates} into date parts, which ONNX has no "
            "operator for; train without them (--ignore) to export the run, or export the "
            "model alone with cr.onnx.export and encode the rows as chainrule predict does"
        )


def column_inputs(graph, preprocessor) -> tuple[list[Value], Value]:
    """(one input Value per column, the encoded float64 features in the model's order)."""
    inputs, parts = [], []
    for column in preprocessor.columns:
        if column.kind == "numeric":
            x = Value(graph.fresh(column.name), np.zeros((2, 1)))
            parts += _numeric(graph, column, x.name)
        else:
            x = Value(graph.fresh(column.name), np.array([[""], [""]], dtype=object))
            parts += _categorical(graph, column, x.name)
        inputs.append(x)
    features = graph.node("Concat", parts, "columns/Concat", axis=1)
    width = len(preprocessor.feature_names)
    return inputs, Value(features, np.zeros((2, width)))


def _numeric(graph, column, x: str) -> list[str]:
    if column.fill is None:
        return [x]
    gaps = graph.node("IsNaN", [x], f"{column.name}/IsNaN")
    fill = graph.constant(f"{column.name}.fill", np.array(float(column.fill)))
    filled = graph.node("Where", [gaps, fill, x], f"{column.name}/Where")
    if not column.missing:
        return [filled]
    return [filled, graph.node("Cast", [gaps], f"{column.name}/Cast", to=_DOUBLE)]


def _categorical(graph, column, x: str) -> list[str]:
    def flag(pattern: str) -> str:  # 1.0 where the whole cell matches, else 0.0
        match = graph.node("RegexFullMatch", [x], f"{column.name}/RegexFullMatch", pattern=pattern)
        return graph.node("Cast", [match], f"{column.name}/Cast", to=_DOUBLE)

    markers = "|".join(_literal(marker) for marker in sorted(MISSING) if marker)
    missing = flag(rf"\s*(?i:{markers})?\s*")
    never = graph.node("Sub", [missing, missing], f"{column.name}/Sub")  # zeros
    # a category that is a missing marker (from a Parquet, JSON or DataFrame training) is
    # missing in a file that predict reads: never its own feature here either
    hits = [
        never
        if str(category).strip().lower() in MISSING
        else flag(rf"\s*{_literal(str(category))}\s*")
        for category in column.categories
    ]
    parts = list(hits)
    if column.other:  # <other> = (1 − any category)·(1 − missing)
        one = graph.constant(f"{column.name}.one", np.array(1.0))
        seen = hits[0] if len(hits) == 1 else graph.node("Sum", hits, f"{column.name}/Sum")
        unseen = graph.node("Sub", [one, seen], f"{column.name}/Sub")
        present = graph.node("Sub", [one, missing], f"{column.name}/Sub")
        parts.append(graph.node("Mul", [unseen, present], f"{column.name}/Mul"))
    if column.missing:
        parts.append(missing)
    return parts
