"""Every optimizer reaches the minimum of a convex quadratic and of Rosenbrock; the test
landscapes have the critical points they claim; trajectories are recorded."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim.landscapes import (LANDSCAPES, bowl, minimize, rosenbrock, saddle,
                                      two_minima)

# (optimizer, options, steps, tolerance on ‖x − x*‖)
BOWL = [
    ("SGD", dict(lr=0.15), 300, 1e-8),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), 300, 1e-8),
    ("Adagrad", dict(lr=0.5), 300, 1e-8),
    ("RMSprop", dict(lr=0.01, alpha=0.9), 400, 1e-8),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True), 400, 1e-6),
    ("Adam", dict(lr=0.05), 400, 1e-6),
    ("AdamW", dict(lr=0.05, weight_decay=0.0, amsgrad=True), 400, 1e-6),
]
# from the classic start (−1.2, 1) through the curved valley; Adagrad's shrinking steps make
# it the slowest there.
ROSENBROCK = [
    ("SGD", dict(lr=1.5e-3, momentum=0.95), 1500, 1e-6),
    ("Adagrad", dict(lr=1.5), 4000, 2e-2),
    ("RMSprop", dict(lr=5e-4, momentum=0.9), 1500, 1e-3),
    ("Adam", dict(lr=0.05), 1500, 1e-2),
    ("AdamW", dict(lr=0.05, weight_decay=1e-5), 1500, 1e-2),
]


def ids(cases):
    return [f"{name}-{kw}" for name, kw, *_ in cases]


@pytest.mark.parametrize("name, kwargs, steps, tol", BOWL, ids=ids(BOWL))
def test_reaches_the_minimum_of_a_quadratic_bowl(name, kwargs, steps, tol):
    path = minimize(bowl, bowl.start, getattr(optim, name), steps=steps, **kwargs)
    assert np.linalg.norm(path.x - bowl.minima[0]) < tol
    assert path.loss < 1e-10


@pytest.mark.parametrize("name, kwargs, steps, tol", ROSENBROCK, ids=ids(ROSENBROCK))
def test_reaches_the_minimum_of_rosenbrock(name, kwargs, steps, tol):
    path = minimize(rosenbrock, (-1.2, 1.0), getattr(optim, name), steps=steps, **kwargs)
    assert np.linalg.norm(path.x - rosenbrock.minima[0]) < tol
    assert path.loss < path.losses[0] * 1e-3


def test_trajectory_records_every_point_and_loss():
    path = minimize(bowl, (0.0, 0.0), optim.SGD, steps=10, lr=0.01)
    assert path.points.shape == (11, 2) and path.losses.shape == (11,)
    np.testing.assert_array_equal(path.points[0], [0.0, 0.0])
    np.testing.assert_allclose(path.losses, [bowl(x, y) for x, y in path.points], rtol=1e-12)
    # one SGD step by hand: θ − η ∇f, ∇f(0, 0) = (x − 1, 10 (y + ½)) = (−1, 5)
    np.testing.assert_allclose(path.points[1], [0.01, -0.05], rtol=1e-12)


def test_a_scheduler_can_drive_the_minimization():
    path = minimize(bowl, bowl.start, optim.SGD, steps=50, lr=0.1,
                    scheduler=lambda opt: optim.lr_scheduler.StepLR(opt, 10, 0.0))
    # lr is 0 from step 10 on, so the path stops moving
    np.testing.assert_array_equal(path.points[10], path.points[-1])
    assert not np.array_equal(path.points[9], path.points[10])


@pytest.mark.parametrize("landscape", LANDSCAPES.values(), ids=list(LANDSCAPES))
def test_critical_points_have_zero_gradient(landscape):
    for point in (*landscape.minima, *landscape.saddles):
        x = cr.tensor(float(point[0]), requires_grad=True, dtype=np.float64)
        y = cr.tensor(float(point[1]), requires_grad=True, dtype=np.float64)
        landscape(x, y).backward()
        np.testing.assert_allclose([x.grad, y.grad], 0.0, atol=1e-12)
    (x0, x1), (y0, y1) = landscape.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 41), np.linspace(y0, y1, 41))
    grid = landscape(X, Y)  # plain NumPy grids work, for contour plots
    assert grid.shape == (41, 41)
    assert grid.min() >= landscape(*landscape.minima[0]) - 1e-12


def test_gradient_descent_lands_in_the_basin_it_starts_in():
    (global_min, local_min) = two_minima.minima
    right = minimize(two_minima, two_minima.start, optim.SGD, steps=300, lr=0.05)
    left = minimize(two_minima, (-2.0, 1.0), optim.SGD, steps=300, lr=0.05)
    np.testing.assert_allclose(right.x, local_min, atol=1e-6)
    np.testing.assert_allclose(left.x, global_min, atol=1e-6)
    assert left.loss < right.loss


def test_gradient_descent_escapes_the_saddle_slowly():
    path = minimize(saddle, saddle.start, optim.SGD, steps=400, lr=0.05)
    near_saddle = np.linalg.norm(path.points - saddle.saddles[0], axis=1) < 0.05
    assert near_saddle.sum() > 20  # it lingers where the gradient vanishes
    np.testing.assert_allclose(path.x, saddle.minima[0], atol=1e-4)


def test_sgd_momentum_is_the_texts_velocity_form():
    """v := βv − η∇J, θ := θ + v (by hand) is SGD(momentum=β)'s trajectory at constant η."""
    lr, beta = 0.02, 0.9
    path = minimize(bowl, bowl.start, optim.SGD, steps=60, lr=lr, momentum=beta)
    theta, velocity = np.array(bowl.start), np.zeros(2)
    for t in range(60):
        np.testing.assert_allclose(path.points[t], theta, rtol=1e-12, atol=1e-14)
        grad = np.array([theta[0] - 1.0, 10.0 * (theta[1] + 0.5)])  # ∇ of the bowl
        velocity = beta * velocity - lr * grad
        theta = theta + velocity
    np.testing.assert_allclose(path.points[60], theta, rtol=1e-12, atol=1e-14)
