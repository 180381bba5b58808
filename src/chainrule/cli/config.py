"""`chainrule train`'s configuration: defaults, checks, and the copy kept in the run folder.

Every train option defaults to None in the parser, so the command can tell an option the
user gave from a default; `resolve` fills the defaults. A resumed run reuses the options saved
in its folder (config.json): only --epochs and --early-stopping may change.
"""

from __future__ import annotations

import json
import os

from ..atomic import atomic_write_text
from ..optim.registry import OPTIMIZERS, default_lr, takes_momentum
from .options import OptionError, check_range

__all__ = [
    "ACTIVATIONS",
    "DEFAULTS",
    "MODELS",
    "OPTIMIZERS",
    "SCHEDULES",
    "TASKS",
    "merge_for_resume",
    "read_saved",
    "resolve",
    "save",
]

SCHEDULES = ("none", "step", "exp", "cosine", "warmup-cosine", "plateau")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu")
MODELS = ("mlp", "cnn")
TASKS = ("classification", "regression")

DEFAULTS = {
    "data": None,
    "target": None,
    "dataset": "digits",
    "task": None,
    "model": "mlp",
    "hidden": [128],
    "activation": "relu",
    "dropout": 0.0,
    "batchnorm": False,
    "optimizer": "adam",
    "lr": None,
    "momentum": None,
    "weight_decay": None,
    "l2": 0.0,
    "batch_size": 32,
    "epochs": 20,
    "schedule": "none",
    "clip": None,
    "early_stopping": None,
    "val_split": 0.1,
    "seed": 0,
    "ignore": [],
    "impute": "median",
    "max_categories": 20,
    "int_categories": 0,
}
# Options a resumed run may change; the others must match the run being resumed.
RESUMABLE = ("epochs", "early_stopping")
CONFIG_FILE = "config.json"


def given(args) -> dict:
    """The train options the user gave on the command line."""
    return {name: getattr(args, name) for name in DEFAULTS if getattr(args, name) is not None}


def resolve(options: dict) -> dict:
    """Defaults filled in and every value checked; raises OptionError."""
    config = {**DEFAULTS, **options}
    if options.get("data") is not None:
        if options.get("dataset") is not None:
            raise OptionError("give either --data FILE.csv or --dataset NAME, not both")
        config["dataset"] = None
    if config["lr"] is None:
        config["lr"] = default_lr(config["optimizer"])
    if config["momentum"] is None:  # the optimizer's own: 0.9 for momentum and nesterov
        config["momentum"] = OPTIMIZERS[config["optimizer"]].defaults.get("momentum")
    check(config)
    return config


def check(config: dict) -> None:
    if config["data"] is not None and config["target"] is None:
        raise OptionError("--data needs --target COLUMN (the column to predict)")
    if config["target"] is not None and config["data"] is None:
        raise OptionError("--target needs --data FILE.csv")
    if config["momentum"] is not None and not takes_momentum(config["optimizer"]):
        raise OptionError(f"--momentum does not apply to --optimizer {config['optimizer']}")
    check_range("--lr", config["lr"], above=0)
    check_range("--epochs", config["epochs"], at_least=0)
    check_range("--batch-size", config["batch_size"], at_least=0, note="0 means full batch")
    check_range("--dropout", config["dropout"], at_least=0, below=1)
    check_range("--val-split", config["val_split"], at_least=0, below=1)
    check_range("--momentum", config["momentum"], at_least=0)
    check_range("--weight-decay", config["weight_decay"], at_least=0)
    check_range("--l2", config["l2"], at_least=0)
    check_range("--clip", config["clip"], above=0)
    check_range("--early-stopping", config["early_stopping"], at_least=1)
    for width in config["hidden"]:
        check_range("--hidden", width, at_least=1, note="each layer's width")
    check_range("--max-categories", config["max_categories"], at_least=2)
    check_range("--int-categories", config["int_categories"], at_least=0)
    if config["early_stopping"] is not None and config["val_split"] == 0:
        raise OptionError("--early-stopping watches the validation loss: give --val-split > 0")


def read_saved(folder: str) -> dict:
    path = os.path.join(folder, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise OptionError(
            f"--resume: no run to resume in {folder} ({CONFIG_FILE} not found)"
        ) from None
    except json.JSONDecodeError as error:
        raise OptionError(f"--resume: {path} is not valid JSON ({error})") from None


def save(folder: str, config: dict) -> None:
    atomic_write_text(os.path.join(folder, CONFIG_FILE), json.dumps(config, indent=2) + "\n")


def merge_for_resume(saved: dict, options: dict, folder: str) -> dict:
    """The saved options, with --epochs/--early-stopping from the command line."""
    for name, value in options.items():
        if name not in RESUMABLE and saved.get(name) != value:
            flag = "--" + name.replace("_", "-")
            raise OptionError(
                f"--resume continues the run in {folder} with its saved options: "
                f"{flag} {value} differs from the saved {saved.get(name)}"
            )
    merged = {**saved, **{k: v for k, v in options.items() if k in RESUMABLE}}
    check(merged)
    return merged
