"""`chainrule export`: ONNX Runtime on the raw CSV columns gives `chainrule predict`'s
predictions on every row."""

import csv
import io
import json

import numpy as np
import onnx
import onnxruntime
import pytest


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def onnx_predictions(path, csv_path):
    """(metadata, outputs by name) of the exported file run on the CSV's raw columns, taken
    in the order its metadata names."""
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    features = json.loads(metadata["chainrule.features"])
    X = np.array([[float(row[f]) for f in features] for row in read_rows(csv_path)])
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return metadata, dict(zip(names, session.run(None, {"features": X})))


def predict_column(run_main, model, csv_path):
    code, stdout, err = run_main("predict", "--model", model, "--data", csv_path)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(stdout)))
    return rows[0], [row[0] for row in rows[1:]]


def test_classification_export_gives_predict_labels_on_every_row(trained_run, iris_csv,
                                                                  run_main, tmp_path):
    out, _ = trained_run
    code, _, err = run_main("export", "--model", out, "--out", tmp_path / "model.onnx")
    assert code == 0 and "wrote" in err
    metadata, outputs = onnx_predictions(tmp_path / "model.onnx", iris_csv)
    header, labels = predict_column(run_main, out, iris_csv)
    assert header == ["species"]
    assert outputs["label"].astype(str).tolist() == labels
    classes = json.loads(metadata["chainrule.classes"])
    assert [classes[i] for i in outputs["class_index"]] == labels
    assert json.loads(metadata["chainrule.features"]) == list(read_rows(iris_csv)[0])[:-1]
    assert metadata["chainrule.task"] == "classification"
    assert json.loads(metadata["chainrule.target"]) == "species"
    code, stdout, _ = run_main("predict", "--model", out, "--data", iris_csv, "--proba")
    rows = list(csv.DictReader(io.StringIO(stdout)))
    proba = np.array([[float(row[f"proba_{c}"]) for c in classes] for row in rows])
    assert outputs["probabilities"].dtype == np.float64
    np.testing.assert_allclose(outputs["probabilities"], proba, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("options", [["--activation", "gelu", "--batchnorm", "--dropout", "0.2"],
                                     ["--activation", "tanh", "--hidden", "6,4"]])
def test_numeric_labels_and_other_layers(options, plane_csv, run_main, tmp_path):
    run = tmp_path / "run"
    code, _, err = run_main("train", "--data", plane_csv, "--target", "inside", "--epochs", "5",
                            "--no-plots", "--out", run, *options)
    assert code == 0, err
    code, _, err = run_main("export", "--model", run, "--out", tmp_path / "m.onnx")
    assert code == 0, err
    _, outputs = onnx_predictions(tmp_path / "m.onnx", plane_csv)
    _, labels = predict_column(run_main, run, plane_csv)
    assert outputs["label"].astype(str).tolist() == labels


def test_regression_export_equals_predict(regression_csv, run_main, tmp_path):
    run = tmp_path / "run"
    code, _, err = run_main("train", "--data", regression_csv, "--target", "price",
                            "--epochs", "5", "--no-plots", "--out", run)
    assert code == 0, err
    code, _, err = run_main("export", "--model", run, "--out", tmp_path / "m.onnx")
    assert code == 0, err
    metadata, outputs = onnx_predictions(tmp_path / "m.onnx", regression_csv)
    assert set(outputs) == {"output"} and "chainrule.classes" not in metadata
    assert json.loads(metadata["chainrule.features"]) == ["area", "age"]
    _, values = predict_column(run_main, run, regression_csv)
    np.testing.assert_allclose(outputs["output"][:, 0], np.array(values, float), rtol=1e-6)


def test_export_of_a_missing_model_is_one_line(tmp_path, run_main):
    code, _, err = run_main("export", "--model", tmp_path / "none", "--out", tmp_path / "m.onnx")
    assert code == 1
    assert err.startswith("chainrule export: error:") and "none" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


def _column_feed(table_path, session):
    """ONNX Runtime's inputs for a table run: each column as chainrule reads it (NaN for a
    missing number, "" for a missing text)."""
    from chainrule.data import read_table

    frame = read_table(str(table_path)).frame
    kinds = json.loads(session.get_modelmeta().custom_metadata_map["chainrule.inputs"])
    feed = {}
    for spec in kinds:
        cells = frame[spec["name"]]
        if spec["kind"] == "numeric":
            feed[spec["name"]] = cells.to_numpy(np.float64, na_value=np.nan).reshape(-1, 1)
        else:
            texts = ["" if v is None or v != v else str(v).strip() for v in cells]
            feed[spec["name"]] = np.array(texts, dtype=object).reshape(-1, 1)
    return feed


def _penguins(tmp_path, rows=80):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
    from penguin_table import penguins

    table = tmp_path / "penguins.csv"
    frame = penguins(rows)
    frame.loc[[3, 7], "island"] = "Atlantis"  # unseen at predict time: pooled into <other>
    frame.to_csv(table, index=False)
    return table


def test_a_table_run_exports_its_encoding_and_equals_predict(run_main, tmp_path):
    table = _penguins(tmp_path)
    run = tmp_path / "run"
    code, _, err = run_main("train", "--data", table, "--target", "species", "--epochs", "3",
                            "--ignore", "observed", "--max-categories", "2", "--no-plots",
                            "--out", run)
    assert code == 0, err
    code, _, err = run_main("export", "--model", run, "--out", tmp_path / "m.onnx")
    assert code == 0, err
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, _column_feed(table, session))))
    _, labels = predict_column(run_main, run, table)
    assert outputs["label"].astype(str).tolist() == labels
    classes = json.loads(session.get_modelmeta().custom_metadata_map["chainrule.classes"])
    code, stdout, _ = run_main("predict", "--model", run, "--data", table, "--proba")
    rows = list(csv.DictReader(io.StringIO(stdout)))
    proba = np.array([[float(row[f"proba_{c}"]) for c in classes] for row in rows])
    np.testing.assert_allclose(outputs["probabilities"], proba, rtol=1e-5, atol=1e-6)


