"""`chainrule train`'s options doing what they say, run in process through cli.main."""

import csv
import json

import numpy as np
import pytest

from chainrule.data import load_dataset
from chainrule.train.checkpoint import load_checkpoint


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


QUIET = ("-q", "--no-plots")


def test_early_stopping_stops_and_keeps_the_best_weights(iris_csv, run_main, tmp_path):
    out = tmp_path / "es"
    code, _, err = run_main("train", "--data", iris_csv, "--target", "species", "--hidden", "8",
                            "--lr", "0.05", "--early-stopping", "2", "--epochs", "200",
                            "--out", out, *QUIET)
    assert code == 0, err
    history = read_rows(out / "history.csv")
    metrics = json.loads((out / "metrics.json").read_text())
    val_loss = [float(row["val_loss"]) for row in history]
    assert len(history) == metrics["run"]["epochs"] < 200
    best = int(np.argmin(val_loss))
    assert metrics["run"]["best_epoch"] == best
    assert len(history) - 1 - best == 2  # stopped after 2 epochs without a better val_loss
    # The saved model is the best epoch's: its validation loss is that epoch's.
    assert metrics["validation"]["loss"] == pytest.approx(val_loss[best], rel=1e-5)


def test_early_stopping_needs_validation_rows(run_main, tmp_path):
    code, _, err = run_main("train", "--dataset", "xor", "--early-stopping", "3",
                            "--out", tmp_path / "xor")
    assert code == 1
    assert err.strip() == ("chainrule train: error: --early-stopping watches the validation "
                           "loss, but --val-split 0.1 of 4 training rows leaves none for "
                           "validation; give a larger --val-split")
    assert not (tmp_path / "xor").exists()


def test_zero_epochs_scores_the_untrained_model(iris_csv, run_main, tmp_path):
    out = tmp_path / "zero"
    code, stdout, err = run_main("train", "--data", iris_csv, "--target", "species",
                                 "--epochs", "0", "--out", out, "-q")
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["epochs"] == 0 and metrics["test"]["accuracy"] < 0.9
    assert (out / "confusion_matrix.png").is_file() and (out / "report.html").is_file()
    assert not (out / "curves.png").exists()  # no epoch, no curve
    assert "checkpoint.safetensors" not in stdout.splitlines()[-1]  # lists only files written


def test_resume_cannot_go_back_in_epochs(iris_csv, run_main, tmp_path):
    out = tmp_path / "run"
    common = ("--data", iris_csv, "--target", "species", "--hidden", "4", "--out", out)
    assert run_main("train", *common, "--epochs", "3", *QUIET)[0] == 0
    code, _, err = run_main("train", "--resume", "--out", out, "--epochs", "2")
    assert code == 1
    assert err.strip() == (f"chainrule train: error: --resume --epochs 2: the run in {out} "
                           "has already trained 3 epochs; give --epochs 3 or more")
    assert json.loads((out / "config.json").read_text())["epochs"] == 3  # left as it was


def test_builtin_dataset_and_explicit_task(run_main, tmp_path):
    out = tmp_path / "linear"
    code, stdout, err = run_main("train", "--dataset", "linear", "--task", "regression",
                                 "--hidden", "none", "--optimizer", "sgd", "--batch-size", "0",
                                 "--epochs", "3", "--out", out, *QUIET)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    data = load_dataset("linear", seed=0)
    assert set(metrics["test"]) == {"loss", "mse", "mae", "r2"}
    assert metrics["run"]["parameters"] == data.X_train.shape[1] + 1  # one Linear layer
    assert "r2" in stdout.splitlines()[0]  # the results table's header
    # --batch-size 0 is full batch: one optimizer step per epoch.
    assert load_checkpoint(out / "checkpoint.safetensors")["loop"]["step"] == 3


