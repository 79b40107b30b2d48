"""The one compile pipeline: every stage is an event its observers see, in order and
with its time; dumps, the profiler and `ptirc lower` only subscribe to it."""

import ast
import json
import os

import numpy as np
import pytest

import ptir
from ptir.cli import main
from ptir.errors import UsageError
from ptir.passes import DEFAULT_PIPELINE
from ptir.runtime.profile import Profiler
from ptir.runtime.stages import Observer, stage_names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Recorder(Observer):
    wants_files = True

    def __init__(self):
        self.log = []

    def compile_started(self, job):
        self.log.append(("start", job.name, job.target))

    def stage(self, job, event):
        self.log.append(("stage", event.stage, event.seconds, event.content is not None or event.path is not None))

    def compile_finished(self, job, ok):
        self.log.append(("end", ok))

    def called(self, job, start, seconds):
        self.log.append(("call", job.name, seconds))

    def stages(self):
        return [e[1] for e in self.log if e[0] == "stage"]


@pytest.mark.parametrize("target", ["ref", "llvm-cpu", "xla-cpu"])
def test_observers_see_every_stage_in_order(target, mlp, mlp_params, mlp_input):
    rec = Recorder()
    f = ptir.compile(mlp, target=target, params=mlp_params, observers=[rec])
    assert rec.log[0] == ("start", "mlp", target) and rec.log[-1] == ("end", True)
    assert rec.stages() == stage_names(target, [*DEFAULT_PIPELINE, "fold-params"], files_only=False)
    timed = {e[1] for e in rec.log if e[0] == "stage" and e[2] is not None}
    assert {"ptir", "pass.cse"} <= timed and all(e[2] is None or e[2] >= 0 for e in rec.log if e[0] == "stage")
    f(mlp_input)
    assert rec.log[-1][:2] == ("call", "mlp") and rec.log[-1][2] > 0


def test_observing_sees_compiles_made_anywhere_inside(mlp, mlp_params, mlp_input):
    prof, rec = Profiler(), Recorder()
    with ptir.observing(prof), ptir.observing(rec):
        ptir.compile(mlp, target="xla-cpu", params=mlp_params, passes=())(mlp_input)
    ptir.compile(mlp, target="ref", params=mlp_params)   # outside: not seen
    assert [e for e in rec.log if e[0] == "start"] == [("start", "mlp", "xla-cpu")]
    stages = {r["stage"]: r for r in prof.stage_rows()}
    assert {"ptir", "stablehlo", "xla.compile"} <= set(stages) and stages["stablehlo"]["phase"] == "lower"
    assert [r["call"] for r in prof.call_rows()] == ["call mlp@xla-cpu"]


def test_a_failed_compile_is_reported_as_such(mlp):
    rec = Recorder()
    with pytest.raises(ptir.PtirError, match="missing weight"):
        ptir.compile(mlp, target="ref", params={}, observers=[rec], passes=())
    assert rec.log[-1] == ("end", False)


def test_the_artifact_is_a_typed_result(mlp, mlp_params):
    vmfb = ptir.compile(mlp, target="llvm-cpu").artifact
    assert vmfb.kind == "vmfb" and vmfb.ext == ".vmfb" and b"IREE" in vmfb.data[:256]   # a FlatBuffer module
    assert ptir.compile(mlp, target="xla-cpu", params=mlp_params).artifact is None
    lowered = ptir.compile(mlp, target="llvm-cpu", until="stablehlo")
    assert lowered.executable is None and lowered.artifact is None
    assert "stablehlo.dot_general" in lowered.lowered.text and "util.global" not in lowered.lowered.text


def test_lower_to_stablehlo_with_a_dump_compiles_once(tmp_path):
    rec = Recorder()
    out, dump = tmp_path / "m.mlir", tmp_path / "dump"
    with ptir.observing(rec):
        assert main(["lower", os.path.join(ROOT, "examples", "mlp.ptir"), "--target", "llvm-cpu",
                     "--emit", "stablehlo", "-o", str(out), "--dump-dir", str(dump)]) == 0
    assert [e for e in rec.log if e[0] == "start"] == [("start", "mlp", "llvm-cpu")]
    assert rec.stages().count("stablehlo") == 1 and "iree.compile" not in rec.stages()
    index = json.loads((dump / "index.json").read_text())["stages"]
    (written,) = [e["file"] for e in index if e["stage"] == "stablehlo"]
    assert (dump / written).read_text() == out.read_text()


def test_a_dump_never_deletes_files_it_did_not_write(tmp_path, mlp, mlp_params):
    d = tmp_path / "project"
    (d / "sub").mkdir(parents=True)
    (d / "notes.md").write_text("mine")
    (d / "sub" / "own.txt").write_text("mine too")
    with pytest.raises(UsageError, match="not empty and is not an earlier dump"):
        ptir.compile(mlp, target="ref", params=mlp_params, dump_dir=str(d))
    assert (d / "notes.md").read_text() == "mine" and (d / "sub" / "own.txt").read_text() == "mine too"
    assert sorted(os.listdir(d)) == ["notes.md", "sub"]


def test_a_dump_replaces_an_earlier_dump(tmp_path, mlp, mlp_params):
    d = tmp_path / "dump"
    ptir.compile(mlp, target="ref", params=mlp_params, dump_dir=str(d))
    first = sorted(os.listdir(d))
    ptir.compile(mlp, target="ref", params=mlp_params, passes=(), dump_dir=str(d))
    assert sorted(os.listdir(d)) == ["00-ptir.ptir", "index.json"] != first


def test_unknown_compile_option_is_a_usage_error(mlp):
    with pytest.raises(UsageError, match="unknown compile option.*colour"):
        ptir.compile(mlp, target="ref", colour="red")


def test_nothing_in_the_library_is_replaced_at_run_time():
    """Instrumentation subscribes to the pipeline: no module attribute is assigned from
    outside its module, and nothing rebinds ptir.compile."""
    offenders = []
    for folder in ("ptir", "models", "conformance"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if not f.endswith(".py"):
                    continue
                path = os.path.join(dirpath, f)
                tree = ast.parse(open(path, encoding="utf-8").read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and \
                            ast.unparse(node.args[0]) != "self":   # an object's own attributes are its business
                        offenders.append(f"{path}:{node.lineno}: setattr")
                    if isinstance(node, ast.Assign) and any(
                            isinstance(t, ast.Attribute) and ast.unparse(t) in ("ptir.compile", "ptir.lower")
                            for t in node.targets):
                        offenders.append(f"{path}:{node.lineno}: {ast.unparse(node.targets[0])} =")
    assert not offenders, offenders


def test_numbers_do_not_depend_on_observers(mlp, mlp_params, mlp_input):
    plain = ptir.compile(mlp, target="llvm-cpu", params=mlp_params)(mlp_input)
    with ptir.observing(Recorder()):
        watched = ptir.compile(mlp, target="llvm-cpu", params=mlp_params)(mlp_input)
    np.testing.assert_array_equal(plain, watched)
