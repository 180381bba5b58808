"""cr.viz: every plot is a valid, non-blank PNG; the numbers behind the plots are right."""

import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import viz

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    """A PNG that decodes, with real content (not one flat colour)."""
    from matplotlib.image import imread

    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    pixels = imread(path)[..., :3]
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
    assert pixels.std() > 0.05
    assert np.mean(pixels.min(axis=2) < 0.9) > 0.02  # enough non-white pixels
    return pixels


@pytest.fixture
def logs():
    return {"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.7, 0.5, 0.45],
            "accuracy": [0.5, 0.7, 0.8, 0.9], "val_accuracy": [0.4, 0.6, 0.75, 0.8],
            "lr": [0.1, 0.1, 0.05, 0.05], "time": [0.1] * 4}


def test_history_curves(tmp_path, logs):
    path = tmp_path / "curves.png"
    fig = viz.plot_history(logs, path=path)
    assert_png(path)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    train, val = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_ydata(), logs["loss"])
    np.testing.assert_array_equal(val.get_ydata(), logs["val_loss"])


def test_history_object_from_fit(tmp_path, rng):
    X = rng.standard_normal((64, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    model = cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))
    history = cr.fit(model, cr.nn.CrossEntropyLoss(), cr.optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=4, batch_size=16, validation_split=0.25, metrics=["accuracy"],
                     callbacks=[cr.callbacks.GradientMonitor()], verbose=0, seed=0)
    for plot, name in ((viz.plot_history, "h"), (viz.plot_learning_rate, "lr"),
                       (viz.plot_gradient_norms, "g")):
        plot(history, path=tmp_path / f"{name}.png")
        assert_png(tmp_path / f"{name}.png")
    viz.plot_decision_boundary(model, X, y, path=tmp_path / "boundary.png")
    assert_png(tmp_path / "boundary.png")
    predicted = cr.predict(model, X).argmax(axis=1)
    viz.plot_confusion_matrix(y, predicted, classes=["a", "b"], path=tmp_path / "cm.png")
    assert_png(tmp_path / "cm.png")
    # Straight from the model: the same counts as from its predictions.
    from sklearn.metrics import confusion_matrix

    fig = viz.plot_confusion_matrix(y, model=model, X=X, classes=["a", "b"])
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(),
                                  confusion_matrix(y, predicted, labels=[0, 1]))


def test_learning_rate_per_step(tmp_path):
    rates = [0.1 * 0.5 ** (step // 10) for step in range(50)]
    fig = viz.plot_learning_rate(rates, path=tmp_path / "lr.png")
    assert_png(tmp_path / "lr.png")
    assert fig.axes[0].get_xlabel() == "step"
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), rates)


def test_gradient_norms_log_scale(tmp_path):
    record = {"epoch": [0, 1, 2], "grad_norm": {"0.weight": [1e-2, 1e-5, 1e-9],
                                                "0.bias": [1.0, 1.0, 1.0],
                                                "2.weight": [1.0, 10.0, 1e3]}}
    fig = viz.plot_gradient_norms(record, path=tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["0.weight", "2.weight"]


def test_decision_boundary_colours_each_side(tmp_path):
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    fig = viz.plot_decision_boundary(lambda grid: grid[:, 0], X, y)  # a logit: class 1 iff x₁ > 0
    path = tmp_path / "b.png"
    viz.save_figure(fig, path)
    pixels = assert_png(path)
    ax = fig.axes[0]
    (x0, y0), (x1, y1) = ax.transData.transform([(-0.9, 0.5), (0.9, 0.5)])
    height = pixels.shape[0]
    left, right = pixels[int(height - y0), int(x0)], pixels[int(height - y1), int(x1)]
    assert np.abs(left - right).sum() > 0.2  # the two half-planes differ in colour


def test_confusion_matrix_counts_match_sklearn(tmp_path):
    from sklearn.metrics import confusion_matrix

    y_true = np.array(["cat", "dog", "dog", "bird", "cat", "dog"])
    y_pred = np.array(["cat", "cat", "dog", "bird", "dog", "dog"])
    counts, names = viz.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(counts, confusion_matrix(y_true, y_pred, labels=names))
    viz.plot_confusion_matrix(y_true, y_pred, normalize=True, path=tmp_path / "cm.png")
    assert_png(tmp_path / "cm.png")


def test_predicted_vs_actual(tmp_path, rng):
    y = rng.standard_normal(50)
    fig = viz.plot_predicted_vs_actual(y, y + 0.1 * rng.standard_normal(50),
                                       path=tmp_path / "pa.png")
    assert_png(tmp_path / "pa.png")
    assert "R² = 0.9" in fig.axes[0].get_title()
    # From a model (here a function of X) instead of its predictions.
    X = rng.standard_normal((40, 3))
    w = np.array([1.0, -2.0, 0.5])
    fig = viz.plot_predicted_vs_actual(X @ w + 0.3, model=lambda rows: rows @ w, X=X)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(),
                               np.column_stack([X @ w + 0.3, X @ w]))


