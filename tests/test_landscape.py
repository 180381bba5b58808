"""Landscapes: surfaces, optimizer paths (against torch.optim), filter-normalized
directions and the trajectory's PCA plane."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import landscape
from chainrule.engine import random as engine_random
from chainrule.landscape import LandscapeError, get_surface, optimizer_paths

ALL = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
TORCH = {"sgd": (torch.optim.SGD, {}), "momentum": (torch.optim.SGD, {"momentum": 0.9}),
         "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
         "adagrad": (torch.optim.Adagrad, {}), "rmsprop": (torch.optim.RMSprop, {}),
         "adam": (torch.optim.Adam, {})}


def test_paths_descend_on_the_convex_bowl():
    bowl = get_surface("bowl")
    paths = optimizer_paths(bowl, ALL, lr={"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05,
                                           "adagrad": 1.0, "rmsprop": 0.05, "adam": 0.2},
                            steps=200)
    minimum = np.array(bowl.minima[0])
    start_distance = np.linalg.norm(np.subtract(bowl.start, minimum))
    for name, path in paths.items():
        assert path.points.shape == (201, 2) and path.losses.shape == (201,)
        assert not path.diverged
        assert path.losses[-1] < 1e-2 * path.losses[0], name
        assert np.linalg.norm(path.points[-1] - minimum) < 0.1 * start_distance, name
    assert np.all(np.diff(paths["sgd"].losses) < 0)  # plain GD with η < 2/L never climbs


@pytest.mark.parametrize("name", ALL)
def test_paths_match_torch_optim(name):
    surface = get_surface("rosenbrock")
    path = optimizer_paths(surface, [name], lr=1e-3, steps=50)[name]
    point = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    cls, kwargs = TORCH[name]
    optimizer = cls([point], lr=1e-3, **kwargs)
    expected = [point.detach().clone()]
    for _ in range(50):
        optimizer.zero_grad()
        surface(point[0], point[1]).backward()
        optimizer.step()
        expected.append(point.detach().clone())
    np.testing.assert_allclose(path.points, torch.stack(expected).numpy(), rtol=1e-7, atol=1e-12)


def _gradient(surface, x, y):
    point = cr.tensor(np.array([x, y]), requires_grad=True)
    surface(point[0], point[1]).backward()
    return point.grad


@pytest.mark.parametrize("name", landscape.SURFACES)
def test_listed_minima_are_stationary_and_lowest(name):
    surface = get_surface(name, seed=0)
    for x, y in surface.minima:
        np.testing.assert_allclose(_gradient(surface, x, y), 0.0, atol=1e-9)
    X, Y, Z = surface.grid(101)
    assert Z.min() >= surface(*surface.minima[0]) - 1e-12
    (x0, x1), (y0, y1) = surface.bounds
    assert x0 < surface.start[0] < x1 and y0 < surface.start[1] < y1


def test_two_minima_has_a_lower_global_one():
    surface = get_surface("two_minima")
    (gx, gy), (lx, ly) = surface.minima
    assert surface(gx, gy) < surface(lx, ly) and gx < 0 < lx


def test_linear_regression_surface_is_the_mse_of_its_data():
    surface = get_surface("linear_regression", seed=3)
    x, y = surface.notes["x"], surface.notes["y"]
    w, b = 0.7, -1.3
    np.testing.assert_allclose(surface(w, b), np.mean((w * x + b - y) ** 2), rtol=1e-12)
    solution, *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
    np.testing.assert_allclose(surface.minima[0], solution, rtol=1e-9)


def test_a_diverging_path_is_flagged_and_cut():
    path = optimizer_paths(get_surface("rosenbrock"), ["sgd"], lr=0.5, steps=100)["sgd"]
    assert path.diverged and len(path.points) < 101
    assert len(path.points) == len(path.losses) and np.all(np.isfinite(path.losses))


@pytest.mark.parametrize("call, message", [
    (lambda: get_surface("himmelblau"), "unknown surface"),
    (lambda: optimizer_paths(get_surface("bowl"), ["lbfgs"]), "unknown optimizer"),
    (lambda: optimizer_paths(get_surface("bowl"), ["sgd"], steps=0), "steps must be"),
    (lambda: optimizer_paths(get_surface("bowl"), ["sgd"], lr=-1.0), "must be > 0"),
    (lambda: optimizer_paths(get_surface("bowl"), ["sgd"], start=(1.0,)), "start must be"),
])
def test_bad_settings_are_named(call, message):
    with pytest.raises(LandscapeError, match=message):
        call()


def test_filter_normalization_matches_each_filter_norm(rng):
    weights = [rng.standard_normal((5, 3)), rng.standard_normal(5),
               rng.standard_normal((2, 5)) * 10, rng.standard_normal((4, 2, 3))]
    direction = landscape.filter_normalized_direction(weights, rng)
    for w, d in zip(weights, direction):
        assert d.shape == w.shape
        if w.ndim == 1:
            assert not d.any()  # biases are left still, as in Li et al.
            continue
        for w_filter, d_filter in zip(w, d):
            np.testing.assert_allclose(np.linalg.norm(d_filter), np.linalg.norm(w_filter),
                                       rtol=1e-12)
    bias = landscape.filter_normalized_direction(weights, rng, include_1d=True)[1]
    np.testing.assert_allclose(np.linalg.norm(bias), np.linalg.norm(weights[1]), rtol=1e-12)


def test_pca_reconstructs_a_trajectory_in_a_plane(rng):
    final = [rng.standard_normal((3, 4)), rng.standard_normal(3)]
    u, v = rng.standard_normal(15), rng.standard_normal(15)
    coords = rng.standard_normal((12, 2))
    coords[-1] = 0.0  # the trajectory ends at the final weights
    flat_final = np.concatenate([a.ravel() for a in final])
    snapshots = []
    for a, b in coords:
        flat = flat_final + a * u + b * v
        snapshots.append([flat[:12].reshape(3, 4), flat[12:]])
    d1, d2, projected, explained = landscape.trajectory_pca(snapshots)
    basis = np.stack([np.concatenate([p.ravel() for p in d]) for d in (d1, d2)])
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    rebuilt = flat_final + projected @ basis
    np.testing.assert_allclose(rebuilt, [np.concatenate([p.ravel() for p in s])
                                         for s in snapshots], atol=1e-10)
    np.testing.assert_allclose(explained.sum(), 1.0, rtol=1e-10)
    np.testing.assert_allclose(projected[-1], 0.0, atol=1e-12)


@pytest.fixture
def trained(rng):
    X = rng.standard_normal((64, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = cr.nn.Sequential(cr.nn.Linear(2, 6), cr.nn.Tanh(), cr.nn.Linear(6, 2))
    recorder = landscape.TrajectoryRecorder()
    loss_fn = cr.nn.CrossEntropyLoss()
    cr.fit(model, loss_fn, cr.optim.SGD(model.parameters(), lr=0.3), X, y, epochs=6,
           batch_size=16, callbacks=[recorder], verbose=0, seed=0)
    return model, loss_fn, X, y, recorder


def test_model_landscape_random_directions(trained):
    model, loss_fn, X, y, _ = trained
    before = [p.data.copy() for p in model.parameters()]
    model.train()
    result = landscape.model_landscape(model, loss_fn, X, y, resolution=7, span=0.5, seed=0)
    assert result.loss.shape == (7, 7) and model.training
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)  # weights restored
    with cr.no_grad():
        centre = loss_fn(model(cr.tensor(X)), cr.tensor(y)).item()
    np.testing.assert_allclose(result.loss[3, 3], centre, rtol=1e-6)
    assert result.loss.min() >= 0 and result.loss.max() > centre


def test_model_landscape_along_the_trajectory(trained):
    model, loss_fn, X, y, recorder = trained
    assert len(recorder.snapshots) == 7  # the start and each of 6 epochs
    result = landscape.model_landscape(model, loss_fn, X, y, trajectory=recorder.snapshots,
                                       resolution=5)
    assert result.path.shape == (7, 2) and result.loss.shape == (5, 5)
    np.testing.assert_allclose(result.path[-1], 0.0, atol=1e-6)
    assert result.path_loss[-1] < result.path_loss[0]  # training lowered the loss
    assert result.alphas.min() < result.path[:, 0].min() and result.betas.max() > \
        result.path[:, 1].max()


def test_a_seeded_landscape_leaves_chainrule_generator_alone(trained):
    model, loss_fn, X, y, _ = trained
    generator = cr.manual_seed(5)
    state = generator.bit_generator.state
    first = get_surface("linear_regression", seed=1).notes["x"]
    landscape.model_landscape(model, loss_fn, X, y, resolution=3, seed=1)
    assert engine_random.generator() is generator  # not replaced, as manual_seed would
    assert generator.bit_generator.state == state  # and not drawn from
    np.testing.assert_array_equal(get_surface("linear_regression", seed=1).notes["x"], first)
