"""`ptirc eval` end to end on the tiny vision models: every workload, the output formats,
suites, profiles and dumps, and the errors of bad usage."""

import json
import os

import numpy as np
from PIL import Image

from ptir.cli import main
from ptir.configs import SUITES


def test_validate_reports_errors_within_tolerance(ptirc, tiny_weights):
    code, out, err = ptirc("eval", "-m", "resnet34", "--weights", tiny_weights["resnet34"], "-t", "llvm-cpu",
                           "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["rule"] != "default"
    assert 0 < report["max_abs_err"] <= report["atol"] + report["rtol"] * report["ref_absmax"]


def test_validate_fails_on_a_mismatch(ptirc, tiny_weights, tmp_path):
    rules = tmp_path / "strict.json"
    rules.write_text(json.dumps({"default": {"atol": 0, "rtol": 0}}))
    code, out, err = ptirc("eval", "-m", "mobilenet_v2", "--weights", tiny_weights["mobilenet_v2"], "-t", "xla-cpu",
                           "--tolerances", rules)
    assert code == 1 and "out of tolerance" in err and "False" in out


def test_trace_compares_every_layer(ptirc, tiny_weights):
    code, out, err = ptirc("eval", "-m", "mobilenet_v2", "--weights", tiny_weights["mobilenet_v2"], "-w", "trace",
                           "-t", "xla-cpu", "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    assert [r["layer"] for r in report["layers"]] == [f"features.{i}" for i in range(11)] + ["classifier"]
    assert report["first_bad_layer"] is None


def test_trace_stops_at_the_first_bad_layer(ptirc, tiny_weights, tmp_path):
    rules = tmp_path / "strict.json"
    rules.write_text(json.dumps({"default": {"atol": 0, "rtol": 0}}))
    code, out, err = ptirc("eval", "-m", "resnet34", "--weights", tiny_weights["resnet34"], "-w", "trace",
                           "-t", "llvm-cpu", "--tolerances", rules, "-f", "csv")
    assert code == 1 and "layer relu is the first out of tolerance" in err
    assert out.splitlines()[0].startswith("layer,") and len(out.splitlines()) == 2   # header, relu


def test_bench_json_shape(ptirc, tiny_weights):
    code, out, err = ptirc("eval", "-m", "resnet34", "--weights", tiny_weights["resnet34"], "-w", "bench",
                           "-t", "xla-cpu", "--runs", 2, "--warmup", 1, "--threads", 1, "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["model"] == "resnet34" and report["target"] == "xla-cpu" and report["threads"] == 1
    impls = {(r["impl"], r["metric"]) for r in report["results"]}
    assert impls == {(i, m) for i in ("ptir-xla-cpu", "torch-eager") for m in ("latency_ms", "images_per_s")}
    assert all(r["n"] == 2 and r["min"] <= r["median"] <= r["max"] for r in report["results"])
    assert report["compile_s"]["ptir-xla-cpu"] > 0 and report["versions"]["torch"]


def test_bench_table_and_csv(ptirc, tiny_weights):
    args = ("eval", "-m", "mobilenet_v2", "--weights", tiny_weights["mobilenet_v2"], "-w", "bench", "-t", "ref",
            "--runs", 1, "--warmup", 0)
    code, out, _ = ptirc(*args)
    assert code == 0 and "ptir-ref" in out and "torch-eager" in out and "images/s" in out
    code, out, _ = ptirc(*args, "-f", "csv")
    assert out.splitlines()[0].startswith("impl,latency_median_ms") and len(out.splitlines()) == 3


def test_run_classifies_an_image(ptirc, tiny_weights, tmp_path):
    image = tmp_path / "cat.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(image)
    code, out, err = ptirc("eval", "-m", "resnet34", "--weights", tiny_weights["resnet34"], "-w", "run",
                           "--image", image, "-t", "llvm-cpu", "-f", "json")
    assert code == 0, err
    top5 = json.loads(out)["top5"]
    assert [r["rank"] for r in top5] == [1, 2, 3, 4, 5] and 0.1 < sum(r["prob"] for r in top5) <= 1
    assert all(a["prob"] >= b["prob"] for a, b in zip(top5, top5[1:], strict=False))


def test_run_with_a_bad_image(ptirc, tiny_weights, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    code, _, err = ptirc("eval", "-m", "resnet34", "--weights", tiny_weights["resnet34"], "-w", "run",
                         "--image", bad, "-t", "ref")
    assert code == 1 and "cannot read image" in err and "Traceback" not in err


def test_profile_dump_and_chrome_trace(ptirc, tiny_weights, tmp_path):
    dump, trace = tmp_path / "dump", tmp_path / "trace.json"
    code, _, err = ptirc("eval", "-m", "mobilenet_v2", "--weights", tiny_weights["mobilenet_v2"], "-t", "xla-cpu",
                         "--dump-dir", dump, "--profile", "--trace-json", trace)
    assert code == 0, err
    stages = [e["stage"] for e in json.loads((dump / "index.json").read_text())["stages"]]
    assert stages[0] == "ptir" and "stablehlo" in stages and "xla.hlo" in stages
    for stage in ("ptir", "passes", "stablehlo", "xla.compile", "forward@xla-cpu"):
        assert stage in err
    events = json.loads(trace.read_text())["traceEvents"]
    assert {e["ph"] for e in events} == {"X"} and {"trace", "passes", "lower", "compile", "run"} <= {
        e["cat"] for e in events}


def test_suite_runs_every_entry(ptirc, tiny_weights, tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"runs": [
        {"model": "resnet34", "weights": tiny_weights["resnet34"], "workload": "validate"},
        {"model": "mobilenet_v2", "weights": tiny_weights["mobilenet_v2"], "workload": "run"}]}))
    code, out, err = ptirc("eval", "--suite", suite, "-t", "ref", "-f", "json")
    assert code == 0, err
    reports = json.loads(out)
    assert [r["target"] for r in reports] == ["ref", "ref"] and "top5" in reports[1]


def test_shipped_suites_are_valid():
    from ptir.cli.eval_cmds import read_suite

    root = SUITES
    for name in os.listdir(root):
        assert read_suite(os.path.join(root, name), {})


def test_usage_errors_exit_2(ptirc, tmp_path):
    assert ptirc("eval", "-m", "alexnet")[0] == 2
    assert ptirc("eval", "-m", "resnet34", "-w", "fly")[0] == 2
    assert ptirc("eval", "-m", "resnet34", "-t", "tpu")[0] == 2
    assert ptirc("eval")[0] == 2
    assert ptirc("eval", "-m", "resnet34", "--trace-json", tmp_path / "t.json")[0] == 2
    bad = tmp_path / "suite.json"
    bad.write_text(json.dumps({"runs": [{"model": "resnet34", "colour": "red"}]}))
    code, _, err = ptirc("eval", "--suite", bad)
    assert code == 2 and "runs[0]: unknown key(s) colour" in err


def test_profiler_self_times_add_up():
    import time

    from ptir.runtime.profile import Profiler

    prof = Profiler()
    with prof.span("iree.compile", "compile"):
        with prof.span("stablehlo", "lower"):
            time.sleep(0.01)
    call = prof.calls(lambda x: x + 1, "main")
    assert call(1) == 2 and call(2) == 3
    compile_span = next(s for s in prof.spans if s.name == "iree.compile")
    assert compile_span.self_seconds < compile_span.seconds
    phases = prof.phase_seconds()
    assert abs(sum(phases.values()) - compile_span.seconds - sum(
        s.seconds for s in prof.spans if s.phase == "run")) < 1e-9
    assert [r["call"] for r in prof.call_rows()] == ["call main"] and prof.call_rows()[0]["n"] == 2
    events = prof.chrome_trace()["traceEvents"]
    assert [e["name"] for e in events][:2] == ["iree.compile", "stablehlo"] and all(e["ph"] == "X" for e in events)


def test_bench_peers_and_plot(tmp_path, capsys):
    """Every peer runs beside PTIR in one process, and --plot draws them."""
    chart = tmp_path / "chart.png"
    assert main(["eval", "-m", "mobilenet_v2", "--size", "tiny", "-w", "bench", "--runs", "2", "--warmup", "1",
                 "--peers", "torch-eager,torch-compile,onnxruntime", "--format", "json", "--plot", str(chart)]) == 0
    data = json.loads(capsys.readouterr().out)
    impls = {r["impl"] for r in data["results"] if r["metric"] == "latency_ms"}
    assert impls == {"ptir-llvm-cpu", "torch-eager", "torch-compile", "onnxruntime"}
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_bench_gpt2_prefill_and_decode(capsys):
    assert main(["eval", "-m", "gpt2", "--size", "tiny", "-w", "bench", "--runs", "1", "--warmup", "0",
                 "--max-tokens", "4", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    metrics = {(r["impl"], r["metric"]) for r in data["results"]}
    assert metrics == {(i, m) for i in ("ptir-llvm-cpu", "torch-eager") for m in ("prefill_ms", "decode_tok_s")}
