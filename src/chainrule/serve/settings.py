"""A page's settings: checked values with the server's bounds, to and from a URL query.

The page keeps every setting in its address (`?dataset=moons&hidden=4,4&lr=0.1...`), so a
link restores the whole experiment; the server reads the same query. A value out of range or
of the wrong type raises SettingsError naming the setting, its value and what it may be.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from urllib.parse import urlencode

from ..cli.config import OPTIMIZERS, SCHEDULES
from ..engine.tensor import ChainruleError

__all__ = ["ACTIVATIONS", "DATASETS", "LIMITS", "LOSSES", "Settings", "SettingsError"]

# curve: a 1-D regression; csv: the user's file (uploaded to the session), two feature columns
DATASETS = ("xor", "gaussian", "circles", "moons", "spirals", "curve", "csv")
# The hidden activations `chainrule explain` can trace, so the backprop panel always works.
ACTIVATIONS = ("tanh", "relu", "sigmoid")
# The losses the page offers, each one `chainrule explain` traces: cross-entropy on the softmax
# of the outputs, or the squared error (on the softmax probabilities against one-hot targets
# for classes, on the output itself for the regression curve); auto: the task's usual one.
LOSSES = ("auto", "cross_entropy", "squared_error")
# What one session may ask of the server.
LIMITS = {"layers": 6, "neurons": 8, "points": 1000, "epochs": 10000, "speed": 200}


class SettingsError(ChainruleError, ValueError):
    """A setting the page sent cannot be used (the server answers 400 with this message)."""


@dataclass(frozen=True)
class Settings:
    dataset: str = "moons"
    noise: float = 0.15
    points: int = 300
    test_ratio: float = 0.3
    hidden: tuple = (4, 4)
    activation: str = "tanh"
    loss: str = "auto"
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 10  # 0: the whole training set (batch gradient descent)
    l2: float = 0.0
    dropout: float = 0.0
    schedule: str = "none"
    epochs: int = 1000  # where training stops; also the schedules' horizon
    speed: int = 100  # steps per second at most
    seed: int = 0
    columns: str = ""  # dataset=csv: the two feature columns, "name1,name2"
    target: str = ""  # dataset=csv: the label column

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        _check(self)

    @classmethod
    def from_query(cls, query: dict) -> Settings:
        """Settings from {name: text} (a parsed query string); missing names take defaults."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(query) - set(known))
        if unknown:
            raise SettingsError(
                f"unknown setting {unknown[0]!r}; the settings are {', '.join(known)}"
            )
        values = {
            name: _parse(name, text, type(getattr(cls, name))) for name, text in query.items()
        }
        return cls(**values)

    def to_query(self) -> str:
        """The query string that from_query turns back into these settings."""
        values = asdict(self)
        values["hidden"] = ",".join(str(n) for n in self.hidden)
        return urlencode(values)

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

    def train_config(self) -> dict:
        """The same settings as a `chainrule train` configuration (kept in saved models)."""
        from ..cli.config import resolve

        return resolve(
            {
                "dataset": self.dataset,
                "hidden": list(self.hidden),
                "activation": self.activation,
                "dropout": self.dropout,
                "optimizer": self.optimizer,
                "lr": self.lr,
                "l2": self.l2,
                "batch_size": self.batch_size,
                "epochs": self.epochs,
                "schedule": self.schedule,
                "val_split": 0.0,
                "seed": self.seed,
            }
        )


def _parse(name: str, text: str, kind: type):
    text = str(text).strip()
    try:
        if kind is tuple:
            return tuple(int(part) for part in text.split(",") if part.strip())
        return kind(text)
    except ValueError:
        what = {int: "an integer", float: "a number", tuple: "integers such as 4,4"}[kind]
        raise SettingsError(f"setting {name!r} must be {what}, got {text!r}") from None


def _within(name, value, low, high, note=""):
    if not low <= value <= high:  # also false for NaN
        suffix = f" ({note})" if note else ""
        raise SettingsError(
            f"setting {name!r} must be between {low} and {high}{suffix}, got {value!r}"
        )


def _one_of(name, value, choices):
    if value not in choices:
        raise SettingsError(f"setting {name!r} must be one of {', '.join(choices)}, got {value!r}")


def _check(s: Settings) -> None:
    _one_of("dataset", s.dataset, DATASETS)
    if s.dataset == "csv" and (len(s.columns.split(",")) != 2 or not s.target):
        raise SettingsError(
            "dataset 'csv' needs columns=NAME1,NAME2 (two feature columns) "
            f"and target=NAME, got columns={s.columns!r} target={s.target!r}"
        )
    _one_of("activation", s.activation, ACTIVATIONS)
    _one_of("loss", s.loss, LOSSES)
    _one_of("optimizer", s.optimizer, OPTIMIZERS)
    _one_of("schedule", s.schedule, SCHEDULES)
    _within("noise", s.noise, 0.0, 1.0)
    _within("points", s.points, 20, LIMITS["points"])
    _within("test_ratio", s.test_ratio, 0.1, 0.9)
    _within("layers", len(s.hidden), 0, LIMITS["layers"], "the number of hidden layers")
    for width in s.hidden:
        _within("hidden", width, 1, LIMITS["neurons"], "neurons per layer")
    _within("lr", s.lr, 1e-6, 10.0)
    _within("batch_size", s.batch_size, 0, LIMITS["points"], "0 means the whole training set")
    _within("l2", s.l2, 0.0, 1.0)
    _within("dropout", s.dropout, 0.0, 0.9)
    _within("epochs", s.epochs, 1, LIMITS["epochs"])
    _within("speed", s.speed, 1, LIMITS["speed"], "steps per second")
    _within("seed", s.seed, 0, 2**31 - 1)
