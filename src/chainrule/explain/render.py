"""Renderers of an Explanation: plain text, markdown and JSON."""

from __future__ import annotations

import json

import numpy as np

from .checks import objective_symbol
from .trace import LOSSES

FORMATS = ("text", "markdown", "json")
ORACLES = ("autodiff", "central differences")


def _number(v: float) -> str:
    return f"{v:.5g}"


def _fmt(array) -> str:
    """A column vector as [..]ᵀ, a matrix as [[row], [row]] (rows of the math, not of X)."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        return _number(float(array))
    if array.ndim == 2 and array.shape[1] == 1:
        return "[" + ", ".join(_number(v) for v in array[:, 0]) + "]ᵀ"
    return "[" + ", ".join("[" + ", ".join(_number(v) for v in row) + "]" for row in array) + "]"


def _rows(e):
    """(section, [(formula, value)]) in reading order."""
    s, m = objective_symbol(e.m), e.m
    avg = "" if m == 1 else "(1/m) "
    total = "" if m == 1 else "(1/m) Σᵢ "
    params = []
    for lay in e.layers:
        params += [(f"W({lay.index})", _fmt(lay.W)), (f"b({lay.index})", _fmt(lay.b))]
    forward = [("a(0) = x", _fmt(e.x))]
    for lay in e.layers:
        n, act = lay.index, "ψ" if lay is e.layers[-1] else "φ"
        forward += [
            (f"z({n}) = W({n}) a({n - 1}) + b({n})", _fmt(lay.z)),
            (f"a({n}) = {act}(z({n})) = {lay.activation}", _fmt(lay.a)),
        ]
    loss = LOSSES[e.loss][1] if m == 1 else f"J = (1/m) Σᵢ L(ŷᵢ, yᵢ), {LOSSES[e.loss][1]}"
    forward += [("y", _fmt(e.y)), (loss, _number(e.loss_value))]
    backward = []
    for lay in reversed(e.layers):
        n = lay.index
        rule = (
            e.delta_rule
            if lay is e.layers[-1]
            else f"δ({n}) = (W({n + 1})ᵀ δ({n + 1})) ⊙ {lay.activation}′(z({n}))"
        )
        backward += [
            (rule.replace("(L)", f"({n})"), _fmt(lay.delta)),
            (f"∂{s}/∂W({n}) = {avg}δ({n}) a({n - 1})ᵀ", _fmt(lay.dW)),
            (f"∂{s}/∂b({n}) = {total}δ({n})", _fmt(lay.db)),
        ]
    update = []
    for lay in e.layers:
        n = lay.index
        update += [
            (f"W({n}) ← W({n}) − η ∂{s}/∂W({n})", _fmt(lay.W_new)),
            (f"b({n}) ← b({n}) − η ∂{s}/∂b({n})", _fmt(lay.b_new)),
        ]
    update += [(f"{s} before → after", f"{_number(e.loss_value)} → {_number(e.loss_after)}")]
    return [
        ("Parameters", params),
        ("Forward pass", forward),
        ("Backward pass", backward),
        (f"Gradient-descent update (η = {_number(e.lr)})", update),
    ]


def _header(e):
    sizes = "-".join(str(n) for n in e.sizes)
    batch = "one example" if e.m == 1 else f"a batch of m = {e.m} examples (as columns)"
    return [
        f"Backpropagation through a {sizes} network: hidden φ = {e.hidden_activation}, "
        f"output ψ = {e.output_activation}, {LOSSES[e.loss][0]} {LOSSES[e.loss][1]}; {batch}.",
        f"Output error: {e.delta_rule}. {e.delta_note[0].upper()}{e.delta_note[1:]}.",
    ]


def _check_table(e):
    """[(quantity, error vs autodiff, error vs central differences, ok)]."""
    by_quantity = {}
    for c in e.checks:
        by_quantity.setdefault(c.quantity, {})[c.oracle] = c
    table = []
    for quantity, found in by_quantity.items():
        cells = [f"{found[o].max_abs_error:.2e}" if o in found else "—" for o in ORACLES]
        table.append((quantity, *cells, "yes" if all(c.passed for c in found.values()) else "NO"))
    return table


def _verdict(e):
    return (
        "Every number agrees with autodiff and central differences."
        if e.passed
        else "Some numbers DISAGREE with an oracle (see NO above)."
    )


def to_text(e) -> str:
    lines = _header(e)
    for title, rows in _rows(e):
        width = max(len(f) for f, _ in rows)
        lines += ["", title] + [f"  {f.ljust(width)}  {v}" for f, v in rows]
    lines += [
        "",
        "Checks (largest absolute difference)",
        f"  {'quantity':<22}{'vs autodiff':<14}{'vs central diff.':<18}ok",
    ]
    lines += [f"  {q:<22}{a:<14}{c:<18}{ok}" for q, a, c, ok in _check_table(e)]
    return "\n".join([*lines, "", _verdict(e)]) + "\n"


def to_markdown(e) -> str:
    lines = ["# Backpropagation, step by step", "", *_header(e)]
    for title, rows in _rows(e):
        lines += ["", f"## {title}", "", "| formula | value |", "|---|---|"]
        lines += [f"| {f} | `{v}` |" for f, v in rows]
    lines += [
        "",
        "## Checks",
        "",
        "Largest absolute difference from each oracle.",
        "",
        "| quantity | vs autodiff | vs central differences | ok |",
        "|---|---|---|---|",
    ]
    lines += [f"| {q} | {a} | {c} | {ok} |" for q, a, c, ok in _check_table(e)]
    return "\n".join([*lines, "", _verdict(e)]) + "\n"


def _list(array):
    return np.asarray(array, dtype=np.float64).tolist()


def to_dict(e) -> dict:
    """JSON-serialisable trace; matrices as nested lists, examples as columns."""
    return {
        "network": {
            "sizes": list(e.sizes),
            "hidden_activation": e.hidden_activation,
            "output_activation": e.output_activation,
            "loss": e.loss,
            "loss_formula": LOSSES[e.loss][1],
        },
        "batch_size": e.m,
        "objective": objective_symbol(e.m),
        "x": _list(e.x),
        "y": _list(e.y),
        "parameters": [
            {"layer": lay.index, "W": _list(lay.W), "b": _list(lay.b)} for lay in e.layers
        ],
        "forward": [
            {"layer": lay.index, "activation": lay.activation, "z": _list(lay.z), "a": _list(lay.a)}
            for lay in e.layers
        ],
        "loss": e.loss_value,
        "backward": {
            "delta_rule": e.delta_rule,
            "delta_note": e.delta_note,
            "pairing": e.pairing,
            "layers": [
                {
                    "layer": lay.index,
                    "delta": _list(lay.delta),
                    "dW": _list(lay.dW),
                    "db": _list(lay.db),
                }
                for lay in reversed(e.layers)
            ],
        },
        "update": {
            "lr": e.lr,
            "loss_before": e.loss_value,
            "loss_after": e.loss_after,
            "layers": [
                {"layer": lay.index, "W": _list(lay.W_new), "b": _list(lay.b_new)}
                for lay in e.layers
            ],
        },
        "checks": [
            {
                "quantity": c.quantity,
                "oracle": c.oracle,
                "max_abs_error": c.max_abs_error,
                "passed": c.passed,
            }
            for c in e.checks
        ],
        "all_checks_passed": e.passed,
    }


def render(e, fmt: str = "text") -> str:
    """The explanation as "text", "markdown" or "json"."""
    if fmt == "text":
        return to_text(e)
    if fmt == "markdown":
        return to_markdown(e)
    if fmt == "json":
        return json.dumps(to_dict(e), indent=2, ensure_ascii=False) + "\n"
    from .trace import ExplainError

    raise ExplainError(f"explain: unknown format {fmt!r}; choose from {FORMATS}")
