#!/usr/bin/env bash
# Proves that the non-editable install of ptir works outside the checkout:
#
#   1. a wheel of the checkout builds quietly: no "Deprecat..." and no "BuildBackendWarning"
#      in pip's output (-v, so that the output of every build step is searched, not only
#      the warnings pip passes on by itself);
#   2. the wheel installs into a fresh venv, and holds one top-level package, `ptir`
#      (models/, conformance/ and configs/ install as ptir.models, ptir.conformance,
#      ptir.configs, with their package data), so `import models` fails there;
#   3. from a folder outside the checkout, `ptirc --help`, a tiny `ptirc eval`, a
#      `ptirc conformance` run and the installed smoke suite all exit 0, and every ptir
#      module each of them loaded came from the fresh venv, never from the checkout.
#
# The wheel is built from a snapshot of the working tree (the files git tracks or does not
# ignore) copied into the temporary folder, so the build writes nothing into the checkout
# and no stale build/ folder of an earlier build can leak files into the wheel.
#
# The fresh venv gets ptir alone (--no-deps). Its heavy dependencies (torch, jax, IREE,
# transformers, ... about 5 GB) are not reinstalled: a .pth file in its site-packages
# appends .venv's site-packages to sys.path, after the venv's own, so ptir itself (and
# its metadata) still resolves to the fresh install. A plain path line in a .pth does not
# run the .pth files of the folder it names, so .venv's editable-install hook stays off.
#
# Usage: bash scripts/check_install.sh          (exits 0 when every check passes; takes minutes)
# Env:   PYTHON      the interpreter for the fresh venv (default python3; must match .venv's version)
#        KEEP_TMP=1  keep the temporary folder for inspection
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
unset PYTHONPATH PYTHONHOME   # nothing may point back into the checkout

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ptir-check-install.XXXXXX")
cleanup() { if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

fail() { echo "check_install: FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $*"; STEP_START=$SECONDS; }
done_step() { echo "-- ok ($((SECONDS - STEP_START)) s)"; }

# --- 1. build ------------------------------------------------------------------------------
step "snapshot the working tree and build a wheel"
mkdir -p "$tmp/src" "$tmp/wheel"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
    while IFS= read -r -d '' f; do if [ -f "$ROOT/$f" ]; then printf '%s\0' "$f"; fi; done |
    tar -C "$ROOT" --null -T - -cf - | tar -C "$tmp/src" -xf -
else
  tar -C "$ROOT" --exclude=./.venv --exclude=./build --exclude='*.egg-info' --exclude=__pycache__ -cf - . |
    tar -C "$tmp/src" -xf -
fi
if ! build_log=$("$ROOT/.venv/bin/python" -m pip wheel -v --no-deps --disable-pip-version-check \
                 -w "$tmp/wheel" "$tmp/src" 2>&1); then
  echo "$build_log" >&2
  fail "pip wheel failed"
fi
if noisy=$(grep -E "Deprecat|BuildBackendWarning" <<<"$build_log"); then
  echo "$noisy" >&2
  fail "the build is not quiet: the lines above warn about deprecations"
fi
wheels=("$tmp"/wheel/ptir-*.whl)
[ -f "${wheels[0]}" ] || fail "no ptir wheel in $tmp/wheel"
echo "built $(basename "${wheels[0]}")"
done_step

# --- 2. install into a fresh venv ----------------------------------------------------------
step "install the wheel into a fresh venv (--no-deps; .venv's site-packages through a .pth)"
want=$("$ROOT/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
have=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$want" = "$have" ] || fail "$PY is Python $have but .venv is $want: set PYTHON to a python$want"
"$PY" -m venv "$tmp/venv"
VENV="$tmp/venv"
VPY="$VENV/bin/python"
"$VPY" -m pip install -q --no-deps --disable-pip-version-check "${wheels[0]}"
site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
deps=$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "$deps" > "$site/_ptir_check_install_deps.pth"
done_step

# Runs a command-line tool of the fresh venv (its console script) in a Python that, after
# the tool is done, prints ptir.__file__ and fails (exit 3) if ptir, or any ptir.* module
# loaded, is not the fresh install, or if a top-level models/conformance/configs was imported.
cat > "$tmp/checked.py" <<'EOF'
import runpy
import sys

venv, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
code = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    code = e.code
import os  # noqa: E402
import ptir  # noqa: E402  (already loaded by the tool; its module, whatever it is)

print(f"ptir.__file__ = {ptir.__file__}", file=sys.stderr)
inside = os.path.realpath(venv) + os.sep
stray = [f"{n} from {m.__file__}" for n, m in list(sys.modules.items())
         if (n == "ptir" or n.startswith("ptir.")) and getattr(m, "__file__", None)
         and not os.path.realpath(m.__file__).startswith(inside)]
stray += [f"top-level {n}" for n in ("models", "conformance", "configs") if n in sys.modules]
if stray or not os.path.realpath(ptir.__file__).startswith(inside):
    print(f"check_install: {len(stray)} module(s) not from the installed ptir in {inside}:\n  "
          + "\n  ".join(stray[:10] + ["..."] * (len(stray) > 10)), file=sys.stderr)
    sys.exit(3)
sys.exit(code)
EOF
ptirc() { "$VPY" "$tmp/checked.py" "$VENV" "$VENV/bin/ptirc" "$@"; }

# --- 3. checks, from outside the checkout --------------------------------------------------
cd "$tmp"

step "the installed distribution: one top-level package, ptir, with its package data"
"$VPY" - "$VENV" <<'EOF' || fail "the installed distribution"
import importlib.metadata as md
import os
import sys

import ptir

venv = os.path.realpath(sys.argv[1])
print("ptir.__file__ =", ptir.__file__)
assert os.path.realpath(ptir.__file__).startswith(venv + "/"), f"ptir comes from {ptir.__file__}, not {venv}"
dist = md.distribution("ptir")
where = os.path.realpath(dist.locate_file(""))
assert where.startswith(venv + "/"), f"ptir's metadata comes from {where}"
files = [str(f) for f in dist.files]
top = sorted({f.split("/")[0] for f in files
              if not f.startswith("..") and not f.split("/")[0].endswith(".dist-info")})
print("top-level entries:", top)
assert top == ["ptir"], f"the wheel installs {top}, not only ptir"
for needed in ("ptir/models/eval/__init__.py", "ptir/conformance/tolerance.py", "ptir/configs/conformance.json",
               "ptir/configs/suites/smoke.json"):
    assert needed in files, f"the wheel lacks {needed}"
EOF
done_step

step "import models / conformance / configs fail in the fresh venv"
"$VPY" - "$VENV" <<'EOF' || fail "a top-level module is importable"
import importlib
import os
import sys

import ptir

print("ptir.__file__ =", ptir.__file__)
assert os.path.realpath(ptir.__file__).startswith(os.path.realpath(sys.argv[1]) + "/"), ptir.__file__
for name in ("models", "conformance", "configs"):
    try:
        m = importlib.import_module(name)
    except ModuleNotFoundError:
        print(f"import {name}: ModuleNotFoundError (as it should)")
    else:
        raise SystemExit(f"import {name} works in the fresh venv: {getattr(m, '__file__', m)}")
EOF
"$VPY" -c "import models" 2>/dev/null && fail "python -c 'import models' succeeds in the fresh venv"
done_step

step "ptirc --help"
ptirc --help >/dev/null || fail "ptirc --help"
done_step

step "ptirc eval -m resnet34 --size tiny -t ref -f json"
ptirc eval -m resnet34 --size tiny -t ref -f json >"$tmp/eval.json" || fail "ptirc eval (tiny resnet34 on ref)"
"$VPY" - "$tmp/eval.json" <<'EOF' || fail "ptirc eval's JSON"
import json
import sys

r = json.load(open(sys.argv[1]))
print({k: r[k] for k in ("model", "target", "max_abs_err", "rule", "ok")})
assert r["ok"], r
EOF
done_step

step "ptirc conformance --target ref -k softmax"
ptirc conformance --target ref -k softmax | tail -n 5 || fail "ptirc conformance"   # pipefail: ptirc's status
done_step

suite=$("$VPY" -c 'import os; from ptir.configs import SUITES; print(os.path.join(SUITES, "smoke.json"))')
case "$suite" in "$VENV"/*) ;; *) fail "the smoke suite $suite is not the installed one" ;; esac
step "ptirc eval --suite $suite"
ptirc eval --suite "$suite" || fail "ptirc eval --suite smoke.json"
done_step

echo
echo "check_install: OK: the installed ptir works outside the checkout ($SECONDS s)"
