"""The tolerance rules engine: precedence, wildcards, later-wins, floors, xfail, errors."""

import json

import numpy as np
import pytest

from ptir.configs import CONFORMANCE
from ptir.conformance.tolerance import ConfigError, compare, load_rules, parse_rules

BASE = {"default": {"atol": 1e-5, "rtol": 1e-5}, "dtypes": {"f16": {"atol": 1e-3, "rtol": 1e-3}}}


def rules(*rs):
    return parse_rules(dict(BASE, rules=list(rs)))


def test_default_applies_without_rules():
    t = rules().lookup("add_f32", "llvm-cpu", "f32")
    assert (t.atol, t.rtol, t.rule, t.xfail) == (1e-5, 1e-5, "default", None)


def test_dtype_default_replaces_default():
    t = rules().lookup("add_f16", "ref", "f16")
    assert (t.atol, t.rtol, t.rule) == (1e-3, 1e-3, "dtypes.f16")


def test_precedence_default_backend_test_both():
    r = rules({"backend": "llvm-cpu", "test": "conv*", "atol": 4e-4, "reason": "both"},
              {"test": "conv*", "atol": 3e-4, "reason": "test"},
              {"backend": "llvm-cpu", "atol": 2e-4, "reason": "backend"})
    assert r.lookup("conv2d_a", "llvm-cpu", "f32").atol == 4e-4
    assert r.lookup("conv2d_a", "xla-cpu", "f32").atol == 3e-4
    assert r.lookup("add", "llvm-cpu", "f32").atol == 2e-4
    assert r.lookup("add", "xla-cpu", "f32").atol == 1e-5


def test_later_rule_of_same_specificity_wins():
    r = rules({"test": "gelu*", "rtol": 1e-4, "reason": "a"}, {"test": "gelu_*", "rtol": 2e-4, "reason": "b"})
    t = r.lookup("gelu_tanh", "ref", "f32")
    assert (t.rtol, t.rule) == (2e-4, "rules[1]")
    r = rules({"test": "gelu_*", "rtol": 2e-4, "reason": "b"}, {"test": "gelu*", "rtol": 1e-4, "reason": "a"})
    assert r.lookup("gelu_tanh", "ref", "f32").rtol == 1e-4


def test_fields_resolve_independently():
    r = rules({"backend": "xla-cpu", "atol": 1e-4, "reason": "a"}, {"test": "exp*", "rtol": 1e-4, "reason": "b"})
    t = r.lookup("exp_big", "xla-cpu", "f32")
    assert (t.atol, t.rtol, t.rule) == (1e-4, 1e-4, "rules[0],rules[1]")


def test_wildcards_match_whole_names():
    r = rules({"backend": "*-cpu", "test": "top_k_*", "atol": 1e-4, "reason": "r"})
    assert r.lookup("top_k_ties", "llvm-cpu", "f32").atol == 1e-4
    assert r.lookup("xtop_k_ties", "llvm-cpu", "f32").atol == 1e-5
    assert r.lookup("top_k_ties", "ref", "f32").atol == 1e-5


def test_dtype_default_is_a_floor():
    r = rules({"backend": "llvm-cpu", "atol": 1e-4, "reason": "r"})
    assert r.lookup("add", "llvm-cpu", "f16").atol == 1e-3


def test_dtype_key_is_more_specific():
    r = rules({"backend": "llvm-cpu", "dtype": "f32", "atol": 5e-5, "reason": "r"},
              {"backend": "llvm-cpu", "atol": 1e-4, "reason": "r"})
    assert r.lookup("add", "llvm-cpu", "f32").atol == 5e-5


def test_xfail_and_its_reason():
    r = rules({"backend": "llvm-cpu", "test": "top_k_ties", "xfail": "IREE's sort is not stable"})
    assert r.lookup("top_k_ties", "llvm-cpu", "f32").xfail == "IREE's sort is not stable"
    assert r.lookup("top_k_ties", "xla-cpu", "f32").xfail is None


