"""Bad input gets a clean error and loses nothing (docs/guarantees.md): every kind of
bad file, flag and path found by probing ptirc, each with the outcome it must have, and a
hypothesis fuzz of program text and .npz inputs through the commands that read them.

Each command must end with exit 1 (bad input) or 2 (usage), one line on stderr, no
traceback, no file written that it was not asked to write, and bounded memory."""

from __future__ import annotations

import io
import json
import os
import re
import resource
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ptir
from ptir.cli import main
from ptir.models import get_model
from ptir.models.base import checkpoint_bytes

NEG = """module {
  func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %0 = ptir.neg %x : tensor<4x8xf32>
    return %0
  }
}
"""
PTIRC = os.path.join(os.path.dirname(sys.executable), "ptirc")


@pytest.fixture
def neg(tmp_path):
    p = tmp_path / "neg.ptir"
    p.write_text(NEG)
    return p


def fails(argv, capsys, code: int = 1, text: str = "", progress: bool = False) -> str:
    """Run ptirc in-process: it must exit `code` with one line on stderr holding `text`
    (after the lines of its progress display, for commands that show one)."""
    assert main([str(a) for a in argv]) == code, capsys.readouterr().err
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "internal error" not in err, err
    assert text in err.splitlines()[-1] and (progress or len(err.splitlines()) == 1), err
    return err


