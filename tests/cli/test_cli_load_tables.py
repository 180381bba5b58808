"""cr.load attaches the preprocessing of a `chainrule train` run (model.preprocessor), and
cr.predict / cr.evaluate apply it to a DataFrame or a table file: the same numbers as
`chainrule predict` and `chainrule evaluate`. Arrays still go in as they are."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule.cli.trained import TrainedModel, loss_function
from chainrule.data import DataError, DataWarning, Preprocessor
from chainrule.io import ModelFileError
from chainrule.train.metrics import get_metric


@pytest.fixture()
def model_run(penguin_run):
    """(the penguins CSV, its `chainrule train` model file): conftest's penguin_run."""
    path, out = penguin_run
    return path, out / "model.safetensors"


def test_load_attaches_the_runs_preprocessing(model_run, tmp_path):
    _, model_file = model_run
    model = cr.load(model_file)
    assert isinstance(model, cr.nn.Module) and isinstance(model.preprocessor, Preprocessor)
    stored = Preprocessor.from_model_file(model_file).to_dict()
    assert model.preprocessor.to_dict() == stored
    copy = tmp_path / "copy.safetensors"
    cr.save(model, copy)  # kept by a save of the loaded model
    assert cr.load(copy).preprocessor.to_dict() == stored
    assert cr.load_metadata(copy) == {"preprocessor": stored}


def test_predict_on_a_dataframe_equals_chainrule_predict(model_run, run_main):
    path, model_file = model_run
    model = cr.load(model_file).eval()
    frame = pd.read_csv(path)  # every row, NA cells included, the target column ignored
    outputs = cr.predict(model, frame)
    trained = TrainedModel.load(model_file)
    X, _ = trained.read(path, with_target=False)
    np.testing.assert_array_equal(outputs, trained.outputs(X))
    np.testing.assert_array_equal(cr.predict(model, path), outputs)  # a file: the same
    np.testing.assert_array_equal(cr.predict(model, X), outputs)  # arrays: as they are
    labels = model.preprocessor.decode_labels(outputs.argmax(axis=1))
    code, stdout, _ = run_main("predict", "--model", model_file, "--data", path)
    assert code == 0
    np.testing.assert_array_equal(labels, stdout.strip().splitlines()[1:])


def test_evaluate_on_a_dataframe_equals_the_file_score(model_run):
    path, model_file = model_run
    model = cr.load(model_file)
    trained = TrainedModel.load(model_file)
    with pytest.warns(DataWarning, match="1 rows without a target value dropped"):
        expected = trained.score(*trained.read(path))
    frame = pd.read_csv(path).dropna(subset=["species"])
    loss, accuracy = loss_function("classification"), [get_metric("accuracy")]
    for y in (None, "species", frame["species"], frame["species"].tolist()):
        value, metrics = cr.evaluate(model, loss, frame, y, metrics=accuracy)
        assert {"loss": value, **metrics} == expected
    features = frame.drop(columns=["species"])
    assert cr.evaluate(model, loss, features, frame["species"], accuracy)[0] == expected["loss"]
    with pytest.warns(DataWarning):
        assert cr.evaluate(model, loss, path, metrics=accuracy)[0] == expected["loss"]
    whole = pd.read_csv(path)  # with the row that has no species, as the file has it
    for y in (None, whole["species"]):
        with pytest.warns(DataWarning, match="1 rows without a target value dropped"):
            value, metrics = cr.evaluate(model, loss, whole, y, metrics=accuracy)
        assert {"loss": value, **metrics} == expected


def test_a_dataframe_without_a_training_column_names_it(model_run):
    path, model_file = model_run
    model = cr.load(model_file)
    frame = pd.read_csv(path)
    with pytest.raises(DataError, match=r"missing columns \['island'\]"):
        cr.predict(model, frame.drop(columns=["island"]))
    loss = loss_function("classification")
    with pytest.raises(DataError, match=r"no target column 'species'"):
        cr.evaluate(model, loss, frame.drop(columns=["species"]))
    with pytest.raises(DataError, match=r"row 3, column 'y': label 'Emperor' is not one"):
        cr.evaluate(model, loss, frame.iloc[:5], ["Adelie"] * 3 + ["Emperor", "Adelie"])
    with pytest.raises(DataError, match="X has 5 rows but y has 2 labels"):
        cr.evaluate(model, loss, frame.iloc[:5], ["Adelie"] * 2)


def test_a_model_without_preprocessing_takes_a_dataframe_of_numbers(tmp_path):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 2))
    cr.save(model, tmp_path / "plain.safetensors")
    model = cr.load(tmp_path / "plain.safetensors")
    assert model.preprocessor is None
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "c": [True, False]})
    np.testing.assert_array_equal(cr.predict(model, frame),
                                  cr.predict(model, frame.to_numpy(dtype=np.float64)))
    frame["c"] = ["x", "y"]
    with pytest.raises(DataError, match=r"column 'c' holds .* values, not numbers; this model "
                                        r"has no preprocessing"):
        cr.predict(model, frame)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(DataError, match=r"rows.csv: this model has no preprocessing"):
        cr.predict(model, tmp_path / "rows.csv")
    with pytest.raises(DataError, match="evaluate needs y"):
        cr.evaluate(model, cr.nn.MSELoss(), np.zeros((2, 3)))


def test_a_damaged_stored_preprocessing_is_a_model_file_error(model_run, tmp_path):
    _, model_file = model_run
    metadata = cr.load_metadata(model_file)
    metadata["preprocessor"]["columns"] = "island"
    model = cr.load(model_file)
    model.preprocessor = None
    damaged = tmp_path / "damaged.safetensors"
    cr.save(model, damaged, metadata=metadata)
    with pytest.raises(ModelFileError, match=r"damaged\.safetensors: its stored preprocessing "
                                             r"is damaged"):
        cr.load(damaged)


def test_import_and_array_predict_stay_without_pandas():
    code = ("import sys, numpy as np, chainrule as cr\n"
            "model = cr.nn.Sequential(cr.nn.Linear(2, 1))\n"
            "cr.predict(model, np.zeros((3, 2)))\n"
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
