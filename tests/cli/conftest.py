"""Helpers for the command's end-to-end tests: run it, write small CSV files."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import image

from chainrule.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

CLASSES = ("setosa", "versicolor", "virginica")
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def run_cli(*args, cwd=None, timeout=120):
    """`python -m chainrule ARGS` in a subprocess (non-interactive, like a script)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def run_main(capsys, *args):
    """main(argv) in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def blobs(n_per_class=30, seed=0):
    """Three well-separated classes in 4 features, labelled with strings."""
    rng = np.random.default_rng(seed)
    centres = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    X = np.concatenate([c + 0.15 * rng.standard_normal((n_per_class, 4)) for c in centres])
    labels = np.repeat(CLASSES, n_per_class)
    order = rng.permutation(len(X))
    return X[order], labels[order]


@pytest.fixture(name="run_cli")
def run_cli_fixture():
    return run_cli


@pytest.fixture(name="run_main")
def run_main_fixture(capsys):
    return lambda *args: run_main(capsys, *args)


@pytest.fixture(scope="session")
def iris_csv(tmp_path_factory):
    X, labels = blobs()
    rows = [[f"{v:.3f}" for v in x] + [label] for x, label in zip(X, labels)]
    return write_csv(tmp_path_factory.mktemp("data") / "flowers.csv", [*FEATURES, "species"],
                     rows)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, iris_csv):
    """One small training run on iris_csv, shared by the tests that read its outputs."""
    out = tmp_path_factory.mktemp("run")
    result = run_cli("train", "--data", iris_csv, "--target", "species", "--hidden", "8",
                     "--epochs", "15", "--batch-size", "16", "--lr", "0.05", "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="session")
def regression_csv(tmp_path_factory):
    """price = 3 area − 2 age + 5 + noise; a column order that puts the target first."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 2, size=(80, 2))
    price = 3 * X[:, 0] - 2 * X[:, 1] + 5 + 0.05 * rng.standard_normal(80)
    rows = [[f"{p:.4f}", f"{a:.4f}", f"{g:.4f}"] for p, (a, g) in zip(price, X)]
    return write_csv(tmp_path_factory.mktemp("data") / "houses.csv",
                     ["price", "area", "age"], rows)


@pytest.fixture(scope="session")
def plane_csv(tmp_path_factory):
    """Two features, integer class labels 0/1 split by a circle."""
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(120, 2))
    label = (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(int)
    rows = [[f"{u:.4f}", f"{v:.4f}", c] for (u, v), c in zip(X, label)]
    return write_csv(tmp_path_factory.mktemp("data") / "plane.csv", ["u", "v", "inside"], rows)


@pytest.fixture(name="check_png")
def check_png_fixture():
    return check_png


def check_png(data: bytes):
    """A PNG that decodes, is not tiny, and is not one flat colour."""
    assert data.startswith(PNG_SIGNATURE)
    pixels = image.imread(io.BytesIO(data), format="png")
    height, width = pixels.shape[:2]
    assert height >= 200 and width >= 200
    rgba = np.ascontiguousarray((pixels[..., :3] * 255).astype(np.uint32))
    colours = np.unique(rgba[..., 0] << 16 | rgba[..., 1] << 8 | rgba[..., 2])
    assert len(colours) >= 20  # axes, text, curves or cells: more than a blank canvas
    ink = np.mean(pixels[..., :3] < 0.9)  # share of pixels that are not near-white
    assert 0.01 < ink < 0.95


@pytest.fixture(scope="session")
def penguin_run(tmp_path_factory):
    """(the CSV, the run folder) of `chainrule train` on a 200-row penguins table with every
    column kind and NA cells (tests/penguin_table.py)."""
    from penguin_table import penguins

    folder = tmp_path_factory.mktemp("penguins")
    path = folder / "penguins.csv"
    penguins(200).to_csv(path, index=False, na_rep="NA")
    out = folder / "run"
    code = main(["train", "--data", str(path), "--target", "species", "--epochs", "40",
                 "--hidden", "16", "--out", str(out), "-q", "--no-plots"])
    assert code == 0
    return path, out
