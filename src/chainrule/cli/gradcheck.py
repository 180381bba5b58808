"""`chainrule gradcheck`: a trained model's autodiff gradients against central differences.

Every parameter is checked, in float64 on a copy of the model in eval mode: element by
element up to --max-full elements, by random projections above that. The function checked
is the training loss on the rows of --data (the sum of the outputs when the file has no
target column). Exits with 1 when a parameter fails.
"""

from __future__ import annotations

import numpy as np

from .options import OptionError, add_command, check_range
from .predict import add_model_and_data
from .table import format_table

EXAMPLES = """\
examples:
  chainrule gradcheck --model runs/latest/model.safetensors --data train.csv
  chainrule gradcheck --model runs/latest --data train.csv --rows 8 --max-full 100000
"""


def add_parser(commands):
    parser = add_command(
        commands,
        "gradcheck",
        __doc__,
        EXAMPLES,
        "check a model's gradients against central differences",
    )
    add_model_and_data(
        parser, "rows to evaluate the loss on (with the target column)", required=False
    )
    parser.add_argument(
        "--rows", type=int, default=16, help="use the first ROWS rows of --data (16)"
    )
    parser.add_argument(
        "--max-full",
        type=int,
        default=20000,
        metavar="N",
        help="parameters with up to N elements are checked element by "
        "element, larger ones by random projections (20000)",
    )
    parser.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    parser.set_defaults(run=run_command)
    return parser


def parameter_slots(model):
    """(module owning it, attribute name, dotted name) of each parameter."""
    modules = dict(model.named_modules())
    for name, _ in model.named_parameters():
        owner, _, attribute = name.rpartition(".")
        yield modules[owner], attribute, name


def function_of_parameters(model, slots, objective):
    """f(*parameter tensors) = objective(model with those tensors in place of its own)."""

    def f(*tensors):
        originals = [getattr(module, attribute) for module, attribute, _ in slots]
        for (module, attribute, _), tensor in zip(slots, tensors):
            setattr(module, attribute, tensor)
        try:
            return objective(model)
        finally:
            for (module, attribute, _), original in zip(slots, originals):
                setattr(module, attribute, original)

    return f


def objective_for(trained, X, y):
    from ..engine.tensor import Tensor
    from ..train.inference import to_target
    from .trained import loss_function

    inputs = Tensor(X.astype(np.float64))
    if y is None:
        return lambda model: model(inputs).sum()
    loss_fn = loss_function(trained.task)

    def loss(model):
        out = model(inputs)
        return loss_fn(out, to_target(y, out))

    return loss


def run_command(args) -> int:
    from ..gradcheck import gradcheck
    from .trained import TrainedModel

    check_range("--rows", args.rows, at_least=1)
    check_range("--eps", args.eps, above=0)
    trained = TrainedModel.load(args.model)
    has_target = args.data is None or trained.preprocessor.target in _header(args.data)
    X, y = trained.read(args.data, with_target=has_target)
    X, y = X[: args.rows], None if y is None else y[: args.rows]
    model = trained.model.double().eval()
    slots = list(parameter_slots(model))
    params = list(model.parameters())
    function = function_of_parameters(model, slots, objective_for(trained, X, y))
    result = gradcheck(function, *params, eps=args.eps, full_limit=args.max_full)
    what = "the loss" if has_target else "the sum of the outputs (no target column)"
    print(f"gradcheck of {what} on {len(X)} rows, float64, central differences (ε = {args.eps:g})")
    rows = [
        [
            name,
            "x".join(map(str, p.shape)) or "scalar",
            report.mode,
            report.max_abs_error,
            report.max_rel_error,
            "yes" if report.passed else "NO",
        ]
        for (_, _, name), p, report in zip(slots, params, result.inputs)
    ]
    print(format_table(["parameter", "shape", "check", "max abs err", "max rel err", "ok"], rows))
    failed = [name for name, *_, ok in rows if ok != "yes"]
    if failed:
        raise OptionError(f"gradients disagree with central differences for {failed}")
    return 0


def _header(path) -> list[str]:
    from ..data.csvtable import read_table

    return read_table(path).header