def test_agreement_defaults_to_all_and_comes_from_the_most_specific_rule():
    r = rules({"test": "model.*", "agreement": 0.5, "reason": "r"},
              {"test": "model.gpt2.weights-int8", "agreement": 0.9, "reason": "r"})
    assert r.lookup("add_f32", "ref", "f32").agreement == 1.0
    assert r.lookup("model.gpt2.weights-int8", "ref", "f32").agreement == 0.9
    assert r.lookup("model.gpt2.weights-bf16", "ref", "f32").agreement == 0.5


@pytest.mark.parametrize("bad,message", [
    ({"rules": [{"backend": "x", "atol": 1e-3}]}, r"rules\[0\]: a tolerance rule must say why"),
    ({"rules": [{"test": "x", "xfail": ""}]}, r"rules\[0\]: 'xfail' must be a non-empty string"),
    ({"rules": [{"test": "x", "atol": -1, "reason": "r"}]}, r"rules\[0\]: 'atol' must be a finite number >= 0"),
    ({"rules": [{"test": "x", "tol": 1, "reason": "r"}]}, r"rules\[0\]: unknown key\(s\) tol"),
    ({"rules": [{"ok": 1}, {"test": "x"}]}, r"rules\[0\]: unknown key"),
    ({"rules": [{"test": "x", "reason": "r"}]}, r"rules\[0\]: sets none of atol, rtol, agreement, xfail"),
    ({"rules": [{"test": "x", "agreement": 0.9}]}, r"rules\[0\]: a tolerance rule must say why"),
    ({"rules": [{"test": "x", "agreement": 1.5, "reason": "r"}]}, r"rules\[0\]: 'agreement' is a share"),
    ({"rules": {"test": "x"}}, r"'rules' must be a list"),
    ({"dtypes": {"f16": {"atol": 1}}}, r"dtypes.f16: needs exactly 'atol' and 'rtol'"),
])
def test_malformed_files_name_the_bad_rule(bad, message):
    with pytest.raises(ConfigError, match=message):
        parse_rules(dict(BASE, **bad), "c.json")


def test_invalid_json_has_a_place(tmp_path):
    p = tmp_path / "c.json"
    p.write_text('{"default": {"atol": 1e-5,\n "rtol": }}')
    with pytest.raises(ConfigError, match=r"c.json:2:10: invalid JSON"):
        load_rules(str(p))


def test_committed_config_is_valid_and_explains_itself():

    path = CONFORMANCE
    r = load_rules(path)
    raw = json.load(open(path))["rules"]
    assert all("reason" in x or "xfail" in x for x in raw)
    assert r.default[0] <= 1e-5


def test_compare_rule_and_special_values():
    want = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], np.float32)
    assert compare(want.copy(), want, 0, 0).ok
    assert not compare(np.array([1.0, 0.0, np.inf, -np.inf, 0.0], np.float32), want, 1, 1).ok
    assert not compare(np.array([1.0, np.nan, -np.inf, -np.inf, 0.0], np.float32), want, 1, 1).ok
    c = compare(np.array([1.1, np.nan, np.inf, -np.inf, 0.0], np.float32), want, atol=0.0, rtol=0.2)
    assert c.ok and abs(c.max_abs_err - 0.1) < 1e-6 and abs(c.max_rel_err - 0.1) < 1e-6
    assert not compare(np.array([1.1], np.float32), np.array([1.0], np.float32), atol=0.05, rtol=0.04).ok
    assert compare(np.array([1.1], np.float32), np.array([1.0], np.float32), atol=0.05, rtol=0.06).ok


def test_compare_integers_exactly():
    assert compare(np.array([1, 2]), np.array([1, 2]), 1, 1).ok
    c = compare(np.array([1, 3]), np.array([1, 2]), 10, 10)
    assert not c.ok and "1 of 2 elements differ" in c.message
    assert not compare(np.zeros((2, 3)), np.zeros((3, 2)), 1, 1).ok