def test_task_given_overrides_the_inferred_one(plane_csv, run_main, tmp_path):
    """0/1 labels are inferred as classes; --task regression fits them as numbers."""
    out = tmp_path / "reg"
    code, _, err = run_main("train", "--data", plane_csv, "--target", "inside", "--task",
                            "regression", "--epochs", "2", "--out", out, *QUIET)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert "r2" in metrics["test"] and "accuracy" not in metrics["test"]
    code, _, err = run_main("train", "--dataset", "xor", "--task", "regression",
                            "--out", tmp_path / "moons")
    assert code == 1
    assert err.strip() == ("chainrule train: error: --task regression: dataset 'xor' is a "
                           "classification problem")


@pytest.mark.parametrize("schedule", ["step", "exp", "cosine", "plateau"])
def test_each_schedule_sets_the_logged_rate(iris_csv, run_main, tmp_path, schedule):
    out = tmp_path / schedule
    code, _, err = run_main("train", "--data", iris_csv, "--target", "species", "--hidden", "4",
                            "--optimizer", "rmsprop", "--momentum", "0.5", "--lr", "0.01",
                            "--schedule", schedule, "--epochs", "9", "--out", out, *QUIET)
    assert code == 0, err
    lr = np.array([float(row["lr"]) for row in read_rows(out / "history.csv")])
    assert lr[0] == 0.01 and np.all(np.diff(lr) <= 0)
    if schedule != "plateau":  # plateau lowers the rate only when val_loss stalls
        assert lr[-1] < lr[0]


def test_model_of_a_builtin_dataset_needs_no_data_file(run_main, tmp_path, iris_csv):
    """evaluate, gradcheck and landscape default to the rows of the model's --dataset."""
    out = tmp_path / "spirals"
    code, _, err = run_main("train", "--dataset", "spirals", "--hidden", "8", "--epochs", "3",
                            "--out", out, *QUIET)
    assert code == 0, err
    code, stdout, err = run_main("evaluate", "--model", out, "--json")
    assert code == 0, err
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert json.loads(stdout) == {"rows": len(load_dataset("spirals").X_test), **test}
    code, stdout, err = run_main("gradcheck", "--model", out, "--rows", "4")
    assert code == 0, err
    assert "the loss on 4 rows" in stdout
    code, stdout, err = run_main("landscape", "--model", out, "--resolution", "3",
                                 "--out", tmp_path / "land")
    assert code == 0, err
    assert "trajectory of 4 snapshots" in stdout
    assert (tmp_path / "land" / "model_landscape.png").is_file()
    csv_run = tmp_path / "csv"
    assert run_main("train", "--data", iris_csv, "--target", "species", "--epochs", "1",
                    "--out", csv_run, *QUIET)[0] == 0
    code, _, err = run_main("evaluate", "--model", csv_run)
    assert code == 1
    assert "flowers.csv" in err and "give --data FILE.csv" in err


def test_the_files_listed_include_a_checkpoint_written_slowly(iris_csv, run_main, tmp_path,
                                                              monkeypatch):
    """The last checkpoint is written on a background thread: the run waits for it before it
    lists the files of the run folder."""
    import time

    from chainrule.train import checkpoint

    write = checkpoint.write_checkpoint

    def slow_write(path, data):
        time.sleep(0.3)
        write(path, data)

    monkeypatch.setattr(checkpoint, "write_checkpoint", slow_write)
    out = tmp_path / "slow"
    code, stdout, err = run_main("train", "--data", iris_csv, "--target", "species",
                                 "--epochs", "2", "--out", out, *QUIET)
    assert code == 0, err
    assert "checkpoint.safetensors" in stdout.splitlines()[-1]
    assert load_checkpoint(out / "checkpoint.safetensors")["loop"]["epoch"] == 1


def test_a_run_resumes_with_or_without_its_progress_output(iris_csv, run_main, tmp_path):
    out = tmp_path / "shown"
    common = ["--data", iris_csv, "--target", "species", "--out", out, "--no-plots"]
    code, _, err = run_main("train", *common, "--epochs", "2")  # with its progress bar
    assert code == 0, err
    code, _, err = run_main("train", "--resume", "--epochs", "3", "--out", out, "-q",
                            "--no-plots")
    assert code == 0, err
    assert load_checkpoint(out / "checkpoint.safetensors")["loop"]["epoch"] == 2
