"""`chainrule explain`: one forward pass, backward pass and gradient-descent step, by hand.

Printed in the texts' notation (z(ℓ), a(ℓ), δ(ℓ), ∂L/∂W(ℓ), ∂L/∂b(ℓ)) with every number
checked against the engine's autodiff and against central differences. By default the texts'
2-2-1 sigmoid network on XOR, one example. Exits with 1 when a check fails.
"""

from __future__ import annotations

import sys

from ..atomic import atomic_write_text
from .options import OptionError, add_command, check_range, int_list

FORMATS = ("text", "markdown", "json")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("sigmoid", "softmax", "identity", "tanh", "relu")
LOSSES = ("bce", "ce", "mse", "mse_half")

EXAMPLES = """\
examples:
  chainrule explain                                   2-2-1 sigmoid network, XOR x = (1, 0)
  chainrule explain --examples 0,1,2,3                the whole XOR batch, J = (1/m) Σ L
  chainrule explain --sizes 2,3,2 --activation tanh --loss ce --format markdown
  chainrule explain --loss mse --format json --out trace.json
"""


def add_parser(commands):
    parser = add_command(
        commands,
        "explain",
        __doc__,
        EXAMPLES,
        "backpropagation step by step, in the texts' notation",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--sizes",
        type=int_list,
        default=[2, 2, 1],
        metavar="N0,N1,...",
        help="layer widths from input to output (2,2,1)",
    )
    parser.add_argument(
        "--activation", choices=ACTIVATIONS, default="sigmoid", help="hidden activation φ (sigmoid)"
    )
    parser.add_argument(
        "--output",
        choices=OUTPUTS,
        help="output activation ψ (by loss: sigmoid for bce, softmax for ce, identity for mse)",
    )
    parser.add_argument(
        "--loss",
        choices=LOSSES,
        default="bce",
        help="bce, ce, mse (PyTorch's mean) or mse_half (the texts' ½‖ŷ − y‖²)",
    )
    parser.add_argument(
        "--examples",
        type=int_list,
        metavar="I,J,...",
        help="rows of the data to trace (default: XOR's x = (1, 0) alone)",
    )
    parser.add_argument("--lr", type=float, default=0.5, help="step size η of the update (0.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights (0)")
    parser.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    parser.set_defaults(run=run_command)
    return parser


def run_command(args) -> int:
    from ..explain import explain

    check_range("--lr", args.lr, above=0)
    if args.examples == []:
        raise OptionError("--examples needs at least one row index")
    result = explain(
        sizes=args.sizes,
        activation=args.activation,
        output=args.output,
        loss=args.loss,
        examples=args.examples,
        lr=args.lr,
        seed=args.seed,
    )
    text = result.render(args.format)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if not result.passed:
        failed = [f"{c.quantity} vs {c.oracle}" for c in result.checks if not c.passed]
        raise OptionError(f"checks failed: {', '.join(failed)}")
    return 0
