"""Tolerance rules (configs/conformance.json) and the comparison they govern.

    {"default": {"atol": 1e-5, "rtol": 1e-5},
     "dtypes": {"f16": {"atol": 1e-3, "rtol": 1e-3}, ...},
     "rules": [{"backend": "llvm-cpu", "atol": 1e-4, "reason": "..."},
               {"backend": "llvm-cpu", "test": "top_k_ties", "xfail": "..."}]}

A value passes when |got - want| <= atol + rtol * |want| elementwise, with NaN where the
reference has NaN and equal infinities; integers and booleans must be equal.

Which tolerance applies: a rule matches a case when its `backend`, `test` and `dtype`
keys (each optional; `*` wildcards in backend and test) all match.  Precedence is
default < backend < test < backend+test (a rule's `dtype` key makes it one step more
specific within its kind); among rules of the same specificity the later one wins;
`atol`, `rtol`, `agreement` and `xfail` are each taken from the most specific rule that
sets them.  `agreement` (default 1) is for models with reduced-precision weights: the
least share of positions whose argmax must equal the reference's.
The start is `default`, or the case dtype's entry in `dtypes`, which is also a floor:
no rule makes a dtype tighter than its own default.  A rule that loosens a tolerance
or marks an xfail must say why (`reason`, or the xfail text).
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass

import numpy as np

from ptir.errors import PtirError

RULE_KEYS = {"backend", "test", "dtype", "atol", "rtol", "agreement", "xfail", "reason"}


class ConfigError(PtirError):
    stage = "config"


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    rule: str            # where it came from: "default", "dtypes.f16", "rules[3]", ...
    xfail: str | None = None
    agreement: float = 1.0   # the least share of positions whose argmax must match (narrow weights)


@dataclass(frozen=True)
class Rule:
    index: int
    backend: str | None
    test: str | None
    dtype: str | None
    atol: float | None
    rtol: float | None
    xfail: str | None
    agreement: float | None = None

    @property
    def specificity(self) -> int:
        level = {(False, False): 0, (True, False): 1, (False, True): 2, (True, True): 3}[
            (self.backend is not None, self.test is not None)]
        return 2 * level + (self.dtype is not None)

    def matches(self, test: str, backend: str, dtype: str | None) -> bool:
        return ((self.backend is None or fnmatch.fnmatchcase(backend, self.backend))
                and (self.test is None or fnmatch.fnmatchcase(test, self.test))
                and (self.dtype is None or self.dtype == dtype))


class Rules:
    def __init__(self, default: tuple[float, float], dtypes: dict[str, tuple[float, float]], rules: list[Rule],
                 source: str = "<rules>"):
        self.default, self.dtypes, self.rules, self.source = default, dtypes, rules, source

    def lookup(self, test: str, backend: str, dtype: str | None = None) -> Tolerance:
        base_name = f"dtypes.{dtype}" if dtype in self.dtypes else "default"
        floor = self.dtypes.get(dtype, self.default)
        chosen: dict[str, tuple[int, int, object]] = {}
        for r in self.rules:
            if not r.matches(test, backend, dtype):
                continue
            for field in ("atol", "rtol", "xfail", "agreement"):
                value = getattr(r, field)
                key = (r.specificity, r.index)
                if value is not None and (field not in chosen or key >= chosen[field][:2]):
                    chosen[field] = (*key, value)
        atol = max(floor[0], chosen["atol"][2]) if "atol" in chosen else floor[0]
        rtol = max(floor[1], chosen["rtol"][2]) if "rtol" in chosen else floor[1]
        used = sorted({chosen[f][1] for f in ("atol", "rtol") if f in chosen
                       and chosen[f][2] == (atol if f == "atol" else rtol)})
        rule = ",".join(f"rules[{i}]" for i in used) or base_name
        return Tolerance(atol, rtol, rule, chosen["xfail"][2] if "xfail" in chosen else None,
                         chosen["agreement"][2] if "agreement" in chosen else 1.0)


def _number(value, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: '{key}' must be a finite number >= 0, not {json.dumps(value)}")
    return float(value)


def _pair(obj, where: str) -> tuple[float, float]:
    if not isinstance(obj, dict) or set(obj) - {"atol", "rtol"} or not {"atol", "rtol"} <= set(obj):
        raise ConfigError(f"{where}: needs exactly 'atol' and 'rtol'")
    return _number(obj["atol"], where, "atol"), _number(obj["rtol"], where, "rtol")


def parse_rules(data, source: str = "<rules>") -> Rules:
    if not isinstance(data, dict) or "default" not in data:
        raise ConfigError(f"{source}: needs an object with 'default' (and optional 'dtypes', 'rules')")
    unknown = set(data) - {"default", "dtypes", "rules", "comment"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    default = _pair(data["default"], f"{source}: default")
    dtypes = {}
    for name, pair in (data.get("dtypes") or {}).items():
        dtypes[name] = _pair(pair, f"{source}: dtypes.{name}")
    rules = []
    raw = data.get("rules", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: 'rules' must be a list")
    for i, r in enumerate(raw):
        where = f"{source}: rules[{i}]"
        if not isinstance(r, dict):
            raise ConfigError(f"{where}: must be an object")
        bad = set(r) - RULE_KEYS
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(bad))} "
                              f"(known: {', '.join(sorted(RULE_KEYS))})")
        for key in ("backend", "test", "dtype", "reason", "xfail"):
            if key in r and (not isinstance(r[key], str) or not r[key].strip()):
                raise ConfigError(f"{where}: '{key}' must be a non-empty string")
        if not {"atol", "rtol", "agreement", "xfail"} & set(r):
            raise ConfigError(f"{where}: sets none of atol, rtol, agreement, xfail")
        if ({"atol", "rtol", "agreement"} & set(r)) and "reason" not in r:
            raise ConfigError(f"{where}: a tolerance rule must say why ('reason')")
        agreement = _number(r["agreement"], where, "agreement") if "agreement" in r else None
        if agreement is not None and agreement > 1:
            raise ConfigError(f"{where}: 'agreement' is a share of positions, at most 1, not {agreement:g}")
        rules.append(Rule(i, r.get("backend"), r.get("test"), r.get("dtype"),
                          _number(r["atol"], where, "atol") if "atol" in r else None,
                          _number(r["rtol"], where, "rtol") if "rtol" in r else None, r.get("xfail"), agreement))
    return Rules(default, dtypes, rules, source)


def load_rules(path: str) -> Rules:
    from ptir.io import read_json

    return parse_rules(read_json(path, ConfigError), path)


@dataclass(frozen=True)
class Comparison:
    ok: bool
    max_abs_err: float
    max_rel_err: float
    message: str = ""


def compare(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> Comparison:
    """Elementwise check of `got` against the reference `want`."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return Comparison(False, math.inf, math.inf, f"shape {got.shape} != reference {want.shape}")
    if want.dtype.kind in "biu" or got.dtype.kind in "biu":
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        bad = int((got != want).sum())
        m = float(diff.max()) if diff.size else 0.0
        return Comparison(bad == 0, m, m, f"{bad} of {got.size} elements differ" if bad else "")
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_ok = np.isnan(w) == np.isnan(g)
    inf_ok = np.where(np.isinf(w) | np.isinf(g), g == w, True)
    finite = np.isfinite(w) & np.isfinite(g)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(g - w), 0.0)
    close = diff <= atol + rtol * np.abs(np.where(finite, w, 0.0))
    ok_mask = nan_ok & inf_ok & (close | ~finite)
    rel = np.where(finite & (w != 0), diff / np.abs(np.where(w == 0, 1.0, w)), np.where(diff > 0, np.inf, 0.0))
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    bad = int((~ok_mask).sum())
    msg = ""
    if bad:
        i = np.unravel_index(int(np.argmax(~ok_mask)), got.shape) if got.ndim else ()
        msg = (f"{bad} of {got.size} elements out of tolerance; first at {[int(j) for j in i]}: "
               f"got {float(g[i])!r}, want {float(w[i])!r}")
    return Comparison(bad == 0, max_abs, max_rel, msg)
