"""`chainrule train`, `predict` and `evaluate` end to end, as a new user drives them."""

import csv
import json
import os

import numpy as np
from safetensors.numpy import load_file

import chainrule as cr
from chainrule.io import load_metadata

OUTPUTS = ("model.safetensors", "history.csv", "metrics.json", "config.json", "report.html",
           "curves.png", "learning_rate.png", "gradient_norms.png", "confusion_matrix.png")


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_train_writes_the_run_folder(trained_run):
    out, result = trained_run
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    table = result.stdout
    for word in ("split", "loss", "accuracy", "train", "validation", "test"):
        assert word in table
    history = read_rows(out / "history.csv")
    assert [int(row["epoch"]) for row in history] == list(range(15))
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "lr"} <= set(history[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation", "test", "run"}
    assert metrics["run"]["epochs"] == 15
    assert metrics["test"]["accuracy"] >= 0.9  # three well-separated blobs
    # The printed table shows the numbers of metrics.json.
    assert f"{metrics['test']['accuracy']:.4f}" in table


def test_model_file_carries_preprocessing_and_class_names(trained_run, iris_csv):
    out, _ = trained_run
    metadata = load_metadata(out / "model.safetensors")
    preprocessor = metadata["preprocessor"]
    labels = {row["species"] for row in read_rows(iris_csv)}
    assert preprocessor["classes"] == sorted(labels)
    assert preprocessor["target"] == "species"
    assert preprocessor["feature_names"] == list(read_rows(iris_csv)[0])[:-1]
    assert metadata["train_config"]["hidden"] == [8]


def test_predict_gives_the_original_label_names(trained_run, iris_csv, run_cli, tmp_path):
    out, _ = trained_run
    preds = tmp_path / "preds.csv"
    result = run_cli("predict", "--model", out / "model.safetensors", "--data", iris_csv,
                     "--out", preds, "--proba")
    assert result.returncode == 0, result.stderr
    truth = [row["species"] for row in read_rows(iris_csv)]
    rows = read_rows(preds)
    assert len(rows) == len(truth)
    classes = sorted(set(truth))
    assert list(rows[0]) == ["species", *(f"proba_{c}" for c in classes)]
    predicted = [row["species"] for row in rows]
    assert set(predicted) <= set(classes)
    assert np.mean(np.array(predicted) == np.array(truth)) >= 0.9
    proba = np.array([[float(row[f"proba_{c}"]) for c in classes] for row in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert [classes[i] for i in proba.argmax(axis=1)] == predicted


def test_predict_to_stdout_matches_the_file(trained_run, iris_csv, run_main, tmp_path):
    out, _ = trained_run
    code, stdout, _ = run_main("predict", "--model", out, "--data", iris_csv)
    assert code == 0
    code, _, _ = run_main("predict", "--model", out, "--data", iris_csv, "--out",
                          tmp_path / "p.csv")
    assert code == 0
    assert stdout == (tmp_path / "p.csv").read_text()


def test_evaluate_agrees_with_predict(trained_run, iris_csv, run_main):
    out, _ = trained_run
    code, stdout, _ = run_main("predict", "--model", out, "--data", iris_csv)
    assert code == 0
    predicted = [line for line in stdout.splitlines()[1:]]
    truth = [row["species"] for row in read_rows(iris_csv)]
    code, stdout, err = run_main("evaluate", "--model", out, "--data", iris_csv,
                                 "--target", "species", "--json")
    assert code == 0, err
    metrics = json.loads(stdout)
    assert metrics["rows"] == len(truth)
    assert metrics["accuracy"] == np.mean(np.array(predicted) == np.array(truth))
    assert metrics["loss"] > 0


def test_evaluate_prints_a_table(trained_run, iris_csv, run_cli):
    out, _ = trained_run
    result = run_cli("evaluate", "--model", out / "model.safetensors", "--data", iris_csv)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "loss" in result.stdout


def test_predict_with_a_missing_feature_column(trained_run, tmp_path, run_cli):
    out, _ = trained_run
    path = tmp_path / "three.csv"
    path.write_text("sepal_length,sepal_width,petal_length\n5.0,3.4,1.5\n")
    result = run_cli("predict", "--model", out, "--data", path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "three.csv" in line and "petal_width" in line and "4 columns" in line


def test_predict_with_a_bad_cell(trained_run, tmp_path, run_main):
    out, _ = trained_run
    path = tmp_path / "bad.csv"
    path.write_text("sepal_length,sepal_width,petal_length,petal_width\n"
                    "5.0,3.4,1.5,0.2\n5.0,3.4,big,0.2\n")
    code, _, err = run_main("predict", "--model", out, "--data", path)
    assert code == 1
    [line] = err.strip().splitlines()
    assert "bad.csv" in line and "row 3" in line and "'petal_length'" in line and "big" in line


def test_evaluate_with_an_unknown_label(trained_run, tmp_path, run_main):
    out, _ = trained_run
    path = tmp_path / "rose.csv"
    path.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n"
                    "5.0,3.4,1.5,0.2,setosa\n5.0,3.4,1.5,0.2,rose\n")
    code, _, err = run_main("evaluate", "--model", out, "--data", path)
    assert code == 1
    [line] = err.strip().splitlines()
    assert "rose.csv" in line and "'rose'" in line


def test_model_that_is_not_a_model(tmp_path, iris_csv, run_main):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"not a model at all")
    code, _, err = run_main("predict", "--model", path, "--data", iris_csv)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "model.safetensors" in err


def test_resume_matches_an_uninterrupted_run(iris_csv, run_cli, tmp_path):
    common = ["--data", iris_csv, "--target", "species", "--hidden", "6", "--batch-size",
              "16", "--seed", "3", "-q", "--no-plots"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_cli("train", *common, "--epochs", "4", "--out", straight).returncode == 0
    assert run_cli("train", *common, "--epochs", "2", "--out", split).returncode == 0
    result = run_cli("train", "--resume", "--epochs", "4", "--out", split, "-q", "--no-plots")
    assert result.returncode == 0, result.stderr
    a, b = load_file(straight / "model.safetensors"), load_file(split / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    history = [read_rows(folder / "history.csv") for folder in (straight, split)]
    for row in history[0] + history[1]:
        del row["time"]  # wall-clock seconds per epoch
    assert history[0] == history[1] and len(history[0]) == 4
    assert json.loads((split / "config.json").read_text())["epochs"] == 4


def test_resume_refuses_changed_options(trained_run, run_main):
    out, _ = trained_run
    code, _, err = run_main("train", "--resume", "--out", out, "--lr", "0.5")
    assert code == 1
    assert "--lr" in err and "0.5" in err


def test_regression_with_full_batch(regression_csv, run_cli, tmp_path, check_png):
    out = tmp_path / "reg"
    result = run_cli("train", "--data", regression_csv, "--target", "price", "--hidden",
                     "none", "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "0",
                     "--epochs", "60", "--val-split", "0", "--out", out, "-q")
    assert result.returncode == 0, result.stderr
    check_png((out / "predicted_vs_actual.png").read_bytes())
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"train", "test", "run"}
    assert {"mse", "mae", "r2"} <= set(metrics["test"])
    assert metrics["test"]["r2"] > 0.95  # a linear model on linear data
    result = run_cli("predict", "--model", out, "--data", regression_csv)
    rows = [line.split(",") for line in result.stdout.splitlines()]
    assert rows[0] == ["price"]
    truth = np.array([float(row["price"]) for row in read_rows(regression_csv)])
    predicted = np.array([float(row[0]) for row in rows[1:]])
    assert np.abs(predicted - truth).max() < 1.0


def test_two_features_and_many_options(plane_csv, run_cli, tmp_path, check_png):
    out = tmp_path / "plane"
    result = run_cli("train", "--data", plane_csv, "--target", "inside", "--hidden", "16,16",
                     "--activation", "tanh", "--batchnorm", "--dropout", "0.1",
                     "--optimizer", "nesterov", "--lr", "0.05", "--weight-decay", "1e-4",
                     "--l2", "1e-4", "--clip", "1", "--schedule", "warmup-cosine",
                     "--early-stopping", "3", "--epochs", "8",
                     "--batch-size", "8", "--out", out, "-q")
    assert result.returncode == 0, result.stderr
    check_png((out / "decision_boundary.png").read_bytes())
    config = json.loads((out / "config.json").read_text())
    assert config["optimizer"] == "nesterov" and config["momentum"] == 0.9
    assert config["hidden"] == [16, 16] and config["batchnorm"] is True
    lr = [float(row["lr"]) for row in read_rows(out / "history.csv")]
    assert lr[0] < lr[1] and lr[1] > lr[-1]  # warm-up, then cosine decay
    classes = load_metadata(out / "model.safetensors")["preprocessor"]["classes"]
    assert [str(c) for c in classes] == ["0", "1"]


def test_default_command_trains_on_digits(run_cli, tmp_path):
    result = run_cli("train", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "runs" / "latest" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95
    assert metrics["run"]["parameters"] == 64 * 128 + 128 + 128 * 10 + 10
    # The results table: a row per split with the numbers of metrics.json.
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["split", "loss", "accuracy"]
    for split in ("train", "validation", "test"):
        row = next(line.split() for line in lines if line.startswith(split + " "))
        assert row[1:] == [f"{metrics[split]['loss']:.4f}", f"{metrics[split]['accuracy']:.4f}"]


def test_divergence_is_one_line_with_advice(regression_csv, run_cli, tmp_path):
    result = run_cli("train", "--data", regression_csv, "--target", "price", "--optimizer",
                     "sgd", "--lr", "1e4", "--epochs", "30", "--out", tmp_path, "-q")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "diverged" in errors[0] and "learning rate" in errors[0]
    assert "Traceback" not in result.stderr
    # The last finite weights fit restored are in the run folder, and the message says where.
    model_file = os.path.join(tmp_path, "model.safetensors")
    assert f"The last finite weights are saved in {model_file}." in errors[0]
    weights = cr.load_state_dict(model_file)
    assert weights and all(np.isfinite(array).all() for array in weights.values())
