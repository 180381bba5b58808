"""`chainrule landscape`: optimizer paths on each surface (PNG, GIF) and around a model."""

import numpy as np
import pytest
from PIL import Image

from chainrule.landscape import get_surface


def table(stdout):
    lines = stdout.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    return {line.split()[0]: line.split() for line in lines[start:] if not line.startswith("wrote")}


# bowl and saddle are drawn by the tests below.
@pytest.mark.parametrize("function", ["rosenbrock", "two-minima", "linreg"])
def test_each_surface_writes_its_plot(function, run_main, tmp_path, check_png):
    code, out, err = run_main("landscape", "--function", function, "--optimizers",
                              "sgd,momentum,adam", "--steps", "20", "--out", tmp_path)
    assert code == 0, err
    assert set(table(out)) == {"sgd", "momentum", "adam"}
    check_png((tmp_path / f"{function}.png").read_bytes())


def test_optimizers_descend_the_bowl(run_main, tmp_path, check_png):
    code, out, _ = run_main("landscape", "--function", "bowl", "--optimizers",
                            "sgd,momentum,nesterov,adagrad,rmsprop,adam", "--lr", "0.1",
                            "--steps", "200", "--start=-4,3", "--out", tmp_path)
    assert code == 0
    check_png((tmp_path / "bowl.png").read_bytes())
    rows = table(out)
    bowl = get_surface("bowl")
    start_loss = float(bowl(-4.0, 3.0))
    for name, (_, lr, steps, final, x, y, distance) in rows.items():
        assert float(lr) == 0.1 and int(steps) == 200
        assert float(final) < start_loss
        # the table's loss is the surface at the table's final point (rounded in the table)
        assert float(final) == pytest.approx(float(bowl(float(x), float(y))), rel=1e-3,
                                             abs=1e-3)
        minimum = np.array(bowl.minima[0])
        assert float(distance) == pytest.approx(
            np.hypot(*(np.array([float(x), float(y)]) - minimum)), rel=1e-3, abs=1e-3)
    assert float(rows["sgd"][3]) < 1e-6  # 200 steps of 0.1 on a convex quadratic converge


def test_animate_writes_a_gif(run_main, tmp_path, check_png):
    code, _, err = run_main("landscape", "--function", "saddle", "--optimizers", "sgd,adam",
                            "--steps", "12", "--animate", "--frames", "4", "--out", tmp_path)
    assert code == 0, err
    check_png((tmp_path / "saddle.png").read_bytes())
    with Image.open(tmp_path / "saddle.gif") as gif:
        assert gif.format == "GIF"
        assert gif.n_frames >= 3
        frames = []
        for i in (0, gif.n_frames - 1):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
    assert np.abs(frames[0] - frames[1]).sum() > 0  # the paths grow from frame to frame


def test_model_landscape_with_the_trajectory(trained_run, iris_csv, run_main, tmp_path,
                                             check_png):
    out, _ = trained_run
    code, stdout, err = run_main("landscape", "--model", out / "model.safetensors", "--data",
                                 iris_csv, "--resolution", "5", "--out", tmp_path)
    assert code == 0, err
    assert "trajectory of 16 snapshots" in stdout  # the start and each of 15 epochs
    check_png((tmp_path / "model_landscape.png").read_bytes())


@pytest.mark.parametrize("argv, words", [
    (["--optimizers", "sgd,lbfgs"], ["lbfgs"]),
    (["--lr", "0"], ["--lr"]),
    (["--steps", "0"], ["--steps"]),
    (["--data", "d.csv"], ["--data", "--model"]),
])
def test_bad_landscape_options(run_main, tmp_path, argv, words):
    code, _, err = run_main("landscape", *argv, "--out", tmp_path)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert all(word in err for word in words)
