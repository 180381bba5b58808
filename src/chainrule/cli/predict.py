"""`chainrule predict`: a trained model's predictions for a CSV file, in the original labels."""

from __future__ import annotations

import csv
import io
import sys

from ..atomic import atomic_write_text
from .options import OptionError, add_command

EXAMPLES = """\
examples:
  chainrule predict --model runs/latest/model.safetensors --data new.csv
  chainrule predict --model runs/latest --data new.csv --out preds.csv --proba
"""


def add_model_and_data(parser, data_help: str, required: bool = True) -> None:
    """--model and --data; optional data defaults to the rows of the model's built-in
    --dataset."""
    parser.add_argument(
        "--model",
        required=True,
        metavar="FILE",
        help="a model.safetensors written by `chainrule train` (or its folder)",
    )
    if not required:
        data_help += "; default: for a model trained with --dataset NAME, that dataset's rows"
    parser.add_argument("--data", required=required, metavar="FILE.csv", help=data_help)


def add_parser(commands):
    parser = add_command(
        commands, "predict", __doc__, EXAMPLES, "predict the target for each row of a CSV file"
    )
    add_model_and_data(
        parser, "rows to predict: the training features (a target column present is ignored)"
    )
    parser.add_argument("--out", metavar="FILE.csv", help="write here instead of stdout")
    parser.add_argument(
        "--proba", action="store_true", help="add one probability column per class (classification)"
    )
    parser.set_defaults(run=run_command)
    return parser


def predictions_csv(trained, outputs, proba: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    labels = trained.labels(outputs)
    columns = [list(labels)] if labels.ndim == 1 else [list(c) for c in labels.T]
    header = list(trained.target_names)
    if proba:
        probabilities = trained.probabilities(outputs)
        header += [f"proba_{name}" for name in trained.classes]
        columns += [[f"{p:.6g}" for p in column] for column in probabilities.T]
    writer.writerow(header)
    writer.writerows(zip(*columns))
    return buffer.getvalue()


def run_command(args) -> int:
    from .trained import TrainedModel

    trained = TrainedModel.load(args.model)
    if args.proba and trained.task != "classification":
        raise OptionError("--proba needs a classification model; this one does regression")
    X, _ = trained.read(args.data, with_target=False)
    text = predictions_csv(trained, trained.outputs(X), args.proba)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {len(X)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