def test_the_exported_encoding_strips_texts_and_knows_missing_markers(run_main, tmp_path):
    """As predict reads a file: a text cell with spaces around it is its stripped text, and
    NA, null, ?, N/A (any case, spaces around) are missing, like ""."""
    table = _penguins(tmp_path)
    frame = __import__("pandas").read_csv(table)
    frame.loc[[1, 5, 9, 13], "sex"] = None  # missing cells for the markers below
    frame.to_csv(table, index=False)
    run = tmp_path / "run"
    code, _, err = run_main("train", "--data", table, "--target", "species", "--epochs", "2",
                            "--ignore", "observed", "--no-plots", "--out", run)
    assert code == 0, err
    code, _, err = run_main("export", "--model", run, "--out", tmp_path / "m.onnx")
    assert code == 0, err
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    plain = _column_feed(table, session)
    markers = iter([" NA ", "null", "?", "n/A\t"] * 100)
    padded = {
        name: np.array([[next(markers) if v == "" else f"  {v}\t"] for v in cells[:, 0]],
                       dtype=object) if cells.dtype == object else cells
        for name, cells in plain.items()
    }
    assert any(cells.dtype == object for cells in plain.values())
    for got, expected in zip(session.run(None, padded), session.run(None, plain)):
        np.testing.assert_array_equal(got, expected)


def test_a_category_that_is_a_missing_marker_is_missing_in_the_export(run_main, tmp_path):
    """JSON-lines keep the text 'none' as a category; in a file predict reads, 'none' is a
    missing cell: the export reads it as missing too, not as both."""
    rows = [{"x": i * 0.1, "c": ["none", "a", "b"][i % 3], "t": i % 2} for i in range(60)]
    table = tmp_path / "records.jsonl"
    table.write_text("".join(json.dumps(row) + "\n" for row in rows))
    run = tmp_path / "run"
    code, _, err = run_main("train", "--data", table, "--target", "t", "--epochs", "2",
                            "--no-plots", "--out", run)
    assert code == 0, err
    code, _, err = run_main("export", "--model", run, "--out", tmp_path / "m.onnx")
    assert code == 0, err
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    x = np.array([[0.5], [0.5]])
    none, missing = session.run(None, {"x": x, "c": np.array([["none"], [""]], dtype=object)})[-1]
    np.testing.assert_array_equal(none, missing)


def test_a_run_with_date_columns_is_refused_by_name(run_main, tmp_path):
    table = _penguins(tmp_path, rows=40)
    run = tmp_path / "run"
    code, _, err = run_main("train", "--data", table, "--target", "species", "--epochs", "2",
                            "--no-plots", "--out", run)
    assert code == 0, err
    code, _, err = run_main("export", "--model", run, "--out", tmp_path / "m.onnx")
    assert code == 1 and "observed" in err and "date" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()
