"""`ptirc lower`: PTIR to StableHLO, VHLO or an IREE .vmfb, with every stage dumped."""

from __future__ import annotations

from ..errors import UsageError
from .io import add_conv_algorithm, add_output, atomic_output, load_model

EMITS = {"llvm-cpu": ("vmfb", "stablehlo", "vhlo"), "xla-cpu": ("stablehlo", "vhlo")}


def register(sub) -> None:
    p = sub.add_parser(
        "lower", help="lower a PTIR file to StableHLO / VHLO / an IREE .vmfb",
        description="Verify FILE and lower its entry function through StableHLO. For llvm-cpu the default "
                    "output is an IREE .vmfb (runs under ptirc run and iree-run-module); --emit stablehlo "
                    "writes the StableHLO text and --emit vhlo the versioned portable artifact. Weights "
                    "(ptir.param arguments) stay out of the .vmfb as IREE named parameters unless "
                    "--embed-params; give them at run time with --params or "
                    "iree-run-module --parameters=model=W.safetensors.")
    p.add_argument("file", metavar="FILE",
                   help="a .ptir file, or a .pt2 (torch.export.save) or .onnx model to import first")
    p.add_argument("--target", "-t", required=True, choices=list(EMITS), metavar="TARGET",
                   help="llvm-cpu (IREE) or xla-cpu (XLA)")
    add_output(p, "-o", "--output", required=True, metavar="OUT", help="the file to write")
    p.add_argument("--emit", choices=("vmfb", "stablehlo", "vhlo"),
                   help="what to write (default: vmfb for llvm-cpu, stablehlo for xla-cpu)")
    p.add_argument("--entry", default="main", metavar="NAME", help="the function to lower (default main)")
    p.add_argument("--params", metavar="W.safetensors",
                   help="weights: embedded with --embed-params, otherwise only checked against the program")
    p.add_argument("--embed-params", action="store_true", help="inline the weights as constants")
    p.add_argument("--dump-dir", metavar="DIR", help="write the IR after every stage into DIR (numbered)")
    p.add_argument("--iree-flag", action="append", default=[], metavar="FLAG",
                   help="an extra iree-compile flag, e.g. --iree-flag=--iree-opt-level=O3 (repeatable)")
    p.add_argument("-O0", dest="O0", action="store_true", help="skip the optimizer (the baseline pipeline)")
    add_conv_algorithm(p)
    p.add_argument("--cpu", default="host",
                   help="llvm-cpu: the CPU to compile for (default host; name one, e.g. znver4 or generic, "
                        "for artifacts meant to run elsewhere)")
    p.set_defaults(handler=cmd_lower)


def cmd_lower(args) -> int:
    """One run of the compile pipeline: to the target's artifact for --emit vmfb, to
    portable StableHLO otherwise; --dump-dir records the stages that ran."""
    from ..dialect.signature import bind_params
    from ..lower_stablehlo import to_vhlo
    from ..pipeline import compile
    from ..weights import load_params

    emit = args.emit or EMITS[args.target][0]
    if emit not in EMITS[args.target]:
        raise UsageError(f"--emit {emit} is not available for --target {args.target} "
                         f"(choose from {', '.join(EMITS[args.target])})")
    if args.embed_params and not (args.params or args.file.endswith((".pt2", ".onnx"))):
        raise UsageError("--embed-params needs --params W.safetensors")
    if args.iree_flag and args.target != "llvm-cpu":
        raise UsageError("--iree-flag applies only to --target llvm-cpu")
    program, imported = load_model(args.file)   # a .pt2 or .onnx brings its own weights
    weights = load_params(args.params) if args.params else imported
    if weights is not None and not args.embed_params:
        bind_params(program.entry(args.entry), weights)   # a missing or mis-shaped weight fails now
        weights = None                                   # ... but they are bound at run time
    options = dict(flags=args.iree_flag, cpu=args.cpu) if args.target == "llvm-cpu" else {}
    compiled = compile(program, target=args.target, entry=args.entry, params=weights, dump_dir=args.dump_dir,
                       passes=() if args.O0 else None, until=None if emit == "vmfb" else "stablehlo",
                       embed_params=args.embed_params, conv_algorithm=args.conv_algorithm, **options)
    if emit == "vmfb":
        payload = compiled.artifact.data
    else:
        text = compiled.lowered.text
        payload = to_vhlo(text) if emit == "vhlo" else text.encode()
    with atomic_output(args.output, "wb") as f:
        f.write(payload)
    return 0
