"""The gradient-health summary of a run, from GradientMonitor's record in its History."""

from __future__ import annotations

import math

__all__ = ["gradient_health"]


def _first_last(series):
    finite = [v for v in series if isinstance(v, (int, float)) and math.isfinite(v)]
    return (finite[0], finite[-1]) if finite else (math.nan, math.nan)


def _parameter_rows(record: dict) -> list[list]:
    rows = []
    for name, norms in record.get("grad_norm", {}).items():
        first, last = _first_last(norms)
        _, ratio = _first_last(record.get("update_ratio", {}).get(name, []))
        rows.append([name, first, last, ratio])
    return rows


def _activation_rows(record: dict) -> list[list]:
    rows = []
    for key, kind in (("dead_relu", "dead ReLU units"), ("saturated", "saturated units")):
        for layer, series in record.get(key, {}).items():
            _, last = _first_last(series)
            rows.append([layer, kind, last])
    return rows


def gradient_health(history) -> dict | None:
    """{"verdict", "tables", "warnings"} for the report; None when nothing was recorded."""
    record = getattr(history, "grad_monitor", None)
    if not record or not record.get("epoch"):
        return None
    warnings = list(record.get("warnings", []))
    verdict = (
        f"{len(warnings)} gradient warning(s): see below."
        if warnings
        else "Healthy: no vanishing or exploding gradients detected in any layer."
    )
    return {
        "verdict": verdict,
        "warnings": warnings,
        "tables": [
            {
                "columns": [
                    "parameter",
                    "grad norm (first epoch)",
                    "grad norm (last epoch)",
                    "update/weight ratio (last epoch)",
                ],
                "rows": _parameter_rows(record),
            },
            {
                "columns": ["activation layer", "measure", "fraction (last epoch)"],
                "rows": _activation_rows(record),
            },
        ],
    }