def bounded(argv, gib: int = 3) -> subprocess.CompletedProcess:
    """ptirc in a child whose address space is limited to `gib` GiB."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (gib << 30, gib << 30))
    return subprocess.run([PTIRC, *map(str, argv)], capture_output=True, text=True, preexec_fn=limit, timeout=300)


# --- output paths ----------------------------------------------------------------------------------

def test_output_onto_a_device_writes_the_device_and_keeps_it(neg, tmp_path, capsys):
    dev = tmp_path / "full"
    os.mknod(dev, 0o600 | 0o020000, os.makedev(1, 7))   # a private /dev/full: every write fails
    fails(["lower", neg, "--target", "xla-cpu", "-o", dev], capsys, 1, "No space left on device")
    assert os.path.exists(dev) and not os.path.isfile(dev), "the device node was replaced by a file"


def test_output_through_a_symlink_writes_its_target(neg, tmp_path):
    target, link = tmp_path / "real.mlir", tmp_path / "link.mlir"
    target.write_text("old")
    link.symlink_to(target)
    assert main(["lower", str(neg), "--target", "xla-cpu", "-o", str(link)]) == 0
    assert link.is_symlink() and "stablehlo.negate" in target.read_text()


@pytest.mark.parametrize("argv", [
    ["lower", "{neg}", "--target", "xla-cpu", "-o", "{tmp}"],
    ["lower", "{neg}", "--target", "xla-cpu", "-o", "{tmp}/no/such/x.mlir"],
    ["run", "{neg}", "--output", "{tmp}"],
    ["export", "--model", "resnet34", "--size", "tiny", "-o", "{tmp}"],
    ["eval", "-m", "resnet34", "--size", "tiny", "-t", "ref", "--profile", "--trace-json", "{tmp}"],
    ["conformance", "--target", "ref", "-k", "neg_f32", "--report", "{tmp}"],
])
def test_an_unwritable_output_fails_first_and_cleanly(argv, neg, tmp_path, capsys):
    before = sorted(os.listdir(tmp_path))
    fails([a.format(neg=neg, tmp=tmp_path) for a in argv], capsys, 1, "cannot write")
    assert sorted(os.listdir(tmp_path)) == before


def test_an_empty_output_path_is_a_usage_error(neg, capsys):
    fails(["lower", neg, "--target", "xla-cpu", "-o", ""], capsys, 2, "output path is empty")


def test_dump_dir_onto_a_file(neg, tmp_path, capsys):
    f = tmp_path / "notes.md"
    f.write_text("mine")
    fails(["lower", neg, "--target", "xla-cpu", "-o", tmp_path / "x.mlir", "--dump-dir", f], capsys, 2,
          "is not a folder")
    assert f.read_text() == "mine" and not (tmp_path / "x.mlir").exists()


# --- inputs that claim more than they hold ---------------------------------------------------------

def test_a_huge_splat_is_never_materialized(tmp_path):
    p = tmp_path / "big.ptir"
    p.write_text("module {\n  func @main() -> tensor<3000000000xf32> {\n"
                 "    %c = ptir.constant dense<0.0> : tensor<3000000000xf32>\n    return %c\n  }\n}\n")
    for cmd in ("check", "fmt"):
        r = bounded([cmd, p])
        assert r.returncode == 0, r.stderr
    assert "dense<0.0> : tensor<3000000000xf32>" in bounded(["fmt", p]).stdout


def _npz_claiming(path, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", header.getvalue() + bytes(64))


def test_an_npz_header_claiming_gigabytes_is_refused(neg, tmp_path):
    _npz_claiming(tmp_path / "huge.npz", (100000, 100000))
    r = bounded(["run", neg, "--inputs", tmp_path / "huge.npz"])
    assert r.returncode == 1 and "header claims 40000000000 bytes" in r.stderr, r.stderr


def test_a_config_asking_for_a_billion_layers_is_refused(tmp_path):
    family = get_model("gpt2")
    config = family.config("tiny")
    weights = family.random_weights(config)
    p = tmp_path / "w.safetensors"
    p.write_bytes(checkpoint_bytes("gpt2", {**config, "n_layer": 10**9}, weights))
    r = bounded(["eval", "-m", "gpt2", "--weights", p, "-t", "ref"], gib=8)   # torch's threads need room
    assert r.returncode == 1 and "'n_layer' must be an integer from 1 to 1024" in r.stderr, r.stderr


# --- damaged and malformed files -------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"\x93NUMPY\x01\x00garbage"])
def test_damaged_npz_inputs(content, neg, tmp_path, capsys):
    p = tmp_path / "in.npz"
    p.write_bytes(content)
    fails(["run", neg, "--inputs", p], capsys, 1, str(p))


def test_a_truncated_npz_member(neg, tmp_path, capsys):
    good = tmp_path / "good.npz"
    np.savez(good, x=np.ones((4, 8), np.float32))
    blob = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[:len(blob) - 40])
    fails(["run", neg, "--inputs", tmp_path / "cut.npz"], capsys, 1, "cut.npz")


def test_an_object_npz_is_refused_cleanly(neg, tmp_path, capsys):
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    fails(["run", neg, "--inputs", tmp_path / "obj.npz"], capsys, 1, "holds Python objects")


@pytest.mark.parametrize("where", ["attribute", "literal"])
def test_deep_nesting_is_a_located_error(where, tmp_path, capsys):
    deep = "[" * 1000 + ("1.0" if where == "literal" else "") + "]" * 1000
    body = (f"%0 = ptir.constant dense<{deep}> : tensor<1xf32>" if where == "literal"
            else f"%0 = ptir.neg %x {{foo = {deep}}} : tensor<1xf32>")
    p = tmp_path / "deep.ptir"
    p.write_text(f"module {{\n  func @main(%x: tensor<1xf32>) -> tensor<1xf32> {{\n    {body}\n"
                 "    return %0\n  }\n}\n")
    fails(["check", p], capsys, 1, f"{p}:3:")


def test_a_sealed_vmfb_with_a_flipped_byte_is_refused(neg, tmp_path, capsys):
    out = tmp_path / "neg.vmfb"
    assert main(["lower", str(neg), "--target", "llvm-cpu", "-o", str(out)]) == 0
    blob = bytearray(out.read_bytes())
    for at in (len(blob) // 3, len(blob) // 2, len(blob) - 100):
        damaged = bytearray(blob)
        damaged[at] ^= 0x10
        (tmp_path / "bad.vmfb").write_bytes(damaged)
        fails(["run", tmp_path / "bad.vmfb"], capsys, 1, "is damaged")


def test_a_foreign_file_named_vmfb_is_refused(tmp_path, capsys):
    p = tmp_path / "junk.vmfb"
    p.write_bytes(os.urandom(4096))
    fails(["run", p], capsys, 1, "junk.vmfb")


@pytest.mark.parametrize("config", ['"/etc/passwd"', "[1, 2]", '{"n_layer": 2, "n_head": 0, "n_embd": 64, '
                                    '"n_positions": 64, "vocab_size": 512}'])
def test_weights_metadata_config_is_data_never_a_path(config, tmp_path, capsys):
    from safetensors.numpy import save

    family = get_model("gpt2")
    weights = family.random_weights(family.config("tiny"))
    p = tmp_path / "w.safetensors"
    p.write_bytes(save(weights, metadata={"ptir.model": "gpt2", "ptir.config": config}))
    fails(["eval", "-m", "gpt2", "--weights", p, "-t", "ref"], capsys, 1, "config")


@pytest.mark.parametrize("override", [{"layers": [1]}, {"num_classes": -1}, {"image_size": 0}])
def test_vision_configs_are_checked(override, tmp_path, capsys):
    family = get_model("resnet34")
    config = family.config("tiny")
    p = tmp_path / "w.safetensors"
    p.write_bytes(checkpoint_bytes("resnet34", {**config, **override}, family.random_weights(config)))
    fails(["eval", "-m", "resnet34", "--weights", p, "-t", "ref"], capsys, 1, f"'{next(iter(override))}'")


# --- flags -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["eval", "-m", "resnet34", "--size", "tiny", "--seed", "-1"],
                                  ["eval", "-m", "resnet34", "--size", "tiny", "-w", "bench", "--runs", "0"],
                                  ["generate", "--weights", "w", "--tokenizer", "t", "--prompt", "hi",
                                   "--temperature", "nan"]])
def test_bad_numbers_are_usage_errors_before_any_work(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_run_vmfb_with_another_entry(neg, tmp_path, capsys):
    out = tmp_path / "neg.vmfb"
    assert main(["lower", str(neg), "--target", "llvm-cpu", "-o", str(out)]) == 0
    fails(["run", out, "--entry", "nosuch"], capsys, 2, "holds the entry @main, not @nosuch")


def test_a_bad_iree_flag_is_blamed_not_data_tiling(neg, tmp_path, capsys):
    err = fails(["lower", neg, "--target", "llvm-cpu", "-o", tmp_path / "x.vmfb", "--iree-flag=--nonsense"],
                capsys, 1, "Unknown command line argument '--nonsense'")
    assert "data tiling" not in err


def test_eval_iree_flags_reach_a_language_models_compiles(capsys):
    fails(["eval", "-m", "gpt2", "--size", "tiny", "-w", "run", "-t", "llvm-cpu", "--iree-flag=--nonsense"],
          capsys, 1, "'--nonsense'", progress=True)


# --- smaller ---------------------------------------------------------------------------------------

def test_params_given_a_folder(neg, tmp_path, capsys):
    fails(["run", neg, "--params", tmp_path], capsys, 1, "is a folder")


def test_a_look_alike_letter_in_an_op_name_is_shown_whole(tmp_path, capsys):
    p = tmp_path / "m.ptir"
    p.write_text(NEG.replace("ptir.neg", "ptir.n\u0435g"))   # Cyrillic e
    fails(["check", p], capsys, 1, "unknown op 'ptir.n\u0435g'")


def test_articles(tmp_path, capsys):
    p = tmp_path / "m.ptir"
    p.write_text(NEG.replace("(%x: tensor", "(%: tensor"))
    fails(["check", p], capsys, 1, "expected an argument name")


def test_a_byte_order_mark_is_accepted(neg, capsys):
    neg.write_bytes(b"\xef\xbb\xbf" + neg.read_bytes())
    assert main(["check", str(neg)]) == 0


# --- fuzz --------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _mutate(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for kind, at, byte in edits:
        at %= max(len(b), 1)
        if kind == "flip" and b:
            b[at] ^= 1 << (byte % 8)
        elif kind == "insert":
            b.insert(at, byte)
        elif kind == "cut":
            del b[at:]
    return bytes(b)


EDITS = st.lists(st.tuples(st.sampled_from(["flip", "insert", "cut"]), st.integers(0, 10**6), st.integers(0, 255)),
                 min_size=1, max_size=4)


@FUZZ
@given(edits=EDITS, command=st.sampled_from(["check", "fmt", "run", "lower"]))
def test_fuzz_program_text(edits, command, tmp_path, capsys):
    p = tmp_path / "m.ptir"
    p.write_bytes(_mutate(NEG.encode(), edits))
    argv = {"check": ["check", p], "fmt": ["fmt", p], "run": ["run", p, "--target", "ref"],
            "lower": ["lower", p, "--target", "xla-cpu", "--emit", "stablehlo", "-o", tmp_path / "o.mlir"]}[command]
    before = set(os.listdir(tmp_path))
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code in (0, 1, 2) and "Traceback" not in err and "internal error" not in err, err
    if code:   # one line, or the verifier's located diagnostics, one per line
        assert len(err.splitlines()) == 1 or all(re.match(r"\S+:\d+:\d+: error: ", ln) for ln in err.splitlines()), err
        assert set(os.listdir(tmp_path)) == before


@FUZZ
@given(edits=EDITS)
def test_fuzz_npz_inputs(edits, tmp_path, capsys):
    good = io.BytesIO()
    np.savez(good, x=np.ones((4, 8), np.float32))
    p, prog = tmp_path / "in.npz", tmp_path / "neg.ptir"
    p.write_bytes(_mutate(good.getvalue(), edits))
    prog.write_text(NEG)
    code = main(["run", str(prog), "--inputs", str(p)])
    err = capsys.readouterr().err.strip()
    assert code in (0, 1) and "Traceback" not in err and "internal error" not in err, err


def test_ptir_parse_errors_are_ptir_errors():
    """The library raises PtirError (never another exception) for any text of the fuzz kind."""
    for text in ("", "module {", "\x00", json.dumps({"a": 1}), NEG[: len(NEG) // 2]):
        with pytest.raises(ptir.PtirError):
            ptir.parse(text)


@FUZZ
@given(edits=EDITS)
def test_fuzz_sealed_vmfb(edits, sealed_vmfb, tmp_path, capsys):
    """Any change to a module ptirc wrote is caught by its seal (a cut that removes the
    seal makes it a foreign file: IREE reads it in a child process)."""
    p = tmp_path / "m.vmfb"
    p.write_bytes(_mutate(sealed_vmfb, edits))
    code = main(["run", str(p)])
    err = capsys.readouterr().err.strip()
    assert code in (0, 1) and "Traceback" not in err and "internal error" not in err, err


@pytest.fixture(scope="module")
def sealed_vmfb(tmp_path_factory):
    d = tmp_path_factory.mktemp("vmfb")
    (d / "neg.ptir").write_text(NEG)
    assert main(["lower", str(d / "neg.ptir"), "--target", "llvm-cpu", "-o", str(d / "neg.vmfb")]) == 0
    return (d / "neg.vmfb").read_bytes()


CONFIG_VALUES = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True), st.text(max_size=8),
                          st.none(), st.lists(st.integers(-3, 3), max_size=5), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["layers", "num_classes", "image_size", "layout", "extra"]), value=CONFIG_VALUES)
def test_fuzz_weights_metadata(key, value, tiny_resnet, tmp_path, capsys):
    """A weights file's config metadata, any value at any key: a clean error or a run."""
    from safetensors.numpy import save

    config, weights = tiny_resnet
    p = tmp_path / "w.safetensors"
    p.write_bytes(save(weights, metadata={"ptir.model": "resnet34", "ptir.config": json.dumps({**config,
                                                                                              key: value})}))
    code = main(["eval", "-m", "resnet34", "--weights", str(p), "-t", "ref", "-w", "run"])
    err = capsys.readouterr().err.strip()
    assert code in (0, 1) and "Traceback" not in err and "internal error" not in err, err


