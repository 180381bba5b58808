"""Real tables that ship in PyPI packages, through `chainrule train` as is, beside
scikit-learn's HistGradientBoosting and MLP on the same preprocessed features and split.

- penguins (palmerpenguins): species from island/sex (categorical), NA cells, a year column;
- seattle-weather (vega_datasets, its CSV as shipped): weather from a date column
  (2012/01/01 format) and four numbers;
- cars (vega_datasets, written as JSON lines): Miles_per_Gallon (regression) from numbers,
  Origin (categorical), Year (a date), Name (an ID-like text, dropped), NA cells.

chainrule: `chainrule train --data FILE --target T --out DIR -q --no-plots` (defaults: a
128-unit ReLU MLP, Adam, 20 epochs), test metrics from metrics.json. scikit-learn: the same
rows of cr.data.load_csv(FILE, T, val_split=0.1, seed=0) (the CLI's split and preprocessing),
fitted on the training part, scored on the test part.

    pip install palmerpenguins vega_datasets
    .venv/bin/python benchmarks/real_tables.py [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings


def write_tables(folder: str) -> list[tuple[str, str, str]]:
    """(name, file, target) of each table, written into folder."""
    import palmerpenguins
    from vega_datasets import data, local_data

    penguins = os.path.join(folder, "penguins.csv")
    palmerpenguins.load_penguins().to_csv(penguins, index=False, na_rep="NA")
    weather = os.path.join(folder, "seattle-weather.csv")
    with open(local_data.seattle_weather.filepath, "rb") as source, open(weather, "wb") as out:
        out.write(source.read())
    cars = os.path.join(folder, "cars.jsonl")
    frame = data.cars()
    frame["Year"] = frame["Year"].dt.strftime("%Y-%m-%d")
    frame.to_json(cars, orient="records", lines=True)
    return [("penguins", penguins, "species"), ("seattle-weather", weather, "weather"),
            ("cars", cars, "Miles_per_Gallon")]


def chainrule_run(path: str, target: str, out: str, epochs: int) -> tuple[dict, float]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "chainrule", "train", "--data", path, "--target",
                    target, "--out", out, "-q", "--no-plots", "--epochs", str(epochs)],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - start
    with open(os.path.join(out, "metrics.json")) as handle:
        return json.load(handle)["test"], seconds


def sklearn_scores(path: str, target: str) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    import chainrule as cr

    data = cr.data.load_csv(path, target, val_split=0.1, seed=0)
    classify = data.task == "classification"
    models = {
        "hgb": (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
            random_state=0),
        "mlp": (MLPClassifier if classify else MLPRegressor)(
            hidden_layer_sizes=(128,), max_iter=500, random_state=0),
    }
    scores = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLP convergence warnings
            model.fit(data.X_train, data.y_train)
        predicted = model.predict(data.X_test)
        if classify:
            scores[name] = float((predicted == data.y_test).mean())
        else:
            scores[name] = float(((predicted - data.y_test) ** 2).mean())
    return {"task": data.task, "rows": len(data.X_train) + len(data.X_val) + len(data.X_test),
            "features": data.n_features, **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    print("| table | task | rows | features | chainrule train | HGB | MLP | train s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, path, target in write_tables(folder):
            metrics, seconds = chainrule_run(path, target, os.path.join(folder, name),
                                             args.epochs)
            theirs = sklearn_scores(path, target)
            key = "accuracy" if theirs["task"] == "classification" else "mse"
            print(f"| {name} | {theirs['task']} ({key}) | {theirs['rows']} | "
                  f"{theirs['features']} | {metrics[key]:.4g} | {theirs['hgb']:.4g} | "
                  f"{theirs['mlp']:.4g} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
