"""`chainrule landscape`: optimizers' paths over a 2-D loss surface, or the loss around a
trained model's weights.

With --function: a contour plot of the surface with each optimizer's path from one start,
and the loss against the step (PNG; --animate adds a GIF). With --model and --data: the
loss along two filter-normalized random directions around the trained weights (Li et al.,
2018) and, when the run folder kept its trajectory, on the trajectory's PCA plane.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from ..optim.registry import OPTIMIZERS
from .options import OptionError, add_command, check_choices, check_range, name_list
from .table import format_table

# Command-line names -> chainrule.landscape's surface names.
FUNCTIONS = {
    "rosenbrock": "rosenbrock",
    "bowl": "bowl",
    "two-minima": "two_minima",
    "saddle": "saddle",
    "linreg": "linear_regression",
}

EXAMPLES = """\
examples:
  chainrule landscape --function rosenbrock --optimizers sgd,momentum,adam --lr 0.002 --steps 500
  chainrule landscape --function two-minima --animate --out runs/landscape
  chainrule landscape --model runs/latest/model.safetensors --data train.csv
  chainrule landscape --model runs/latest     a model of `chainrule train --dataset ...`
"""


def add_parser(commands):
    parser = add_command(
        commands,
        "landscape",
        __doc__,
        EXAMPLES,
        "optimizer paths on a loss surface, or the loss around a model",
    )
    surface = parser.add_argument_group("optimizer paths on a surface")
    surface.add_argument(
        "--function", choices=list(FUNCTIONS), default="rosenbrock", help="the surface (rosenbrock)"
    )
    surface.add_argument(
        "--optimizers",
        type=name_list,
        metavar="NAMES",
        default=["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"],
        help="comma-separated: " + ",".join(OPTIMIZERS),
    )
    surface.add_argument(
        "--lr", type=float, help="one learning rate for all (default: one that suits SGD there)"
    )
    surface.add_argument("--steps", type=int, default=300, help="steps per optimizer (300)")
    surface.add_argument(
        "--start",
        type=_point,
        metavar="X,Y",
        help="the common starting point, e.g. --start=-1.5,2 (default: the surface's)",
    )
    surface.add_argument("--animate", action="store_true", help="also write an animated GIF")
    surface.add_argument("--frames", type=int, default=60, help="frames of the GIF (60)")
    model = parser.add_argument_group("the loss around a trained model")
    model.add_argument("--model", metavar="FILE", help="a model written by `chainrule train`")
    model.add_argument(
        "--data",
        metavar="FILE.csv",
        help="labelled rows to compute the loss on (default: for a model "
        "trained with --dataset NAME, its training rows)",
    )
    model.add_argument("--resolution", type=int, default=21, help="grid points per axis (21)")
    model.add_argument(
        "--span",
        type=float,
        default=1.0,
        help="the random directions' range, α, β ∈ [−SPAN, SPAN] (1.0)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random draws (0)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=os.path.join("runs", "landscape"),
        help="where the images go (runs/landscape)",
    )
    parser.set_defaults(run=run_command)
    return parser


def _point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a point X,Y such as -1.5,2, got {text!r}"
        ) from None
    return x, y


def run_command(args) -> int:
    if args.data is not None and args.model is None:
        raise OptionError("--data needs --model (the loss around a trained model)")
    os.makedirs(args.out, exist_ok=True)
    return model_landscape(args) if args.model else surface_paths(args)


def surface_paths(args) -> int:
    from ..landscape import get_surface, optimizer_paths
    from ..viz.landscape import animate_optimizer_paths, plot_optimizer_paths

    check_choices("--optimizers", args.optimizers, OPTIMIZERS)
    check_range("--lr", args.lr, above=0)
    check_range("--steps", args.steps, at_least=1)
    check_range("--frames", args.frames, at_least=2)
    surface = get_surface(FUNCTIONS[args.function], seed=args.seed)
    paths = optimizer_paths(
        surface, args.optimizers, lr=args.lr, steps=args.steps, start=args.start
    )
    print(f"{surface.name}: {surface.formula}; global minimum at {surface.minima[0]}")
    print(
        format_table(
            ["optimizer", "lr", "steps", "final loss", "x", "y", "to minimum"],
            [_path_row(name, p, surface) for name, p in paths.items()],
        )
    )
    written = [os.path.join(args.out, f"{args.function}.png")]
    plot_optimizer_paths(surface, paths, path=written[0])
    if args.animate:
        written.append(os.path.join(args.out, f"{args.function}.gif"))
        animate_optimizer_paths(surface, paths, written[1], frames=args.frames)
    print(f"wrote {', '.join(written)}")
    return 0


def _path_row(name, path, surface):
    x, y = (float(v) for v in path.points[-1])
    distance = float(np.hypot(x - surface.minima[0][0], y - surface.minima[0][1]))
    final = "diverged" if path.diverged else float(path.losses[-1])
    return [name, path.lr, len(path.points) - 1, final, x, y, distance]


def model_landscape(args) -> int:
    from ..landscape import model_landscape as landscape_around
    from ..viz.landscape import plot_model_landscape
    from .trained import TrainedModel, loss_function
    from .trajectory import TRAJECTORY_FILE, load_trajectory

    check_range("--resolution", args.resolution, at_least=3)
    check_range("--span", args.span, above=0)
    trained = TrainedModel.load(args.model)
    X, y = trained.read(args.data, split="train")
    if trained.task == "regression" and y.ndim == 1:
        y = y.reshape(-1, 1)  # the model's single output column
    loss_fn = loss_function(trained.task)
    landscapes = [
        landscape_around(
            trained.model, loss_fn, X, y, resolution=args.resolution, span=args.span, seed=args.seed
        )
    ]
    trajectory = os.path.join(os.path.dirname(trained.path), TRAJECTORY_FILE)
    if os.path.exists(trajectory):
        landscapes.append(
            landscape_around(
                trained.model,
                loss_fn,
                X,
                y,
                trajectory=load_trajectory(trajectory),
                resolution=args.resolution,
            )
        )
    path = os.path.join(args.out, "model_landscape.png")
    plot_model_landscape(*landscapes, path=path)
    centre = landscapes[0].loss[args.resolution // 2, args.resolution // 2]
    print(
        f"loss at the trained weights {centre:.6g}; over the random-direction plane "
        f"{np.nanmin(landscapes[0].loss):.6g} to {np.nanmax(landscapes[0].loss):.6g}"
    )
    if len(landscapes) == 2:
        print(
            f"trajectory of {len(landscapes[1].path)} snapshots on its PCA plane "
            f"({100 * landscapes[1].explained_variance.sum():.1f}% of its variance)"
        )
    print(f"wrote {path}")
    return 0
