"""`ptirc check`, `fmt`, `run` and `ops`: the commands on PTIR programs themselves."""

from __future__ import annotations

import sys

import numpy as np

from ..errors import RunError, UsageError
from .io import add_conv_algorithm, add_output, count, load_model, load_npz, load_program, save_npz


def register(sub) -> None:
    p = sub.add_parser("check", help="parse and verify a PTIR file",
                       description="Parse and verify FILE; print every diagnostic and exit 1 if any.")
    p.add_argument("file", metavar="FILE", help="a .ptir file, or - for standard input")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("fmt", help="print the canonical text of a PTIR file",
                       description="Print FILE in canonical form (values renumbered, defaults left out, "
                                   "axes normalised) to standard output.")
    p.add_argument("file", metavar="FILE", help="a .ptir file, or - for standard input")
    p.set_defaults(handler=cmd_fmt)

    p = sub.add_parser("run", help="run a program on a target",
                       description="Run the entry function of FILE. Inputs come from an .npz keyed by "
                                   "argument name (without %%), or are seeded random; results go to an "
                                   ".npz as result0, result1, ..., or are summarised on standard output.")
    p.add_argument("file", metavar="FILE",
                   help="a .ptir file, a .vmfb that ptirc lower wrote, or a .pt2 (torch.export.save) or .onnx "
                        "model to import")
    add_target_args(p)
    p.add_argument("--inputs", metavar="IN.npz", help="input arrays keyed by argument name")
    add_output(p, "--output", "-o", metavar="OUT.npz", help="write the results here")
    p.add_argument("--seed", type=count, default=0, help="seed of the random inputs (default 0)")
    add_conv_algorithm(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("ops", help="the op reference, generated from the registry",
                       description="List every PTIR op with its operands, attributes and meaning.")
    p.add_argument("name", nargs="?", help="show only this op")
    p.add_argument("--format", choices=("text", "md"), default="text")
    p.set_defaults(handler=cmd_ops)


def add_target_args(p) -> None:
    from ..runtime import TARGETS

    p.add_argument("--target", "-t", choices=list(TARGETS), metavar="TARGET",
                   help=f"where to run: {', '.join(TARGETS)} (default ref; llvm-cpu for a .vmfb)")
    p.add_argument("--entry", metavar="NAME",
                   help="the function to run (default main; a .vmfb holds the one it was lowered from)")
    p.add_argument("--params", metavar="W.safetensors", help="weights for ptir.param arguments")


def cmd_check(args) -> int:
    prog = load_program(args.file)
    n_ops = sum(len(f.ops) for f in prog.functions.values())
    print(f"{args.file}: ok ({len(prog.functions)} function{'s' if len(prog.functions) != 1 else ''}, "
          f"{n_ops} ops)")
    return 0


def cmd_fmt(args) -> int:
    sys.stdout.write(str(load_program(args.file)))
    return 0


def random_inputs(fn, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for a in fn.inputs:
        t = a.value.type
        if not t.is_static:
            raise RunError(f"input %{a.value.name} has a dynamic shape ({t}); give --inputs")
        if t.dtype.is_float:
            x = rng.standard_normal(t.shape)
        elif t.dtype.is_bool:
            x = rng.random(t.shape) < 0.5
        else:
            x = rng.integers(0, 10, t.shape)
        out.append(np.asarray(x).astype(t.dtype.np_dtype))
    return out


def inputs_from_npz(fn, path: str) -> list[np.ndarray]:
    arrays = load_npz(path)
    names = [a.value.name for a in fn.inputs]
    for k in arrays:
        if k not in names:
            raise RunError(f"{path}: '{k}' is not an input of @{fn.name} (inputs: {', '.join(names) or 'none'})")
    missing = [n for n in names if n not in arrays]
    if missing:
        raise RunError(f"{path}: missing input{'s' if len(missing) > 1 else ''} "
                       f"{', '.join(missing)} of @{fn.name}")
    return [arrays[n] for n in names]


def summarize(results: list[np.ndarray]) -> str:
    lines = []
    with np.printoptions(precision=5, threshold=12, edgeitems=3, linewidth=100):
        for i, r in enumerate(results):
            head = f"result{i}: {r.dtype} {list(r.shape)}"
            if r.size and r.dtype.kind in "fiu":
                w = r.astype(np.float64)
                head += f"  min {np.nanmin(w):.6g}  max {np.nanmax(w):.6g}  mean {np.nanmean(w):.6g}"
            lines.append(head)
            lines.append("  " + str(r).replace("\n", "\n  "))
    return "\n".join(lines)


def cmd_run(args) -> int:
    if args.file.endswith(".vmfb") and args.conv_algorithm != "auto":
        raise UsageError("--conv-algorithm applies when compiling: a .vmfb is compiled already")
    exe = _load_vmfb(args) if args.file.endswith(".vmfb") else _compile(args)
    fn = exe.fn
    inputs = inputs_from_npz(fn, args.inputs) if args.inputs else random_inputs(fn, args.seed)
    results = exe(*inputs)
    if args.output:
        save_npz(args.output, {f"result{i}": r for i, r in enumerate(results)})
    else:
        print(summarize(results))
    return 0


def _compile(args):
    import ptir

    prog, imported = load_model(args.file)   # a .pt2 brings its own weights
    entry = args.entry or "main"
    prog.entry(entry)
    return ptir.compile(prog, args.target or "ref", entry=entry, params=args.params or imported,
                        conv_algorithm=args.conv_algorithm).executable


def _load_vmfb(args):
    from ..runtime.iree_backend import load_vmfb
    from ..weights import load_params

    if args.target not in (None, "llvm-cpu"):
        raise UsageError(f"a .vmfb runs on llvm-cpu, not --target {args.target}")
    exe = load_vmfb(args.file, load_params(args.params) if args.params else None)
    if args.entry not in (None, exe.fn.name):
        raise UsageError(f"{args.file} holds the entry @{exe.fn.name}, not @{args.entry} "
                         "(a .vmfb holds the one function it was lowered from)")
    return exe


def cmd_ops(args) -> int:
    from ..dialect.opdoc import op_reference

    text = op_reference(args.name, markdown=args.format == "md")
    print(text)
    return 0
