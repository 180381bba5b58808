"""The `chainrule` command (also `python -m chainrule`).

Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args) -> int`;
heavy imports (training, plots) happen inside `run`, so `chainrule --help` stays quick.
Errors print one line on stderr and exit with 1; usage errors exit with 2 (argparse's own);
`--debug` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from .. import __version__
from ..engine.tensor import ChainruleError
from . import evaluate, explain, export, gradcheck, landscape, predict, serve, train

__all__ = ["build_parser", "main"]

COMMANDS = (train, predict, evaluate, gradcheck, explain, landscape, export, serve)

EXAMPLES = """\
examples:
  chainrule train                         train on the built-in digits data, print the results
  chainrule train --data houses.csv --target price --hidden 64,32 --epochs 50
  chainrule train --dataset moons --optimizer momentum --lr 0.1 --schedule cosine --out runs/moons
  chainrule train --out runs/moons --resume --epochs 100      continue a run where it stopped
  chainrule predict --model runs/latest/model.safetensors --data new.csv --out preds.csv
  chainrule evaluate --model runs/latest/model.safetensors --data test.csv --target label
  chainrule gradcheck --model runs/latest/model.safetensors --data test.csv
  chainrule explain --format markdown
  chainrule landscape --function rosenbrock --optimizers sgd,momentum,adam --animate
  chainrule export --model runs/latest --out model.onnx     run it in ONNX Runtime
  chainrule serve --open                  the interactive training page

Run `chainrule COMMAND --help` for a command's options.
"""


def add_debug_option(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show the full traceback when an error occurs",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Train neural networks from first principles: reverse-mode autodiff "
        "and gradient descent on NumPy.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    add_debug_option(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        subparser = command.add_parser(commands)
        # SUPPRESS: `chainrule --debug train` and `chainrule train --debug` both work.
        add_debug_option(subparser, default=argparse.SUPPRESS)
    return parser


def one_line(error: BaseException) -> str:
    """The error's message on one line (multi-line messages joined with '; ')."""
    text = str(error).strip() or type(error).__name__
    if isinstance(error, KeyError) and error.args:
        text = f"missing key {error.args[0]!r}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines)


# Optional packages (the import name and the distribution's): each is in chainrule[all].
OPTIONAL_PACKAGES = {
    "sklearn": "scikit-learn",
    "safetensors": "safetensors",
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "mnist1d": "mnist1d",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "mpi4py": "mpi4py",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}


def missing_package(error: BaseException) -> str | None:
    """The one-line advice for an optional package that is not installed, else None."""
    if not isinstance(error, ImportError) or not error.name:
        return None
    package = OPTIONAL_PACKAGES.get(error.name.split(".")[0])
    if package is None:
        return None
    return (
        f"this needs the optional package {package}, which is not installed: "
        'pip install "chainrule[all]"'
    )


def describe(error: BaseException) -> str:
    message = missing_package(error)
    if message:
        return message
    if isinstance(error, (ChainruleError, OSError)):
        return one_line(error)
    # Not an error we raise on purpose: name its type and point at --debug.
    return f"{type(error).__name__}: {one_line(error)} (run with --debug for the traceback)"


def show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings (e.g. vanishing gradients) as one line, without the source line."""
    print(f"chainrule: warning: {one_line(message)}", file=file or sys.stderr)


def main(argv=None) -> int:
    """Run the command line `argv` (sys.argv[1:] when None); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and usage errors (code 2)
        return stop.code if isinstance(stop.code, int) else 0
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        return run(args)


def run(args) -> int:
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `chainrule predict ... | head`
        sys.stderr.close()
        return 1
    except Exception as error:
        if args.debug:
            traceback.print_exc()
        print(f"chainrule {args.command}: error: {describe(error)}", file=sys.stderr)
        return 1
