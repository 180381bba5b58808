"""`chainrule export`: a trained run as an ONNX file, its preprocessing inside the graph.

ONNX Runtime on the raw feature columns (float64, in the order of the file's
`chainrule.features` metadata) gives the model's outputs and, for classification, the
class index, label and probabilities that `chainrule predict [--proba]` prints.
"""

from __future__ import annotations

import sys

from .options import add_command

EXAMPLES = """\
examples:
  chainrule export --model runs/latest --out model.onnx
  chainrule export --model runs/iris/model.safetensors --out iris.onnx --opset 20
"""


def add_parser(commands):
    parser = add_command(
        commands,
        "export",
        __doc__,
        EXAMPLES,
        "write a trained model as an ONNX file (needs chainrule[onnx])",
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="RUN",
        help="a model.safetensors written by `chainrule train` (or its folder)",
    )
    parser.add_argument("--out", required=True, metavar="FILE.onnx", help="the ONNX file to write")
    parser.add_argument(
        "--opset",
        type=int,
        default=None,
        help="the ONNX opset (default: 17, read by every ONNX Runtime)",
    )
    parser.set_defaults(run=run_command)
    return parser


def run_command(args) -> int:
    from ..onnx.export import DEFAULT_OPSET
    from ..onnx.pipeline import export_pipeline
    from .trained import TrainedModel

    trained = TrainedModel.load(args.model)
    proto = export_pipeline(
        trained.model, trained.preprocessor, args.out, args.opset or DEFAULT_OPSET
    )
    inputs = proto.graph.input
    what = (
        f"{inputs[0].type.tensor_type.shape.dim[1].dim_value} raw feature columns"
        if len(inputs) == 1
        else f"{len(inputs)} table columns (one input each)"
    )
    print(
        f"wrote {args.out}: {what} in, {'class labels' if trained.classes else 'predictions'} out",
        file=sys.stderr,
    )
    return 0
