"""Checkpoint and resume: a run killed at any moment and resumed ends bit-identical."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import load_checkpoint

WORKER = os.path.join(os.path.dirname(__file__), "resume_worker.py")


class Crash(Exception):
    pass


class CrashAt(cr.callbacks.Callback):
    """Raises after the checkpoint of a step, or of an epoch's end, is written (it runs
    after ModelCheckpoint)."""

    order = 1000

    def __init__(self, when=None):
        self.hook, self.count = when or (None, None)

    def on_batch_end(self, state):
        if self.hook == "step" and state.step == self.count:
            raise Crash

    def on_epoch_end(self, state):
        if self.hook == "epoch" and state.epoch == self.count:
            raise Crash


def _run(path, crash=None, resume=False, epochs=5):
    cr.manual_seed(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)  # its state is saved
    callbacks = [cr.callbacks.ModelCheckpoint(path, every_n_steps=3),
                 cr.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
                 cr.callbacks.GradientMonitor(), CrashAt(crash)]
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=epochs, batch_size=7,
                     validation_split=0.2, metrics=["accuracy"], callbacks=callbacks,
                     l2=1e-3, scheduler=scheduler, verbose=0,
                     resume_from=path if resume else None)
    return model, history


# 5 batches per epoch: mid-epoch, after an epoch's last batch, after an epoch's end
@pytest.mark.parametrize("crash", [("step", 3), ("step", 8), ("step", 10), ("epoch", 1)])
def test_resume_in_process_is_bit_identical(tmp_path, crash):
    reference, reference_history = _run(str(tmp_path / "ref.safetensors"))
    path = str(tmp_path / "ckpt.safetensors")
    with pytest.raises(Crash):
        _run(path, crash=crash)
    resumed, history = _run(path, resume=True)
    for (name, a), (_, b) in zip(reference.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert history.epoch == reference_history.epoch
    assert len(set(history.history["lr"])) > 1  # the schedule changed the learning rate
    for key in ("loss", "val_loss", "accuracy", "lr", "grad_norm"):
        assert history.history[key] == reference_history.history[key], key
    assert history.grad_monitor["grad_norm"] == reference_history.grad_monitor["grad_norm"]


def test_resume_refuses_a_checkpoint_from_other_callbacks(tmp_path):
    path = str(tmp_path / "ckpt.safetensors")
    _run(path, epochs=1)
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 3))
    X, y = np.zeros((40, 4), np.float32), np.zeros(40, np.int64)
    with pytest.raises(cr.train.CheckpointError, match="same callbacks"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=2, verbose=0, resume_from=path)


def _start(checkpoint, out, *extra):
    return subprocess.Popen([sys.executable, WORKER, checkpoint, out, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_same_weights(path_a, path_b):
    a, b = cr.load_state_dict(path_a), cr.load_state_dict(path_b)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_sigkill_during_a_checkpoint_write_leaves_the_last_one_intact(tmp_path):
    """Kill the worker while it is halfway through writing its 6th checkpoint: the 5th,
    complete one must be untouched, and resuming from it must end like an uninterrupted run."""
    reference = str(tmp_path / "reference.safetensors")
    checkpoint, out = str(tmp_path / "ckpt.safetensors"), str(tmp_path / "out.safetensors")
    with _start(checkpoint, reference, "--no-checkpoint") as worker:
        assert worker.wait(timeout=60) == 0, worker.stderr.read()
    with _start(checkpoint, out, "--stall-in-write", "5") as worker:
        assert worker.stdout.readline() == "training\n"
        assert worker.stdout.readline() == "mid-write\n", worker.stderr.read()
        with open(checkpoint, "rb") as handle:
            before = handle.read()
        temporary = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        assert len(temporary) == 1  # the half-written file exists beside the checkpoint
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    with open(checkpoint, "rb") as handle:
        assert handle.read() == before
    assert load_checkpoint(checkpoint)["loop"]["step"] == 5
    with _start(checkpoint, out) as worker:
        assert worker.wait(timeout=60) == 0, worker.stderr.read()
    _assert_same_weights(reference, out)


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    """Kill the worker with SIGKILL at random moments (mid-step, mid-checkpoint-write...),
    restart it each time; every run that completes must match the uninterrupted one."""
    reference = str(tmp_path / "reference.safetensors")
    with _start(str(tmp_path / "unused"), reference, "--no-checkpoint") as worker:
        assert worker.wait(timeout=60) == 0, worker.stderr.read()
    checkpoint, out = str(tmp_path / "ckpt.safetensors"), str(tmp_path / "out.safetensors")
    rng = np.random.default_rng(int(time.time()))
    kills = completed = 0
    while kills < 20 or completed == 0:
        with _start(checkpoint, out) as worker:
            worker.stdout.readline()  # "training": the imports are done
            if kills < 20:
                time.sleep(rng.uniform(0.0, 0.2))
                if worker.poll() is None:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    kills += 1
                    if os.path.exists(checkpoint):
                        load_checkpoint(checkpoint)  # the last complete checkpoint is intact
                    continue
            assert worker.wait(timeout=60) == 0, worker.stderr.read()
        _assert_same_weights(reference, out)
        completed += 1
        os.remove(checkpoint)  # the next cycle starts a fresh run
    assert kills >= 20 and completed >= 1
