"""`ptirc import`: a model saved with torch.export.save, or an ONNX model, as PTIR text and
its weights; `--onnx-ops` prints the ONNX op table (docs/onnx.md)."""

from __future__ import annotations

from ..errors import UsageError
from .io import add_output, atomic_output, load_model


def register(sub) -> None:
    p = sub.add_parser(
        "import", help="import a torch.export program (.pt2) or an ONNX model (.onnx) as PTIR",
        description="Import MODEL.pt2 (written by torch.export.save, through torch's core ATen decompositions) "
                    "or MODEL.onnx (opset 13 or newer; older models are converted first) into a verified PTIR "
                    "program, written as text to OUT. Weights (parameters and buffers; ONNX initializers) become "
                    "ptir.param arguments under their names; --params-out writes them as safetensors (give that "
                    "file to ptirc run --params, or iree-run-module --parameters=model=). What PTIR cannot take "
                    "is listed, every node at once, and nothing is written. `ptirc lower` and `ptirc run` also "
                    "take a .pt2 or .onnx directly. --onnx-ops prints which ONNX ops PTIR takes.")
    p.add_argument("file", nargs="?", metavar="MODEL", help="a .pt2 (torch.export.save) or .onnx model")
    add_output(p, "-o", "--output", metavar="OUT.ptir", help="the PTIR text to write")
    add_output(p, "--params-out", metavar="W.safetensors", help="write the weights here")
    p.add_argument("--shape", action="append", default=[], type=_shape, metavar="NAME=DIMS",
                   help="ONNX: the static shape of a graph input with dynamic dims, e.g. --shape input=1x3x224x224 "
                        "(repeatable)")
    p.add_argument("--onnx-ops", action="store_true",
                   help="print the ONNX op table (versions, how PTIR takes each, what it leaves out) as markdown")
    p.set_defaults(handler=cmd_import)


def _shape(text: str) -> tuple[str, tuple[int, ...]]:
    """argparse `type` of NAME=DIMS (1x3x224x224; a scalar is NAME=)."""
    import argparse

    name, eq, dims = text.partition("=")
    try:
        shape = tuple(int(d) for d in dims.split("x")) if dims else ()
    except ValueError:
        shape = None
    if not name or not eq or shape is None or any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f"expected NAME=DIMS such as x=1x3x224x224, not {text!r}")
    return name, shape


def cmd_import(args) -> int:
    if args.onnx_ops:
        from ..importers.onnx import op_table_markdown

        print(op_table_markdown(), end="")
        return 0
    if not args.file or not args.output:
        raise UsageError("import needs MODEL and -o OUT.ptir (or --onnx-ops)")
    if not args.file.endswith((".pt2", ".onnx")):
        raise UsageError(f"{args.file}: expected a .pt2 (torch.export.save) or .onnx model")
    from safetensors.numpy import save

    if args.shape and not args.file.endswith(".onnx"):
        raise UsageError("--shape applies to an .onnx model")
    if args.shape:
        from ..importers.onnx import from_onnx

        program, weights = from_onnx(args.file, shapes=dict(args.shape))
    else:
        program, weights = load_model(args.file)
    payload = save({k: v for k, v in weights.items()}) if args.params_out else None
    with atomic_output(args.output, "w") as f:
        f.write(str(program))
    if payload is not None:
        with atomic_output(args.params_out) as f:
            f.write(payload)
    return 0
