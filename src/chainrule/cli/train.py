"""`chainrule train`: fit an MLP on a CSV file or a built-in dataset; write the run folder.

The folder gets model.safetensors (with the preprocessing and class names predict needs),
history.csv, metrics.json, config.json, checkpoint files, the plots as PNG and report.html.
"""

from __future__ import annotations

import os

from ..data.catalog import DATASETS
from . import config as cfg
from .options import add_command, column_list, int_list

EXAMPLES = """\
examples:
  chainrule train                                       digits, a 64-128-10 ReLU MLP, Adam
  chainrule train --data iris.csv --target species --hidden 16 --epochs 100
  chainrule train --dataset mnist1d --model cnn --lr 0.01 --batch-size 100
  chainrule train --data penguins.parquet --target species --ignore year --impute none
  chainrule train --dataset moons --hidden 32,32 --optimizer momentum --lr 0.1 --schedule cosine
  chainrule train --dataset linear --batch-size 0 --optimizer sgd     full-batch regression
  chainrule train --out runs/a --resume --epochs 40     continue runs/a up to 40 epochs
"""


def add_parser(commands):
    parser = add_command(
        commands,
        "train",
        __doc__,
        EXAMPLES,
        "train a network and write model, history, plots and report",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", metavar="FILE", help="a table: CSV/TSV with a header row, .parquet or .jsonl"
    )
    data.add_argument("--target", metavar="COL", help="the column of --data to predict")
    data.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"a built-in dataset: {', '.join(DATASETS)} (default: digits)",
    )
    data.add_argument("--task", choices=cfg.TASKS, help="inferred from the target when omitted")
    data.add_argument(
        "--val-split",
        type=float,
        metavar="F",
        help="fraction of the training rows held out for validation (0.1)",
    )
    data.add_argument(
        "--ignore", type=column_list, metavar="COL,...", help="columns of --data not to use"
    )
    data.add_argument(
        "--impute",
        choices=("median", "none"),
        help="missing cells: numbers take the median plus a missing indicator, "
        "categories a category of their own (median); or refuse (none)",
    )
    data.add_argument(
        "--max-categories",
        type=int,
        metavar="N",
        help="one-hot features per categorical column; rarer ones pooled (20)",
    )
    data.add_argument(
        "--int-categories",
        type=int,
        metavar="N",
        help="integer columns with at most N distinct values are categorical (0)",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        choices=cfg.MODELS,
        help="(mlp) or cnn: Conv2d layers for s x s images (digits), Conv1d "
        "layers for signals (mnist1d); --hidden applies to mlp",
    )
    model.add_argument(
        "--hidden",
        type=int_list,
        metavar="W1,W2",
        help="hidden layer widths (128); 'none' for no hidden layer",
    )
    model.add_argument("--activation", choices=cfg.ACTIVATIONS, help="(relu)")
    model.add_argument("--dropout", type=float, metavar="P", help="after each hidden layer (0)")
    model.add_argument(
        "--batchnorm",
        action="store_true",
        default=None,
        help="BatchNorm1d after each hidden linear layer",
    )
    optim = parser.add_argument_group("optimization")
    optim.add_argument("--optimizer", choices=cfg.OPTIMIZERS, help="(adam)")
    optim.add_argument("--lr", type=float, help="learning rate (1e-3 for adam; 0.1 for sgd)")
    optim.add_argument("--momentum", type=float, help="(0.9 for momentum and nesterov)")
    optim.add_argument("--weight-decay", type=float, help="the optimizer's weight decay")
    optim.add_argument("--l2", type=float, help="L2 penalty added to the loss (0)")
    optim.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="examples per step (32); 0 = full batch, 1 = stochastic",
    )
    optim.add_argument("--epochs", type=int, metavar="N", help="(20)")
    optim.add_argument("--schedule", choices=cfg.SCHEDULES, help="learning-rate schedule (none)")
    optim.add_argument(
        "--clip", type=float, metavar="MAX_NORM", help="clip the gradient's global norm"
    )
    optim.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, help="seed of every random draw (0)")
    run.add_argument(
        "--out",
        metavar="DIR",
        default=os.path.join("runs", "latest"),
        help="the run folder (runs/latest)",
    )
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    run.add_argument(
        "--no-plots",
        action="store_true",
        help="skip the PNG plots (report.html is written without them)",
    )
    run.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="train on the CPU (cpu) or one GPU through CuPy (cuda; pip install chainrule[cuda])",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(run=run_command)
    return parser


def run_command(args) -> int:
    from .training import train_and_report

    options = cfg.given(args)
    if args.resume:
        config = cfg.merge_for_resume(cfg.read_saved(args.out), options, args.out)
    else:
        config = cfg.resolve(options)
    train_and_report(
        config,
        args.out,
        resume=args.resume,
        verbose=0 if args.quiet else 1,
        plots=not args.no_plots,
        device=args.device,
    )
    return 0