@pytest.mark.parametrize("call, message", [
    (lambda: viz.plot_history({"loss": [1.0]}, metrics=["accuracy"]), "not logged"),
    (lambda: viz.plot_history({}), "nothing logged"),
    (lambda: viz.plot_learning_rate({"loss": [1.0]}), "no 'lr' logged"),
    (lambda: viz.plot_gradient_norms(cr.History()), "no gradient record"),
    (lambda: viz.plot_decision_boundary(abs, np.zeros((3, 3)), [0, 1, 0]), "needs 2 features"),
    (lambda: viz.plot_predicted_vs_actual([1.0, 2.0], [1.0]), "one length"),
    (lambda: viz.plot_predicted_vs_actual([1.0], model=abs), "or model= and X="),
    (lambda: viz.plot_confusion_matrix([1], [1], model=abs, X=[[1.0]]), "either y_pred"),
    (lambda: viz.confusion_matrix([0, 5], [0, 1], classes=["a", "b"]), "outside the 2"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(viz.VizError, match=message):
        call()


def test_failed_save_leaves_no_file(tmp_path, logs, monkeypatch):
    fig = viz.plot_history(logs)
    monkeypatch.setattr(viz.figure, "figure_to_png", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        viz.save_figure(fig, tmp_path / "x.png")
    assert os.listdir(tmp_path) == []


def test_no_pyplot_and_lazy_matplotlib():
    code = ("import sys, chainrule as cr; assert 'matplotlib' not in sys.modules; "
            "import chainrule.viz, chainrule.cli, chainrule.landscape, chainrule.explain; "
            "assert 'matplotlib' not in sys.modules; "  # imported, not yet plotting
            "cr.viz.plot_history({'loss': [1.0, 0.5]}); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_optimizer_paths_png_and_gif(tmp_path):
    from PIL import Image

    from chainrule import landscape

    surface = landscape.get_surface("rosenbrock")
    paths = landscape.optimizer_paths(surface, ["sgd", "momentum", "adam"], steps=30)
    fig = viz.plot_optimizer_paths(surface, paths, path=tmp_path / "paths.png")
    assert_png(tmp_path / "paths.png")
    contour_ax, loss_ax = fig.axes[:2]
    assert len(loss_ax.get_lines()) == 3 and loss_ax.get_yscale() == "log"
    np.testing.assert_array_equal(loss_ax.get_lines()[2].get_ydata(), paths["adam"].losses)
    viz.animate_optimizer_paths(surface, paths, tmp_path / "paths.gif", frames=4, resolution=40)
    with open(tmp_path / "paths.gif", "rb") as f:
        assert f.read(6) == b"GIF89a"
    with Image.open(tmp_path / "paths.gif") as gif:
        assert gif.n_frames == 4
        first = np.asarray(gif.convert("RGB"), dtype=float)
        gif.seek(3)
        last = np.asarray(gif.convert("RGB"), dtype=float)
    assert first.std() > 10 and np.abs(first - last).mean() > 0  # the paths grow
    assert sorted(os.listdir(tmp_path)) == ["paths.gif", "paths.png"]  # no temporary left


def test_model_landscape_png(tmp_path, rng):
    from chainrule import landscape

    X = rng.standard_normal((32, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = cr.nn.Sequential(cr.nn.Linear(2, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    recorder = landscape.TrajectoryRecorder()
    loss_fn = cr.nn.CrossEntropyLoss()
    cr.fit(model, loss_fn, cr.optim.SGD(model.parameters(), lr=0.5), X, y, epochs=4,
           batch_size=8, callbacks=[recorder], verbose=0, seed=0)
    around = landscape.model_landscape(model, loss_fn, X, y, resolution=9, seed=0)
    along = landscape.model_landscape(model, loss_fn, X, y, trajectory=recorder.snapshots,
                                      resolution=9)
    fig = viz.plot_model_landscape(around, along, path=tmp_path / "landscape.png")
    assert_png(tmp_path / "landscape.png")
    assert "PC 1" in fig.axes[1].get_xlabel()


def test_step_recorder_keeps_each_steps_rate_and_gradient_norms(tmp_path, rng):
    import torch

    X = rng.standard_normal((24, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    model = cr.nn.Sequential(cr.nn.Linear(2, 5), cr.nn.Tanh(), cr.nn.Linear(5, 2)).double()
    initial = {name: torch.tensor(p.data.copy(), requires_grad=True)
               for name, p in model.named_parameters()}
    steps = viz.StepRecorder()
    halve = cr.callbacks.LearningRateScheduler(lambda step: 0.1 * 0.5 ** step, per="step")
    cr.fit(model, cr.nn.CrossEntropyLoss(), cr.optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=2, batch_size=8, shuffle=False, clip_grad_norm=1e-3,
           callbacks=[halve, steps], verbose=0)
    assert steps.step == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(steps.lr, [0.1 * 0.5 ** k for k in range(6)], rtol=1e-15)
    # The first step's norms, recomputed by torch from the initial weights, before clipping.
    W1, b1, W2, b2 = initial.values()
    logits = torch.tanh(torch.tensor(X[:8]) @ W1.T + b1) @ W2.T + b2
    torch.nn.functional.cross_entropy(logits, torch.tensor(y[:8])).backward()
    for name, tensor in initial.items():
        assert steps.grad_norm[name][0] == pytest.approx(tensor.grad.norm().item(), rel=1e-10)
        assert steps.grad_norm[name][0] > 1e-3 and len(steps.grad_norm[name]) == 6
    fig = viz.plot_learning_rate(steps, path=tmp_path / "lr.png")
    assert_png(tmp_path / "lr.png")
    assert fig.axes[0].get_xlabel() == "step"
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), steps.step)
    fig = viz.plot_gradient_norms(steps, path=tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    assert [line.get_label() for line in ax.get_lines()] == ["0.weight", "2.weight"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), steps.grad_norm["2.weight"])


def test_step_recorder_norms_are_each_squares_root_whatever_the_mix():
    """The batched square roots equal np.sqrt of each step's squares, for float32 and float64
    parameters, a parameter without a gradient at some steps, one that appears later, and a
    change of parameter list."""

    class State:
        def __init__(self, step, params, squares):
            self.step, self.params, self._squares, self.lr = step, params, squares, 0.1

        def gradient_squares(self):
            return self._squares

    rng = np.random.default_rng(0)
    first = [("a", None), ("b", None)]
    second = [("a", None), ("b", None), ("c", None)]
    rows = [(first, [np.float32(rng.random()), np.float32(rng.random())]) for _ in range(3)]
    rows += [(first, [np.float32(rng.random()), None])]
    rows += [(first, [np.float32(rng.random()), np.float64(rng.random())])]
    rows += [(second, [np.float64(rng.random()) for _ in range(3)]) for _ in range(2)]
    rows += [(second, [np.float64(rng.random()), None, np.float64(rng.random())])]
    rows += [(second, [rng.random() * 1e3 for _ in range(3)]) for _ in range(3)]  # floats
    steps = viz.StepRecorder()
    expected: dict = {}
    for i, (params, squares) in enumerate(rows):
        steps.on_after_backward(State(i, params, squares))
        for (name, _), square in zip(params, squares):
            if square is not None:  # NaN at the steps without this gradient
                series = expected.setdefault(name, [])
                series += [float("nan")] * (i - len(series)) + [float(np.sqrt(square))]
    for series in expected.values():
        series += [float("nan")] * (len(rows) - len(series))
    assert steps.grad_norm.keys() == expected.keys()
    for name, norms in expected.items():
        np.testing.assert_array_equal(steps.grad_norm[name], norms)
    assert steps.step == list(range(1, len(rows) + 1))


def test_step_recorder_takes_the_square_roots_of_python_floats_at_once():
    """gradient_squares gives Python floats: a run of steps is one np.sqrt, not one each."""
    from chainrule.viz.steps import _square_roots

    roots = _square_roots([[1.0, 4.0], [9.0, 2.0]])
    assert roots is not None
    np.testing.assert_array_equal(roots, [[1.0, 2.0], [3.0, np.sqrt(2.0)]])
    assert _square_roots([[1.0, np.float32(4.0)]]) is None  # a mix: one at a time


def test_step_recorder_checkpoint_state_equals_its_lists_read_before_or_after():
    """state_dict (a checkpoint) turns pending steps into arrays without making the lists;
    the lists read afterwards, and a second state_dict, hold the same numbers, across
    several checkpoints, a parameter that appears later and one without a gradient."""

    class State:
        def __init__(self, step, params, squares, lr):
            self.step, self.params, self._squares, self.lr = step, params, squares, lr

        def gradient_squares(self):
            return self._squares

    rng = np.random.default_rng(1)
    first, second = [("a", None)], [("a", None), ("b", None)]
    rows = [(first, [np.float32(rng.random())]) for _ in range(3)]
    rows += [(second, [np.float32(rng.random()), None])]
    rows += [(second, [np.float32(rng.random()), np.float32(rng.random())]) for _ in range(2)]
    recorded, reference = viz.StepRecorder(), viz.StepRecorder()
    states = []
    for i, (params, squares) in enumerate(rows):
        for recorder in (recorded, reference):
            recorder.on_after_backward(State(i, params, squares, 0.1 / (i + 1)))
        if i in (1, 4):  # checkpoints in the middle of the run
            states.append(recorded.state_dict())
    states.append(recorded.state_dict())
    lists = (reference.step, reference.lr, reference.grad_norm)  # read at once: settled
    assert recorded.step == lists[0] == list(range(1, 7))
    assert recorded.lr == lists[1]
    assert recorded.grad_norm.keys() == lists[2].keys() == {"a", "b"}
    for name, norms in lists[2].items():
        np.testing.assert_array_equal(recorded.grad_norm[name], norms)
    assert np.isnan(lists[2]["b"][:4]).all() and not np.isnan(lists[2]["b"][4:]).any()
    final = recorded.state_dict()
    for state in (states[-1], final):
        np.testing.assert_array_equal(state["step"], lists[0])
        assert state["step"].dtype == np.int64 and state["lr"].dtype == np.float64
        np.testing.assert_array_equal(state["lr"], lists[1])
        for name, norms in lists[2].items():
            np.testing.assert_array_equal(state["grad_norm"][name], norms)
    np.testing.assert_array_equal(states[0]["step"], [1, 2])
    assert set(states[1]["grad_norm"]) == {"a", "b"} and len(states[1]["lr"]) == 5
    restored = viz.StepRecorder()
    restored.load_state_dict(final)
    assert restored.step == lists[0] and restored.lr == lists[1]
