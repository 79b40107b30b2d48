"""`ptirc import`: a model saved with torch.export.save, as PTIR text and its weights."""

from __future__ import annotations

from .io import add_output, atomic_output


def register(sub) -> None:
    p = sub.add_parser(
        "import", help="import a torch.export program (.pt2) as PTIR",
        description="Import MODEL.pt2 (written by torch.export.save) through torch's core ATen decompositions "
                    "into a verified PTIR program, written as text to OUT. Parameters and buffers become "
                    "ptir.param arguments named by their state_dict keys; --params-out writes them as "
                    "safetensors (give that file to ptirc run --params, or iree-run-module --parameters=model=). "
                    "What PTIR cannot take is listed, every node at once, and nothing is written. "
                    "`ptirc lower` and `ptirc run` also take a .pt2 directly.")
    p.add_argument("file", metavar="MODEL.pt2", help="a program saved by torch.export.save")
    add_output(p, "-o", "--output", required=True, metavar="OUT.ptir", help="the PTIR text to write")
    add_output(p, "--params-out", metavar="W.safetensors", help="write the weights here")
    p.set_defaults(handler=cmd_import)


def cmd_import(args) -> int:
    from safetensors.numpy import save

    from ..importers.torch_export import load

    program, weights = load(args.file)
    payload = save({k: v for k, v in weights.items()}) if args.params_out else None
    with atomic_output(args.output, "w") as f:
        f.write(str(program))
    if payload is not None:
        with atomic_output(args.params_out) as f:
            f.write(payload)
    return 0
