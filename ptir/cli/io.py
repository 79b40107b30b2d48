"""Reading programs for the CLI (file input and output in general is ptir.io)."""

from __future__ import annotations

import argparse

from ..dialect import parse, verify
from ..io import atomic_output, check_output, load_npz, read_json, read_text, save_npz

__all__ = ["add_output", "atomic_output", "check_outputs", "count", "load_model", "load_npz", "load_program",
           "positive", "read_json", "read_text", "save_npz", "temperature"]


def add_output(p: argparse.ArgumentParser, *flags: str, **kwargs) -> None:
    """Add an option naming a file the command writes; `main` checks every such path
    (check_output) before the command does any work."""
    action = p.add_argument(*flags, **kwargs)
    p.set_defaults(outputs=(*(p.get_default("outputs") or ()), action.dest))


def check_outputs(args: argparse.Namespace) -> None:
    """check_output for each output option given on the command line."""
    for dest in getattr(args, "outputs", ()):
        path = getattr(args, dest, None)
        if path is not None:
            check_output(path)


def add_conv_algorithm(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    """--conv-algorithm: what the conv-algorithm pass does with each 2-D convolution."""
    from ..passes.conv_algorithm import ALGORITHMS

    p.add_argument("--conv-algorithm", choices=("auto", *ALGORITHMS), default=default, metavar="ALG",
                   help=f"each 2-D convolution as: auto (the measured table for the target and this CPU, "
                        f"configs/conv_algorithms.json; the default) or one of {', '.join(ALGORITHMS)} "
                        f"wherever it suits")


def count(text: str) -> int:
    """argparse `type` of a whole number >= 0 (a seed, a number of warm-up runs)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {n}")
    return n


def positive(text: str) -> int:
    """argparse `type` of a whole number >= 1 (a batch, runs, threads, tokens)."""
    n = count(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def temperature(text: str) -> float:
    """argparse `type` of a sampling temperature: a finite number >= 0 (0 is greedy)."""
    import math

    try:
        t = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(t) or t < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, not {text}")
    return t


def load_program(path: str):
    """The verified program in file `path` (`-`: standard input); ParseError/VerifyError
    with file:line:col otherwise.  A `.pt2` (torch.export.save) or `.onnx` is imported:
    see load_model."""
    return load_model(path)[0]


def load_model(path: str):
    """(Program, weights): a `.pt2` saved by torch.export.save (ptir.importers.torch_export)
    or an ONNX model `.onnx` (ptir.importers.onnx) imported with its weights, or PTIR
    text with None for weights."""
    if path.endswith(".pt2"):
        from ..importers.torch_export import load

        return load(path)
    if path.endswith(".onnx"):
        from ..importers.onnx import from_onnx

        return from_onnx(path)
    return verify(parse(read_text(path), "<stdin>" if path == "-" else path)), None
