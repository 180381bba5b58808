"""Option parsing and checks shared by the subcommands.

Malformed values (`--hidden 12,x`) are usage errors: argparse reports them and exits with 2.
Well-formed values out of range (`--epochs -1`, `--lr 0`) raise OptionError, which the
command reports on one line with exit code 1, as for any other bad input.
"""

from __future__ import annotations

import argparse
import math

from ..engine.tensor import ChainruleError

__all__ = [
    "OptionError",
    "add_command",
    "check_choices",
    "check_range",
    "column_list",
    "int_list",
    "name_list",
    "require_finite",
]


class OptionError(ChainruleError, ValueError):
    """A command-line option has a value the command cannot use."""


def add_command(commands, name: str, doc: str, examples: str, summary: str):
    """A subcommand's parser: described by its module's docstring (the text after
    "`chainrule NAME`: "), with its examples as the epilog."""
    return commands.add_parser(
        name,
        help=summary,
        description=doc.split(": ", 1)[1],
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def int_list(text: str) -> list[int]:
    """'128,64' -> [128, 64]; '' or 'none' -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 128,64, got {text!r}"
        ) from None


def name_list(text: str, lower: bool = True) -> list[str]:
    """'sgd, adam' -> ['sgd', 'adam'] (lower-cased unless lower is false)."""
    names = [
        part.strip().lower() if lower else part.strip() for part in text.split(",") if part.strip()
    ]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def column_list(text: str) -> list[str]:
    """'island, sex' -> ['island', 'sex'] (column names keep their case)."""
    return name_list(text, lower=False)


def require_finite(option: str, value: float) -> float:
    if value is not None and not math.isfinite(value):
        raise OptionError(f"{option} must be a finite number, got {value}")
    return value


def check_range(
    option: str, value, *, above=None, at_least=None, below=None, at_most=None, note: str = ""
):
    """Raise OptionError unless value is within the given bounds (None skips a check)."""
    if value is None:
        return value
    require_finite(option, float(value))
    wanted = []
    if above is not None and not value > above:
        wanted.append(f"> {above}")
    if at_least is not None and not value >= at_least:
        wanted.append(f">= {at_least}")
    if below is not None and not value < below:
        wanted.append(f"< {below}")
    if at_most is not None and not value <= at_most:
        wanted.append(f"<= {at_most}")
    if wanted:
        suffix = f" ({note})" if note else ""
        raise OptionError(f"{option} must be {' and '.join(wanted)}{suffix}, got {value}")
    return value


def check_choices(option: str, values: list[str], choices) -> list[str]:
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise OptionError(
            f"{option}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(choices)}"
        )
    return values
