"""Data-parallel training: `mpiexec -n N` runs of distributed_worker.py against one process.

mpiexec is the one next to sys.executable (the mpich wheel of the `mpi` extra puts it in the
environment's bin/). Each run trains in float64 for several shuffled epochs with uneven
slices (61 rows, global batches of 16), clipping and a learning-rate schedule; N processes
must end with the one-process weights and history to 1e-9.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed as dist
from chainrule.train import callbacks as cb
from chainrule.train.distributed import wanted

HERE = pathlib.Path(__file__).parent
WORKER = HERE / "distributed_worker.py"
MPIEXEC = pathlib.Path(sys.executable).with_name("mpiexec")
LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
                      "PMIX_RANK")


def plain_env():
    """This environment without any MPI launcher's variables, one BLAS thread per process."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    return {**env, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def launch(processes, args, timeout=120):
    """Run `args` (after the Python executable) alone (processes=0) or under mpiexec -n."""
    command = [sys.executable, *map(str, args)]
    if processes:
        command = [str(MPIEXEC), "-n", str(processes), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=plain_env())


def train(tmp_path, processes, **config):
    out = tmp_path / f"run-{processes}-{len(list(tmp_path.iterdir()))}.npz"
    done = launch(processes, [WORKER, out, json.dumps(config)])
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out) as results:
        return {key: results[key] for key in results.files}


def assert_same_run(one, many, processes):
    assert int(many.pop("processes")) == processes and int(one.pop("processes")) == 1
    assert sorted(one) == sorted(many)
    assert any(key.startswith("history.") for key in one) or "model.0.weight" in one
    for key in one:
        np.testing.assert_allclose(many[key], one[key], rtol=0, atol=1e-9, err_msg=key)


def test_mpiexec_is_installed_next_to_python():
    assert MPIEXEC.exists(), f"{MPIEXEC}: install the mpi extra (pip install -e '.[test]')"


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_two_processes_reproduce_one_with_every_optimizer(tmp_path, optimizer):
    one = train(tmp_path, 0, optimizer=optimizer)
    assert_same_run(one, train(tmp_path, 2, optimizer=optimizer), 2)


def test_three_processes_with_batchnorm_and_uneven_slices(tmp_path):
    config = {"batchnorm": True, "optimizer": "Adam"}
    one = train(tmp_path, 0, **config)
    many = train(tmp_path, 3, **config)
    assert not np.allclose(one["model.1.running_mean"], 0)  # the statistics were tracked
    assert_same_run(one, many, 3)


def test_eager_step_three_processes(tmp_path):
    config = {"compile": False, "optimizer": "SGD", "rows": 70, "batch_size": 9}
    assert_same_run(train(tmp_path, 0, **config), train(tmp_path, 3, **config), 3)


def test_hand_written_loop(tmp_path):
    config = {"loop": "manual", "optimizer": "RMSprop", "batchnorm": True}
    assert_same_run(train(tmp_path, 0, **config), train(tmp_path, 2, **config), 2)


def test_a_batch_smaller_than_the_process_count_is_refused(tmp_path):
    done = launch(2, [WORKER, tmp_path / "x.npz", json.dumps({"rows": 49})])
    assert done.returncode != 0
    assert "2 processes need at least 2 rows in every batch" in done.stderr
    assert "last batch of 1" in done.stderr and not (tmp_path / "x.npz").exists()


def test_a_killed_rank_ends_the_job(tmp_path):
    config = {"kill_rank_at_step": [1, 3], "epochs": 500, "compile": False}
    started = time.monotonic()
    done = launch(2, [WORKER, tmp_path / "x.npz", json.dumps(config)], timeout=90)
    assert done.returncode != 0 and time.monotonic() - started < 60
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("before, after", [(2, 3), (2, 0)])
def test_a_killed_run_resumes_on_another_process_count(tmp_path, before, after):
    checkpoint = str(tmp_path / "run.safetensors")
    config = {"optimizer": "AdamW", "compile": False, "checkpoint": checkpoint}
    killed = launch(before, [WORKER, tmp_path / "x.npz",
                             json.dumps({**config, "kill_rank_at_step": [1, 6]})])
    assert killed.returncode != 0 and os.path.exists(checkpoint)
    # other initial weights: only a resume from the checkpoint can end with the baseline's
    resumed = train(tmp_path, after, **config, kill_rank_at_step=[1, -1], init_seed=99)
    one = train(tmp_path, 0, optimizer="AdamW", compile=False)
    assert_same_run(one, resumed, after or 1)


def test_cli_under_mpiexec_prints_and_writes_on_rank_zero(tmp_path):
    out = tmp_path / "run"
    done = launch(2, ["-m", "chainrule", "train", "--dataset", "xor", "--epochs", "2",
                      "--batchnorm", "--no-plots", "--out", out])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote ") == 1 and done.stdout.count("split") == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["processes"] == 2 and metrics["run"]["epochs"] == 2


def test_a_plain_run_does_not_import_mpi4py():
    code = ("import sys, numpy as np, chainrule as cr\n"
            "m = cr.nn.Linear(2, 1)\n"
            "cr.fit(m, cr.nn.MSELoss(), cr.optim.SGD(m.parameters(), lr=0.1),\n"
            "       np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)\n"
            "print(cr.distributed.world_size(), 'mpi4py' in sys.modules)")
    done = launch(0, ["-c", code])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"]


# --- in this process (no launcher) ----------------------------------------------------------
@pytest.fixture
def no_launcher(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("variables, size", [
    ({}, 1), ({"PMI_SIZE": "4"}, 4), ({"OMPI_COMM_WORLD_SIZE": "3"}, 3),
    ({"MV2_COMM_WORLD_SIZE": "1"}, 1), ({"PMIX_RANK": "0"}, None),
])
def test_launch_is_read_from_the_environment(monkeypatch, no_launcher, variables, size):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert dist.launched_size() == size


def test_distributed_true_outside_mpi_names_the_extra(no_launcher):
    model = cr.nn.Linear(2, 1)
    with pytest.raises(dist.DistributedError, match=r"mpiexec -n N.*chainrule\[mpi\]"):
        cr.fit(model, cr.nn.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.1),
               np.ones((4, 2)), np.ones(4), epochs=1, verbose=0, distributed=True)
    with pytest.raises(cr.data.DataError, match="distributed must be"):
        wanted("yes")
    assert wanted(None) is False and wanted(False) is False


def test_one_process_api_is_the_identity(no_launcher):
    model = cr.nn.Linear(3, 2)
    for p in model.parameters():
        p.grad = np.full_like(p.data, 2.0)
    before = [p.data.copy() for p in model.parameters()]
    dist.broadcast_parameters(model)
    dist.average_gradients(model.parameters())
    assert dist.rank() == 0 and dist.world_size() == 1
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))
    assert all(np.all(p.grad == 2.0) for p in model.parameters())


def test_rank_zero_only_callbacks_are_idle_on_other_ranks(tmp_path):
    from chainrule.train.callbacks.base import CallbackList

    writers = [cb.CSVLogger(tmp_path / "h.csv"), cb.ModelCheckpoint(tmp_path / "c.safetensors")]
    stopper = cb.EarlyStopping(monitor="loss", patience=1)
    other = CallbackList([*writers, stopper], rank=1)
    lead = CallbackList([*writers, stopper], rank=0)
    assert other.keys() == lead.keys()  # a checkpoint from rank 0 fits every rank
    assert [h.__self__ for h in other._on_epoch_end] == [stopper]
    assert {h.__self__ for h in lead._on_epoch_end} == {*writers, stopper}
