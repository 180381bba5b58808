"""A tiny training run for the resume tests, run as a subprocess (killed at random moments).

    python resume_worker.py CHECKPOINT OUT [--no-checkpoint] [--stall-in-write K]

Trains a small MLP with dropout (draws from chainrule's generator), shuffling from that
generator, a per-step learning-rate schedule, EarlyStopping, metrics and validation, and a
checkpoint after every step. Resumes from CHECKPOINT when it exists. Writes the final
weights to OUT (safetensors). Prints "training" once the imports are done. With
--stall-in-write K, the checkpoint write after K complete ones stops halfway through its
bytes, prints "mid-write" and waits to be killed.
"""

import os
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.atomic import atomic_write
from chainrule.train import checkpoint as checkpoint_module


def stall_in_write(after):
    """Make the checkpoint write after `after` complete ones hang halfway."""
    complete = [0]
    write = checkpoint_module.atomic_write_bytes

    def stalling_write(path, data):
        if complete[0] < after:
            write(path, data)
            complete[0] += 1
            return
        with atomic_write(path, "wb") as handle:
            handle.write(data[:len(data) // 2])
            handle.flush()
            print("mid-write", flush=True)
            time.sleep(120)

    checkpoint_module.atomic_write_bytes = stalling_write


def main(checkpoint, out, write_checkpoints=True):
    cr.manual_seed(7)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(48, 3)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.02)
    callbacks = [
        cr.callbacks.LearningRateScheduler(lambda step: 0.02 * 0.99 ** step, per="step"),
        cr.callbacks.EarlyStopping(monitor="val_loss", patience=50, restore_best_weights=True),
    ]
    if write_checkpoints:
        callbacks.append(cr.callbacks.ModelCheckpoint(checkpoint, every_n_steps=1))
    resume = checkpoint if write_checkpoints and os.path.exists(checkpoint) else None
    print("training", flush=True)
    cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=40, batch_size=6,
           validation_split=0.25, metrics=["accuracy"], callbacks=callbacks, verbose=0,
           resume_from=resume)
    cr.save_state_dict(model.state_dict(), out)


if __name__ == "__main__":
    if "--stall-in-write" in sys.argv:
        stall_in_write(int(sys.argv[sys.argv.index("--stall-in-write") + 1]))
    main(sys.argv[1], sys.argv[2], "--no-checkpoint" not in sys.argv)
