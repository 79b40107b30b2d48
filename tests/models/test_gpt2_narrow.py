"""GPT-2 with weights stored in bf16 or int8 (`--weights-dtype`): judged against torch f32
by next-token agreement and logit error on every target, benched under its own name, and
the bad uses refused."""

import json

import pytest

from ptir.models.generate import generator
from ptir.models.gpt2 import GPT2

TARGETS = ["ref", "llvm-cpu", "xla-cpu"]


@pytest.fixture(scope="module")
def tiny():
    config = GPT2.config("tiny")
    return config, GPT2.random_weights(config, seed=0)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype", ["bf16", "int8"])
def test_validate_measures_agreement_with_f32(ptirc, dtype, target):
    code, out, err = ptirc("eval", "-m", "gpt2", "--size", "tiny", "-t", target, "--weights-dtype", dtype, "-f", "json")
    assert code == 0, err
    r = json.loads(out)
    assert r["ok"] and r["weights_dtype"] == dtype and r["positions"] == 64
    assert r["min_agreement"] < 1 and r["agreement"] >= r["min_agreement"]
    assert 0 < r["mean_abs_err"] <= r["max_abs_err"] <= r["atol"] + r["rtol"] * r["ref_absmax"]


def test_a_stricter_rule_fails_the_run(ptirc, tmp_path):
    rules = tmp_path / "strict.json"
    rules.write_text(json.dumps({"default": {"atol": 1e-5, "rtol": 1e-5}, "rules": [
        {"test": "model.gpt2.weights-int8", "agreement": 1.0, "atol": 0.01, "reason": "stricter than int8 is"}]}))
    code, _, err = ptirc("eval", "-m", "gpt2", "--size", "tiny", "-t", "ref", "--weights-dtype", "int8",
                         "--tolerances", rules)
    assert code == 1 and "logits out of tolerance" in err


def test_narrow_decode_matches_the_reference_interpreter(tiny):
    """The same stored weights give the same greedy tokens compiled as on `ref` (the
    compilers only reassociate)."""
    config, weights = tiny
    prompt = [7, 300, 42, 5, 99]
    for dtype in ("bf16", "int8"):
        tokens = {t: list(generator(GPT2, config, weights, t, weights_dtype=dtype).generate(prompt, 8))
                  for t in ("ref", "llvm-cpu")}
        assert tokens["ref"] == tokens["llvm-cpu"], dtype


def test_bench_names_the_narrow_row(ptirc):
    code, out, err = ptirc("eval", "-m", "gpt2", "--size", "tiny", "-w", "bench", "-t", "llvm-cpu",
                           "--weights-dtype", "bf16", "--runs", "1", "--warmup", "0", "--max-tokens", "4", "-f", "json")
    assert code == 0, err
    r = json.loads(out)
    assert r["weights_dtype"] == "bf16" and set(r["compile_s"]) == {"ptir-llvm-cpu-bf16", "torch-eager"}


@pytest.mark.parametrize("argv,match", [
    (("-m", "gpt2", "--weights-dtype", "int4"), "unknown --weights-dtype 'int4'"),
    (("-m", "resnet34", "--weights-dtype", "int8"), "resnet34 has no narrow-weights mode"),
    (("-m", "gpt2", "-w", "trace", "--weights-dtype", "bf16"), "takes no --weights-dtype"),
])
def test_bad_uses_are_usage_errors(ptirc, argv, match):
    code, _, err = ptirc("eval", "--size", "tiny", *argv)
    assert code == 2 and match in err and "Traceback" not in err
