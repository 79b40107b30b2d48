"""The conformance runner and `ptirc conformance`: statuses, report shape, exit codes."""

import json

import pytest
import torch

from ptir.cli import main
from ptir.conformance.case import Case, normal
from ptir.conformance.ops_cases import emit
from ptir.conformance.runner import CONFIG, all_cases, run_case, run_error_case
from ptir.conformance.tolerance import load_rules, parse_rules
from ptir.dialect.registry import OPS

RULES = load_rules(CONFIG)


def test_every_core_op_and_functional_has_a_case():
    import ptir.functional as F

    covered = {c.covers for c in all_cases()}
    assert {f"ptir.{name}" for name in OPS} <= covered
    functionals = set(F.__all__) - {"Tensor", "trace", "spec", "as_tensor", "Mesh", "sharded",   # types and specs
                                    "ShardingPlan", "sharding_plan"}
    assert {f"F.{name}" for name in functionals} <= covered


def test_case_names_are_unique():
    names = [c.name for c in all_cases()]
    assert len(names) == len(set(names))


def _exp_case(scale):
    return Case("exp_probe", "ptir.exp", lambda x: emit("exp", x), lambda x: torch.exp(x) * scale, [normal((3, 4))])


def test_a_wrong_result_fails_and_says_where():
    r = run_case(_exp_case(1.001), "ref", "baseline", RULES)
    assert r.status == "fail" and "elements out of tolerance" in r.message and r.max_rel_err > 5e-4


def test_xfail_and_xpass():
    rules = parse_rules({"default": {"atol": 1e-5, "rtol": 1e-5},
                         "rules": [{"test": "exp_probe", "xfail": "known"}]})
    assert run_case(_exp_case(1.001), "ref", "baseline", rules).status == "xfail"
    passing = run_case(_exp_case(1.0), "ref", "baseline", rules)
    assert passing.status == "xpass" and "marked xfail" in passing.message


def test_error_cases_check_the_message():
    case = next(c for c in all_cases() if c.name == "linear_bad_features")
    assert run_error_case(case).status == "ok"
    case.error = "something else"
    assert run_error_case(case).status == "fail"


def test_cli_report_and_table(tmp_path, capsys):
    report = tmp_path / "r.json"
    assert main(["conformance", "--target", "ref", "-k", "log_softmax_f32", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "log_softmax_f32" in out and "2 ok, 0 fail" in out
    data = json.loads(report.read_text())
    assert set(data) == {"cases", "versions", "machine"}
    case = data["cases"][0]
    assert {"test", "target", "pipeline", "status", "max_abs_err", "max_rel_err", "atol", "rtol", "rule",
            "times_ms"} <= set(case)
    assert {c["pipeline"] for c in data["cases"]} == {"baseline", "optimized"}


def test_cli_exits_1_when_a_case_fails(tmp_path, capsys):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"default": {"atol": 0, "rtol": 0}}))
    assert main(["conformance", "--target", "ref", "-k", "softmax_f32", "--rules", str(strict)]) == 1
    assert "fail: softmax_f32 [ref, baseline]" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [(["-k", "no_such_case*"], "no case matches"),
                                          (["--rules", "/nonexistent.json"], "cannot read")])
def test_cli_bad_input(argv, message, capsys):
    assert main(["conformance", "--target", "ref", *argv]) in (1, 2)
    assert message in capsys.readouterr().err
