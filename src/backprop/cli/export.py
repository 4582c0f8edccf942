"""``backprop export``: a model file as an ONNX graph, preprocessing included."""

from __future__ import annotations

from pathlib import Path

from ..io.atomic import check_destination
from . import CLIError
from .common import load_model, print_json, stdout

FORMATS = ("onnx",)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="write a model as an ONNX graph",
        description="Write MODEL as an ONNX graph with its preprocessing: input X (the raw features, "
                    "shape N x n_features, in the model's dtype), output Y (the class probabilities of "
                    "a classifier, the predicted values of a regressor).",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file from backprop train")
    p.add_argument("out", type=Path, metavar="OUT.onnx", help="the file to write")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="the output format (default onnx)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    check_destination(args.out, inputs=[args.model])  # a writable folder; never the model file itself
    model = load_model(args.model)
    try:
        from ..onnx_export import export_onnx
        import onnx  # noqa: F401
    except ImportError:
        raise CLIError("ONNX export needs the onnx package: pip install 'backprop[onnx]'") from None
    path = export_onnx(model, args.out)
    net = model.network
    result = {"file": str(path), "format": args.format, "input": "X", "output": "Y",
              "dtype": net.dtype.name, "n_features": net.sizes[0],
              "n_outputs": net.sizes[-1], "bytes": path.stat().st_size}
    record = model.metadata.get("columns")
    if record is not None:  # the table columns X takes, in order (missing values may be NaN)
        result["columns"] = [spec["name"] for spec in record["inputs"]]
    if args.json:
        print_json(result)
    else:
        stdout.print(f"wrote {path}: ONNX, input X ({net.dtype.name}, N x {net.sizes[0]}), "
                     f"output Y (N x {net.sizes[-1]})", soft_wrap=True)
    return 0
