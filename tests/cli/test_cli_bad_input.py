"""Each bad input of the training issue: exit code 1 and one line naming where and what."""

import pytest

HEADER = "a,b,species\n"
GOOD_ROWS = [f"{i * 0.5:.1f},{(i % 3) * 1.5:.1f},{'red' if i % 2 else 'blue'}\n"
             for i in range(12)]


def csv_text(*replacements):
    """The good file with (row number, line) replacements; the header is row 1."""
    rows = list(GOOD_ROWS)
    for row, line in replacements:
        rows[row - 2] = line
    return HEADER + "".join(rows)


CASES = {
    "non-numeric cell": (csv_text((3, "1.0,abc,red\n")), ["row 3", "'b'", "abc"]),
    "missing value": (csv_text((4, ",2.0,blue\n")), ["row 4", "'a'", "missing"]),
    "NaN": (csv_text((5, "nan,2.0,blue\n")), ["row 5", "'a'", "missing"]),
    "Inf": (csv_text((6, "1.0,-inf,red\n")), ["row 6", "'b'", "inf"]),
    "ragged row": (csv_text((7, "1.0,2.0,red,9\n")), ["row 7", "4"]),
    "short row": (csv_text((8, "1.0,red\n")), ["row 8"]),
    "empty file": ("", ["empty"]),
    "header only": (HEADER, ["no data rows"]),
    "single class": (HEADER + "".join(f"{i},{i},red\n" for i in range(8)),
                     ["single class", "red"]),
    "overflow": (csv_text((9, "1e39,2.0,red\n")), ["row 9", "'a'", "float32", "1e+39"]),
}
# Missing cells are imputed by default; these cases refuse them.
REFUSE_MISSING = {"missing value", "NaN"}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_training_file(run_main, tmp_path, name):
    text, words = CASES[name]
    path = tmp_path / "flowers.csv"
    path.write_text(text)
    impute = ["--impute", "none"] if name in REFUSE_MISSING else []
    code, out, err = run_main("train", "--data", path, "--target", "species", "--epochs", "1",
                              "--out", tmp_path / "run", "-q", *impute)
    assert code == 1, out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("chainrule train: error: ")
    assert "flowers.csv" in lines[0]
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_unknown_target_column(run_main, tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text(csv_text())
    code, _, err = run_main("train", "--data", path, "--target", "kind", "--out", tmp_path)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "flowers.csv" in err and "'kind'" in err and "species" in err


def test_missing_file(run_main, tmp_path):
    code, _, err = run_main("train", "--data", tmp_path / "nowhere.csv", "--target", "y",
                            "--out", tmp_path / "run")
    assert code == 1
    assert "nowhere.csv" in err and len(err.strip().splitlines()) == 1


def test_bad_file_in_a_subprocess(run_cli, tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text(csv_text((3, "1.0,abc,red\n")))
    result = run_cli("train", "--data", path, "--target", "species", "--out", tmp_path / "r")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "flowers.csv" in line and "row 3" in line and "'b'" in line and "abc" in line


@pytest.mark.parametrize("argv, words", [
    (["--batch-size", "-1"], ["--batch-size", "-1"]),
    (["--epochs", "-1"], ["--epochs", "-1"]),
    (["--lr", "0"], ["--lr", "0"]),
])
def test_bad_numbers_with_a_good_file(run_main, tmp_path, argv, words):
    path = tmp_path / "flowers.csv"
    path.write_text(csv_text())
    code, _, err = run_main("train", "--data", path, "--target", "species", *argv,
                            "--out", tmp_path / "run")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert all(word in err for word in words)


FEATURE_HEADER = "sepal_length,sepal_width,petal_length,petal_width"
PREDICT_CASES = {
    "Inf": (f"{FEATURE_HEADER}\n5.0,3.4,1.5,inf\n", ["row 2", "'petal_width'", "inf"]),
    "stray word": (f"{FEATURE_HEADER}\n5.0,3.4,long,0.2\n", ["row 2", "'petal_length'", "long"]),
    "ragged row": (f"{FEATURE_HEADER}\n5.0,3.4,1.5,0.2\n5.0,3.4,1.5\n", ["row 3"]),
    "header only": (f"{FEATURE_HEADER}\n", ["no data rows"]),
    "empty file": ("", ["empty"]),
    "too few features": ("sepal_length,sepal_width\n5.0,3.4\n", ["4 columns", "petal_width"]),
}


@pytest.mark.parametrize("name", list(PREDICT_CASES))
def test_bad_file_at_predict(trained_run, run_main, tmp_path, name):
    text, words = PREDICT_CASES[name]
    path = tmp_path / "new.csv"
    path.write_text(text)
    out, _ = trained_run
    code, stdout, err = run_main("predict", "--model", out, "--data", path)
    assert code == 1 and stdout == ""
    [line] = err.strip().splitlines()
    assert line.startswith("chainrule predict: error: ") and "new.csv" in line
    for word in words:
        assert word.lower() in line.lower(), line


def test_missing_cells_at_predict_take_the_training_median(trained_run, run_main, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(f"{FEATURE_HEADER}\n5.0,NaN,1.5,0.2\n5.0,3.4,,0.2\n5.0,3.4,1.5,0.2\n")
    out, _ = trained_run
    code, stdout, err = run_main("predict", "--model", out, "--data", path, "--proba")
    assert code == 0 and err == ""
    rows = stdout.strip().splitlines()[1:]
    assert len(rows) == 3 and all(len(row.split(",")) == 4 for row in rows)


def test_label_out_of_range_for_the_model(plane_csv, run_main, tmp_path):
    """A model trained on classes 0 and 1, evaluated on a file with the label 2."""
    out = tmp_path / "run"
    code, _, err = run_main("train", "--data", plane_csv, "--target", "inside", "--epochs", "1",
                            "--out", out, "-q", "--no-plots")
    assert code == 0, err
    path = tmp_path / "test.csv"
    path.write_text("u,v,inside\n0.1,0.2,1\n0.5,0.5,2\n")
    code, _, err = run_main("evaluate", "--model", out, "--data", path)
    assert code == 1
    [line] = err.strip().splitlines()
    assert "test.csv" in line and "row 3" in line and "'inside'" in line and "'2'" in line


def _tampered_copy(model_file, folder, architecture=None, preprocessor=None):
    """The trained model file with its architecture or preprocessing replaced."""
    import json

    import safetensors.numpy

    from chainrule.io import ARCHITECTURE_KEY, METADATA_KEY

    with open(model_file, "rb") as handle:
        raw = handle.read()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])["__metadata__"]
    if architecture is not None:
        header[ARCHITECTURE_KEY] = json.dumps(architecture(json.loads(header[ARCHITECTURE_KEY])))
    if preprocessor is not None:
        metadata = json.loads(header[METADATA_KEY])
        preprocessor(metadata["preprocessor"])
        header[METADATA_KEY] = json.dumps(metadata)
    path = folder / "tampered.safetensors"
    path.write_bytes(safetensors.numpy.save(safetensors.numpy.load(raw), metadata=header))
    return path


TAMPERED = {
    "scale a layer name": {"preprocessor": lambda p: p.update(scale="BatchNorm1d")},
    "mean a number where a list belongs": {"preprocessor": lambda p: p.update(mean=3)},
    "classes fewer than outputs": {"preprocessor": lambda p: p.update(classes=["a"])},
    "root a ModuleList": {"architecture": lambda a: {**a, "type": "ModuleList"}},
}


@pytest.mark.parametrize("name", list(TAMPERED))
def test_a_model_file_that_loads_but_cannot_predict_is_named(trained_run, run_main, tmp_path,
                                                              name):
    out, _ = trained_run
    path = _tampered_copy(out / "model.safetensors", tmp_path, **TAMPERED[name])
    data = tmp_path / "new.csv"
    data.write_text(f"{FEATURE_HEADER}\n5.0,3.4,1.5,0.2\n")
    code, stdout, err = run_main("predict", "--model", path, "--data", data)
    assert code == 1 and stdout == ""
    [line] = err.strip().splitlines()
    assert line.startswith("chainrule predict: error: ") and line.count(str(path)) == 1, line
    assert "cannot make predictions" in line
