"""`chainrule gradcheck` on a trained model: every parameter in the table; a wrong VJP fails."""

import numpy as np

import chainrule as cr
from chainrule.io import load_state_dict


def table_rows(stdout):
    lines = stdout.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    return {line.split()[0]: line.split() for line in lines[start:]}


def test_every_parameter_is_checked_and_passes(trained_run, iris_csv, run_cli):
    out, _ = trained_run
    result = run_cli("gradcheck", "--model", out / "model.safetensors", "--data", iris_csv)
    assert result.returncode == 0, result.stderr
    assert "the loss" in result.stdout
    rows = table_rows(result.stdout)
    state = load_state_dict(out / "model.safetensors")
    assert set(rows) == set(state)
    for name, (_, shape, mode, abs_err, rel_err, ok) in rows.items():
        assert shape == "x".join(map(str, state[name].shape))
        assert mode == "full" and ok == "yes"
        assert float(abs_err) < 1e-7


def test_projections_for_large_parameters(trained_run, iris_csv, run_main):
    out, _ = trained_run
    code, stdout, _ = run_main("gradcheck", "--model", out, "--data", iris_csv, "--max-full",
                               "10", "--rows", "4")
    assert code == 0
    rows = table_rows(stdout)
    assert rows["0.weight"][2] == "projection"  # 8x4 = 32 elements > 10
    assert rows["2.bias"][2] == "full"  # 3 elements


def test_a_wrong_gradient_is_caught(trained_run, iris_csv, run_main, monkeypatch):
    out, _ = trained_run
    relu = cr.REGISTRY["relu"]
    right = relu._vjp
    monkeypatch.setattr(relu, "_vjp", lambda g, out, x: tuple(1.5 * v for v in right(g, out, x)))
    code, stdout, err = run_main("gradcheck", "--model", out, "--data", iris_csv)
    assert code == 1
    rows = table_rows(stdout)
    # Only the parameters before the ReLU see its gradient.
    assert rows["0.weight"][-1] == "NO" and rows["0.bias"][-1] == "NO"
    assert rows["2.weight"][-1] == "yes" and rows["2.bias"][-1] == "yes"
    [line] = err.strip().splitlines()
    assert "0.weight" in line and "central differences" in line


def test_without_a_target_column_the_outputs_are_checked(trained_run, tmp_path, run_main):
    out, _ = trained_run
    path = tmp_path / "features.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(",".join(f"{v:.3f}" for v in x) for x in rng.normal(5, 1, (6, 4)))
    path.write_text("petal_width,petal_length,sepal_width,sepal_length\n" + rows + "\n")
    code, stdout, _ = run_main("gradcheck", "--model", out, "--data", path)
    assert code == 0
    assert "sum of the outputs" in stdout and "on 6 rows" in stdout