@pytest.fixture(scope="module")
def tiny_resnet():
    family = get_model("resnet34")
    config = family.config("tiny")
    return config, family.random_weights(config)


FLAG_WORDS = ["--target", "ref", "llvm-cpu", "xla-cpu", "--emit", "vhlo", "stablehlo", "-o", "--entry", "main",
              "nosuch", "--passes", "cse", "bogus", "--seed", "-1", "7", "--inputs", "--params", "-O0", "--format",
              "md", "--embed-params", "--cpu", "", "--dump-dir", "%"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["check", "fmt", "run", "lower", "opt", "ops"]),
       words=st.lists(st.sampled_from(FLAG_WORDS), max_size=6))
def test_fuzz_flags(command, words, neg, tmp_path, capsys):
    """Any arrangement of flags: exit 0, 1 or 2, never a traceback, no stray files."""
    argv = [command, *([str(neg)] if command != "ops" else []),
            *[str(tmp_path / "out") if w == "%" else w for w in words]]
    before = set(os.listdir(tmp_path))
    cwd = os.getcwd()
    os.chdir(tmp_path)   # a word taken as an output name (`-o bogus`) lands here, not in the checkout
    try:
        code = main(argv)
    except SystemExit as e:   # argparse's usage errors
        code = e.code
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert code in (0, 1, 2) and "Traceback" not in err and "internal error" not in err, (argv, err)
    if code:
        assert set(os.listdir(tmp_path)) <= before | {"out"} and not (tmp_path / "out").is_file()


@pytest.mark.parametrize("content", [b"garbage", None])
def test_a_bad_pt2_is_one_line(content, tmp_path, capsys):
    """Not an archive, or an archive of something else: one line, not torch's own traceback."""
    p = tmp_path / "m.pt2"
    if content is None:
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("a", "b")
    else:
        p.write_bytes(content)
    fails(["import", p, "-o", tmp_path / "m.ptir"], capsys, 1, "m.pt2")
    assert not (tmp_path / "m.ptir").exists()


@pytest.mark.parametrize("target", ["ref", "llvm-cpu", "xla-cpu"])
def test_a_function_with_no_results_runs_everywhere(target):
    """`-> ()` is a valid program (ptirc check takes it): calling it gives no results on
    every target (llvm-cpu's runtime answers None for it)."""
    program = ptir.parse("module {\n  func @main(%x: tensor<4xf32>) -> () {\n    return\n  }\n}\n")
    assert list(ptir.compile(program, target)(np.zeros(4, np.float32))) == []
