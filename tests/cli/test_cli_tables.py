"""`chainrule train/predict/evaluate` on a real-looking table: mixed columns, NA cells, dates;
the column table in the run folder and report; one-line advice for a missing package."""

import csv
import sys

import numpy as np
import pytest
from penguin_table import ISLANDS, penguins

from chainrule.cli import describe


def test_train_writes_the_column_table(penguin_run):
    _, out = penguin_run
    with open(out / "columns.csv", newline="") as handle:
        rows = {row["column"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["island", "bill_length_mm", "body_mass_g", "sex", "observed"]
    assert rows["island"]["type"] == "categorical"
    assert rows["island"]["categories"] == ", ".join(ISLANDS)
    assert rows["observed"]["type"] == "date" and rows["bill_length_mm"]["type"] == "numeric"
    assert int(rows["sex"]["missing"]) + int(rows["observed"]["missing"]) >= 1
    report = (out / "report.html").read_text()
    assert "<h2>Data</h2>" in report and "<td>Biscoe, Dream, Torgersen</td>" in report


def test_train_notes_dropped_rows_and_id_columns(tmp_path, run_main):
    path = tmp_path / "penguins.csv"
    penguins(60).to_csv(path, index=False, na_rep="NA")
    code, _, err = run_main("train", "--data", path, "--target", "species", "--epochs", "1",
                            "--out", tmp_path / "run", "-q", "--no-plots", "--ignore", "observed")
    assert code == 0
    assert "1 rows without a target value dropped (first: row 13)" in err
    assert "column 'tag' dropped: every value is distinct text" in err
    with open(tmp_path / "run" / "columns.csv") as handle:
        assert "observed" not in handle.read()


@pytest.mark.filterwarnings("default::chainrule.data.DataWarning")  # shown, as the CLI shows it
def test_predict_and_evaluate_reuse_the_preprocessing(penguin_run, run_main, tmp_path):
    path, out = penguin_run
    code, stdout, err = run_main("evaluate", "--model", out, "--data", path, "--json")
    assert code == 0 and '"accuracy"' in stdout
    assert "1 rows without a target value dropped" in err  # a warning, one line
    new = penguins(20, seed=9).drop(columns=["species"]).iloc[:5]
    new.loc[0, "island"] = "Anvers"
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False, na_rep="NA")
    code, stdout, err = run_main("predict", "--model", out, "--data", new_path)
    assert code == 0 and len(stdout.strip().splitlines()) == 6
    [line] = err.strip().splitlines()
    assert line.startswith("chainrule: warning: ") and "'island'" in line and "Anvers" in line


def test_a_numeric_column_with_a_stray_word_is_an_error(tmp_path, run_main):
    frame = penguins(40)
    frame["body_mass_g"] = frame["body_mass_g"].astype(object)
    frame.loc[9, "body_mass_g"] = "heavy"
    path = tmp_path / "penguins.csv"
    frame.to_csv(path, index=False, na_rep="NA")
    code, _, err = run_main("train", "--data", path, "--target", "species", "--epochs", "1",
                            "--out", tmp_path / "run", "-q")
    assert code == 1
    [line] = err.strip().splitlines()
    assert "penguins.csv, row 11, column 'body_mass_g': non-numeric value 'heavy'" in line


def test_missing_optional_package_is_one_line_advice(monkeypatch, tmp_path, run_main):
    """On a bare install, the default data set (digits) needs scikit-learn."""
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` now fails
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    code, _, err = run_main("train", "--epochs", "1", "--out", tmp_path / "run", "-q")
    assert code == 1
    assert err.strip() == ('chainrule train: error: this needs the optional package '
                           'scikit-learn, which is not installed: pip install "chainrule[all]"')
    unrelated = ModuleNotFoundError("No module named 'nowhere'", name="nowhere")
    assert "run with --debug" in describe(unrelated)


def test_category_options_reach_the_encoding(tmp_path, run_main):
    frame = penguins(60)
    frame["clutch"] = [1, 2, 3] * 20
    path = tmp_path / "penguins.csv"
    frame.to_csv(path, index=False, na_rep="NA")
    code, _, err = run_main("train", "--data", path, "--target", "species", "--epochs", "1",
                            "--out", tmp_path / "run", "-q", "--no-plots",
                            "--max-categories", "2", "--int-categories", "3")
    assert code == 0, err
    with open(tmp_path / "run" / "columns.csv", newline="") as handle:
        rows = {row["column"]: row for row in csv.DictReader(handle)}
    assert rows["island"]["categories"].endswith(", <other>")
    assert len(rows["island"]["categories"].split(", ")) == 2
    assert rows["clutch"]["type"] == "categorical"
    code, _, err = run_main("train", "--data", path, "--target", "species",
                            "--out", tmp_path / "run2", "--max-categories", "1")
    assert code == 1 and "--max-categories must be >= 2, got 1" in err


def test_python_users_apply_the_stored_preprocessing(penguin_run, run_main):
    import chainrule as cr
    from chainrule.data import DataError, DataWarning, Preprocessor
    from chainrule.data.csvfile import read_csv_features

    path, out = penguin_run
    model_file = out / "model.safetensors"
    model = cr.load(model_file).eval()
    preprocessor = Preprocessor.from_model_file(model_file)
    frame = penguins(200).dropna(subset=["species"])
    X = preprocessor.transform_table(frame)
    with pytest.warns(DataWarning, match="1 rows without a target value dropped"):
        expected, _ = read_csv_features(path, preprocessor, "species")
    np.testing.assert_array_equal(X, expected)
    labels = preprocessor.decode_labels(cr.predict(model, X).argmax(axis=1))
    code, stdout, _ = run_main("predict", "--model", model_file, "--data", path)
    assert code == 0
    by_cli = np.array(stdout.strip().splitlines()[1:])[frame.index]  # a row per file row
    np.testing.assert_array_equal(labels, by_cli)
    with pytest.raises(DataError, match=r"missing columns \['island'\]"):
        preprocessor.transform_table(frame.drop(columns=["island"]))
