"""Minimizing plain functions with an optimizer, recording the path it takes, over the
classic test landscapes.

`minimize(fn, start, Adam, steps=500, lr=0.05)` runs any chainrule optimizer on a
differentiable function of a few coordinates and returns its Trajectory (every point and
loss). The landscapes below are the classic test functions of two coordinates, written with
plain arithmetic so they evaluate on numbers, NumPy grids (for contour plots) and Tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..engine.backend import xp
from ..engine.tensor import Tensor
from .sgd import SGD


@dataclass(frozen=True)
class Trajectory:
    """points: (steps + 1, n) coordinates from the start on; losses: fn at each point."""

    points: xp.ndarray
    losses: xp.ndarray

    @property
    def x(self) -> xp.ndarray:
        return self.points[-1]

    @property
    def loss(self) -> float:
        return float(self.losses[-1])


def minimize(fn, start, optimizer=SGD, steps=100, scheduler=None, **optimizer_kwargs):
    """Minimize fn(*coordinates) from `start` and record the trajectory.

    optimizer: an optimizer class (built over one float64 tensor of the coordinates with
    **optimizer_kwargs) or a callable params -> optimizer. scheduler: optional callable
    optimizer -> scheduler, stepped after every optimizer step.
    """
    point = Tensor(xp.array(start, dtype=xp.float64), requires_grad=True)
    opt = optimizer([point], **optimizer_kwargs)
    sched = scheduler(opt) if scheduler is not None else None
    points = xp.empty((steps + 1, point.size))
    losses = xp.empty(steps + 1)
    for t in range(steps + 1):
        opt.zero_grad()
        loss = fn(*(point[i] for i in range(point.size)))
        points[t], losses[t] = point.data, loss.item()
        if t == steps:
            break
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    return Trajectory(points, losses)


@dataclass(frozen=True)
class Landscape:
    """A function f(x, y) with its known minima (global first) and saddle points, a plotting
    window (bounds: (x range, y range)), a start point that shows its character, its formula
    (for a plot's title) and a learning rate that suits plain SGD on it."""

    name: str
    fn: Callable
    minima: tuple
    formula: str
    sgd_lr: float
    saddles: tuple = ()
    bounds: tuple = ((-2.0, 2.0), (-2.0, 2.0))
    start: tuple = (1.5, 1.5)

    def __call__(self, x, y):
        return self.fn(x, y)


def rosenbrock_fn(x, y, a=1.0, b=100.0):
    """(a − x)² + b (y − x²)²: a curved, flat-bottomed valley; minimum 0 at (a, a²)."""
    return (a - x) ** 2 + b * (y - x * x) ** 2


def bowl_fn(x, y):
    """½((x − 1)² + 10 (y + ½)²): a convex quadratic (condition number 10), minimum at (1, −½)."""
    return 0.5 * ((x - 1.0) ** 2 + 10.0 * (y + 0.5) ** 2)


def two_minima_fn(x, y):
    """x⁴ − 3x² + x + y²: a global minimum near x = −1.30 and a local one near x = 1.13."""
    return x**4 - 3.0 * x**2 + x + y**2


def saddle_fn(x, y):
    """x² + y⁴/4 − y²/2: a saddle at the origin between minima at (0, ±1)."""
    return x**2 + 0.25 * y**4 - 0.5 * y**2


def _two_minima_points():
    """Roots of 4x³ − 6x + 1 (where d/dx vanishes): global min, local min, saddle."""
    roots = xp.sort(xp.roots([4.0, 0.0, -6.0, 1.0]).real)
    return ((roots[0], 0.0), (roots[2], 0.0)), ((roots[1], 0.0),)


_TWO_MINIMA, _TWO_MINIMA_SADDLE = _two_minima_points()

rosenbrock = Landscape(
    "rosenbrock",
    rosenbrock_fn,
    minima=((1.0, 1.0),),
    formula="(1 − x)² + 100 (y − x²)²",
    sgd_lr=1e-3,
    bounds=((-2.0, 2.0), (-1.0, 3.0)),
    start=(-1.5, 2.0),
)
bowl = Landscape(
    "bowl",
    bowl_fn,
    minima=((1.0, -0.5),),
    formula="½((x − 1)² + 10 (y + ½)²), convex",
    sgd_lr=0.05,
    bounds=((-2.0, 3.0), (-2.0, 1.0)),
    start=(-1.5, 0.5),
)
two_minima = Landscape(
    "two_minima",
    two_minima_fn,
    minima=_TWO_MINIMA,
    formula="x⁴ − 3x² + x + y², a global and a local minimum",
    sgd_lr=0.02,
    saddles=_TWO_MINIMA_SADDLE,
    bounds=((-2.2, 2.2), (-1.5, 1.5)),
    start=(2.0, 1.0),
)
saddle = Landscape(
    "saddle",
    saddle_fn,
    minima=((0.0, 1.0), (0.0, -1.0)),
    formula="x² + ¼y⁴ − ½y², a saddle point at the origin",
    sgd_lr=0.05,
    saddles=((0.0, 0.0),),
    bounds=((-1.5, 1.5), (-1.5, 1.5)),
    start=(1.2, 1e-3),
)

LANDSCAPES = {f.name: f for f in (rosenbrock, bowl, two_minima, saddle)}
