"""One training run for the data-parallel tests, run under `mpiexec -n N` (or alone).

    python distributed_worker.py OUT.npz CONFIG_JSON

CONFIG_JSON keys: optimizer (SGD, Adam, AdamW, RMSprop, Adagrad), batchnorm (bool), compile
(bool), rows (training rows), batch_size, epochs, clip (float or null), loop ("fit" or
"manual": a hand-written loop over cr.distributed), kill_rank_at_step ([rank, step]: that
rank SIGKILLs itself after that many optimizer steps), checkpoint (a path: a checkpoint after
every step, and a resume from it when it exists), init_seed (11: seeds the initial weights).
Rank 0 writes the final weights, the history and the process count to OUT.npz; the other
ranks write nothing.
"""

import json
import os
import signal
import sys

import numpy as np

import chainrule as cr
from chainrule import nn, optim

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "Adam": lambda p: optim.Adam(p, lr=0.01),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.05),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.005, momentum=0.5, centered=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
}


def data(rows):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(rows + 20, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    return (X[:rows], y[:rows]), (X[rows:], y[rows:])


def model_for(config):
    # different weights on each rank: the broadcast from rank 0 must win
    cr.manual_seed(config["init_seed"] + cr.distributed.rank())
    layers = [nn.Linear(5, 16)]
    if config["batchnorm"]:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.Tanh(), nn.Linear(16, 3)]
    return nn.Sequential(*layers).double()


class KillRank(cr.callbacks.Callback):
    """SIGKILL this process after `step` optimizer steps when it is rank `rank`."""

    def __init__(self, rank, step):
        self.rank, self.step = rank, step

    def on_batch_end(self, state):
        if state.step == self.step and cr.distributed.rank() == self.rank:
            os.kill(os.getpid(), signal.SIGKILL)


def train_with_fit(config, model, opt, train, validation):
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    kill, checkpoint = config.get("kill_rank_at_step"), config.get("checkpoint")
    callbacks = [KillRank(*kill)] if kill else []
    if checkpoint:
        callbacks.append(cr.callbacks.ModelCheckpoint(checkpoint, every_n_steps=1))
    resume = checkpoint if checkpoint and os.path.exists(checkpoint) else None
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, *train, epochs=config["epochs"],
                     batch_size=config["batch_size"], seed=5, validation_data=validation,
                     metrics=["accuracy"], scheduler=sched, clip_grad_norm=config["clip"],
                     callbacks=callbacks, resume_from=resume,
                     verbose=0, compile=config["compile"])
    return {f"history.{name}": np.array(values) for name, values in history.history.items()
            if name != "time"}


def train_by_hand(config, model, opt, train):
    """The loop a user writes: broadcast once, own slice of each batch, average, step."""
    dist = cr.distributed
    dist.broadcast_parameters(model)
    loader = cr.data.DataLoader(*train, batch_size=config["batch_size"], shuffle=True, seed=5,
                                shard=(dist.rank(), dist.world_size()))
    loss_fn = nn.CrossEntropyLoss()
    with dist.synchronized_batch_norm():
        for _ in range(config["epochs"]):
            for index, (X, y) in enumerate(loader):
                opt.zero_grad()
                loss_fn(model(cr.tensor(X)), cr.tensor(y)).backward()
                dist.average_gradients(model.parameters(), len(X) / loader.batch_rows(index))
                opt.step()
    return {}


def main(out, config):
    config = {"batchnorm": False, "compile": True, "rows": 61, "batch_size": 16, "epochs": 4,
              "clip": 0.5, "optimizer": "Adam", "loop": "fit", "init_seed": 11,
              **json.loads(config)}
    train, validation = data(config["rows"])
    model = model_for(config)
    opt = OPTIMIZERS[config["optimizer"]](model.parameters())
    if config["loop"] == "fit":
        results = train_with_fit(config, model, opt, train, validation)
    else:
        results = train_by_hand(config, model, opt, train)
    results.update({f"model.{k}": v for k, v in model.state_dict().items()})
    results["processes"] = np.array(cr.distributed.world_size())
    if cr.distributed.rank() == 0:
        np.savez(out, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
