"""report.html: one self-contained page about a training run.

The configuration, the metrics, every plot (embedded as a base64 PNG `data:` URI) and the
gradient-health summary. The page references no other file, script, font or stylesheet,
so it can be mailed, archived or opened offline on its own.
"""

from __future__ import annotations

import base64
import datetime
import html
import math

from .atomic import atomic_write_text
from .engine.tensor import ChainruleError

__all__ = ["ReportError", "png_data_uri", "render_report", "write_report"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.8em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; } figure img { max-width: 34em; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.warn { color: #a40; } .ok { color: #060; }
"""


class ReportError(ChainruleError, ValueError):
    """Something handed to the report cannot be embedded."""


def png_data_uri(png: bytes) -> str:
    """A PNG's bytes as a `data:image/png;base64,...` URI."""
    if not isinstance(png, (bytes, bytearray)) or not bytes(png[:8]) == PNG_SIGNATURE:
        raise ReportError("report: plot is not PNG data (bad signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _cell(value) -> str:
    if isinstance(value, float):
        text = "-" if math.isnan(value) else f"{value:.6g}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return f"<td>{html.escape('-' if value is None else str(value))}</td>"


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _metrics_section(metrics: dict) -> str:
    """metrics: {split: {name: value}} (e.g. train/validation/test) or {name: value}."""
    if metrics and all(isinstance(v, dict) for v in metrics.values()):
        names = list(dict.fromkeys(n for split in metrics.values() for n in split))
        rows = [[split, *(values.get(n) for n in names)] for split, values in metrics.items()]
        return _table(["split", *names], rows)
    return _table(["metric", "value"], list(metrics.items()))


def _plots_section(plots: dict) -> str:
    figures = [
        f'<figure><img alt="{html.escape(title)}" src="{png_data_uri(png)}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for title, png in plots.items()
    ]
    return f'<div class="plots">{"".join(figures)}</div>' if figures else "<p>No plots.</p>"


def _health_section(health: dict | None) -> str:
    """health: {"verdict": str, "tables": [{"columns": [...], "rows": [[...]]}],
    "warnings": [str]}."""
    if not health:
        return "<p>No gradient record for this run.</p>"
    parts = []
    verdict = health.get("verdict")
    if verdict:
        cls = "warn" if health.get("warnings") else "ok"
        parts.append(f'<p class="{cls}">{html.escape(verdict)}</p>')
    for table in health.get("tables", []):
        if table["rows"]:
            parts.append(_table(table["columns"], table["rows"]))
    warnings = health.get("warnings") or []
    if warnings:
        items = "".join(f'<li class="warn">{html.escape(w)}</li>' for w in warnings)
        parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


def _data_section(columns: list | None) -> list[str]:
    if not columns:
        return []
    header = list(columns[0])
    return ["<h2>Data</h2>", _table(header, [[row[h] for h in header] for row in columns])]


def render_report(
    *,
    title: str,
    config: dict,
    metrics: dict,
    plots: dict,
    gradient_health: dict | None = None,
    summary: dict | None = None,
    version: str = "",
    columns: list | None = None,
) -> str:
    """The HTML page: plots maps a caption to PNG bytes; summary (epochs, time, ...) is shown
    as a table of its own under the metrics; columns (dicts of column, type, missing,
    categories: the input columns and how they were read) as the Data section."""
    from . import __version__

    created = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    meta = f"chainrule {version or __version__} &middot; {html.escape(created)}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
            f'<h1>{html.escape(title)}</h1><p class="meta">{meta}</p>',
            "<h2>Metrics</h2>",
            _metrics_section(metrics),
            _table(["run", "value"], list(summary.items())) if summary else "",
            "<h2>Plots</h2>",
            _plots_section(plots),
            "<h2>Gradient health</h2>",
            _health_section(gradient_health),
            *_data_section(columns),
            "<h2>Configuration</h2>",
            _table(["option", "value"], list(config.items())),
            "</body></html>",
        ]
    )


def write_report(path, **parts) -> None:
    """Render the report (see render_report) and write it to path atomically."""
    atomic_write_text(path, render_report(**parts))
