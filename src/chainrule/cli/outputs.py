"""What `chainrule train` leaves in its run folder besides the model, and what it prints."""

from __future__ import annotations

import csv
import io
import json
import math
import os

from ..atomic import atomic_write_text
from .table import format_table
from .trained import score

__all__ = ["compute_metrics", "print_results", "write_outputs"]

SPLIT_NAMES = (
    ("train", "X_train", "y_train"),
    ("validation", "X_val", "y_val"),
    ("test", "X_test", "y_test"),
)


def compute_metrics(model, data) -> dict:
    """{split: {loss, accuracy | mse, mae, r2}} for every split that has rows."""
    return {
        split: score(model, data.task, getattr(data, X), getattr(data, y))
        for split, X, y in SPLIT_NAMES
        if len(getattr(data, X))
    }


def run_summary(model, history) -> dict:
    from ..distributed import world_size

    epochs = len(history.epoch)
    return {
        "epochs": epochs,
        "best_epoch": history.best_epoch,
        "parameters": model.num_parameters(),
        "processes": world_size(),
        "seconds": float(sum(history.history.get("time", []))),
    }


def _json_ready(value):
    """NaN/Inf become null (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def columns_csv(columns: list[dict]) -> str:
    """The input columns as read: column, type, missing (training cells), categories."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(columns)
    return buffer.getvalue()


def write_outputs(
    out: str, config: dict, model, records, data, plots: bool = True
) -> tuple[dict, list[str]]:
    """history.csv, metrics.json, the plots and report.html; returns (metrics, file names).
    records: (History, StepRecorder) of the run."""
    from ..report import write_report
    from .health import gradient_health
    from .plots import draw_plots

    history, steps = records
    history.to_csv(os.path.join(out, "history.csv"))
    metrics = {**compute_metrics(model, data), "run": run_summary(model, history)}
    atomic_write_text(
        os.path.join(out, "metrics.json"), json.dumps(_json_ready(metrics), indent=2) + "\n"
    )
    columns = data.preprocessor.column_summary()
    atomic_write_text(os.path.join(out, "columns.csv"), columns_csv(columns))
    drawn = draw_plots(out, model, history, steps, data) if plots else {}
    title = f"chainrule run: {config['data'] or config['dataset']}"
    splits = {name: values for name, values in metrics.items() if name != "run"}
    shown = {**config, "task": config["task"] or f"{data.task} (inferred)"}
    write_report(
        os.path.join(out, "report.html"),
        title=title,
        config=shown,
        metrics=splits,
        summary=metrics["run"],
        plots={caption: png for caption, (_, png) in drawn.items()},
        gradient_health=gradient_health(history),
        columns=columns,
    )
    files = [
        "model.safetensors",
        "history.csv",
        "metrics.json",
        "columns.csv",
        "config.json",
        "checkpoint.safetensors",
        "trajectory.safetensors",
        *(name for name, _ in drawn.values()),
        "report.html",
    ]
    # No checkpoint after --epochs 0; a run folder may hold files of an earlier run.
    return metrics, [name for name in files if os.path.exists(os.path.join(out, name))]


def print_results(metrics: dict, history, out: str, files: list[str]) -> None:
    splits = [name for name in metrics if name != "run"]
    names = list(dict.fromkeys(n for s in splits for n in metrics[s]))
    rows = [[split, *(metrics[split].get(n) for n in names)] for split in splits]
    print(format_table(["split", *names], rows))
    run = metrics["run"]
    best = (
        ""
        if run["best_epoch"] is None
        else (f", lowest {history.monitor} at epoch {run['best_epoch'] + 1}")
    )  # 1-based, as printed
    print(
        f"\n{run['epochs']} epochs in {run['seconds']:.1f} s{best}; {run['parameters']} parameters"
    )
    print(f"wrote {out}{os.sep}: {', '.join(files)}")
