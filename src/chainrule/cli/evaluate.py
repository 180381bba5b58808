"""`chainrule evaluate`: a trained model's loss and metrics on a labelled CSV file."""

from __future__ import annotations

import json

from .options import add_command
from .predict import add_model_and_data
from .table import format_table

EXAMPLES = """\
examples:
  chainrule evaluate --model runs/latest/model.safetensors --data test.csv --target species
  chainrule evaluate --model runs/latest --data test.csv --json
  chainrule evaluate --model runs/latest      a model of `chainrule train --dataset ...`
"""


def add_parser(commands):
    parser = add_command(
        commands,
        "evaluate",
        __doc__,
        EXAMPLES,
        "loss and metrics of a trained model on a labelled CSV file",
    )
    add_model_and_data(
        parser, "labelled rows: the training features and the target column", required=False
    )
    parser.add_argument(
        "--target",
        metavar="COL",
        help="the target column (default: the one the model was trained on)",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(run=run_command)
    return parser


def run_command(args) -> int:
    from .trained import TrainedModel

    trained = TrainedModel.load(args.model)
    X, y = trained.read(args.data, target=args.target)
    metrics = {"rows": len(X), **trained.score(X, y)}
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(format_table(["metric", "value"], [[k, v] for k, v in metrics.items()]))
    return 0
