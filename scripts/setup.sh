#!/usr/bin/env bash
# Create .venv with ptir and everything its tests need; does nothing when already current.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.ptir-setup
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setting up .venv (first time: a few minutes; torch is large)" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# pip's and setuptools' own chatter (an editable install's notice about folders named
# like the package) goes to a log, shown only when the install fails.
log=.venv/setup.log
if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e '.[test,bench]'; } \
    >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup failed (the log above is in $log)" >&2
  exit 1
fi
echo "$want" > "$stamp"
