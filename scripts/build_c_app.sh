#!/usr/bin/env bash
# Build the C application of examples/c (ptir_app) against IREE's C runtime, compiled
# from source: the pip wheels ship no C headers or libraries.
#
#   bash scripts/build_c_app.sh [--embed MODEL.vmfb]
#
# IREE_SOURCE_DIR is either the vendored runtime snapshot (a folder with
# iree-src-*.tar.xz and flatcc-*.tar.xz; default ../shared/vendor/iree-runtime beside
# the checkout, which may be read-only) or an IREE source checkout of the version that
# compiles the modules, with third_party/flatcc checked out. --embed also builds
# ptir_app_embedded, with MODEL.vmfb compiled into it by iree-c-embed-data.
#
# Everything is cached under build/c_app (unpacked sources, the CMake build): a second
# run only rebuilds what changed. It prints where the app is.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/c_app
build=$out/build
embed=
while [ $# -gt 0 ]; do
  case $1 in
    --embed) [ $# -gt 1 ] || { echo "build_c_app.sh: --embed needs a .vmfb" >&2; exit 2; }
             embed=$2; shift 2;;
    --embed=*) embed=${1#--embed=}; shift;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
    *) echo "build_c_app.sh: unknown argument '$1' (usage: bash scripts/build_c_app.sh [--embed MODEL.vmfb])" >&2
       exit 2;;
  esac
done
fail() { echo "build_c_app.sh: $*" >&2; exit 1; }
[ -z "$embed" ] || [ -f "$embed" ] || fail "--embed: no such file '$embed'"

# CMake >= 3.26 (IREE's minimum; Debian 12 has 3.25) and ninja: the pip packages in
# .venv (the `test` extra; bash scripts/setup.sh installs them) come first.
export PATH="$PWD/.venv/bin:$PATH"
cmake_version=$(cmake --version 2>/dev/null | awk 'NR == 1 {print $3}')
if [ -z "$cmake_version" ] || [ "$(printf '3.26\n%s\n' "$cmake_version" | sort -V | head -1)" != 3.26 ] \
    || ! command -v ninja >/dev/null; then
  fail "needs CMake >= 3.26 (found '${cmake_version:-none}') and ninja: bash scripts/setup.sh installs them into .venv"
fi
embed_tool=$(command -v iree-c-embed-data || true)
[ -n "$embed" ] && [ -z "$embed_tool" ] && fail "iree-c-embed-data not found (it ships in the iree-base-runtime wheel)"

mkdir -p "$out"
exec 9>"$out/.lock"   # one build at a time (parallel test sessions share the cache)
flock 9 2>/dev/null || true

# The IREE source tree: a checkout as it is, or the snapshot unpacked once.
src=${IREE_SOURCE_DIR:-../shared/vendor/iree-runtime}
if [ -f "$src/runtime/src/iree/runtime/api.h" ]; then
  [ -f "$src/third_party/flatcc/CMakeLists.txt" ] \
    || fail "$src/third_party/flatcc is empty: git -C $src submodule update --init third_party/flatcc"
  tree=$(cd "$src" && pwd)
else
  iree_tar=$(ls "$src"/iree-src-*.tar.xz 2>/dev/null | head -1 || true)
  flatcc_tar=$(ls "$src"/flatcc-*.tar.xz 2>/dev/null | head -1 || true)
  [ -n "$iree_tar" ] && [ -n "$flatcc_tar" ] || fail "no IREE runtime sources in '$src': set IREE_SOURCE_DIR to \
the vendored snapshot (iree-src-*.tar.xz, flatcc-*.tar.xz) or to an IREE checkout"
  key=$(cat "$iree_tar" "$flatcc_tar" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$out/src/.unpacked" 2>/dev/null)" != "$key" ]; then
    echo "unpacking $(basename "$iree_tar") and $(basename "$flatcc_tar") into $out/src" >&2
    rm -rf "$out/src" && mkdir -p "$out/src"
    tar -xJf "$iree_tar" -C "$out/src"
    tar -xJf "$flatcc_tar" -C "$out/src/iree/third_party"   # the one submodule a runtime build needs
    echo "$key" > "$out/src/.unpacked"
  fi
  tree=$PWD/$out/src/iree
fi

# Configure once per source tree (CMake cannot move an add_subdirectory to another
# tree in place); later runs go straight to the incremental build.
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$build/.iree-tree" 2>/dev/null)" != "$tree" ]; then
  echo "configuring (IREE runtime only) in $build" >&2
  rm -rf "$build"
  # IREE's submodule check runs git in its tree: the snapshot has no .git, so git
  # would inspect this repository instead. flatcc, the one submodule needed, is
  # checked above.
  if ! cmake -G Ninja -S examples/c -B "$build" -DCMAKE_BUILD_TYPE=Release -DIREE_ROOT_DIR="$tree" \
      -DIREE_ERROR_ON_MISSING_SUBMODULES=OFF -DPTIR_EMBED_VMFB="$PWD/$build/embedded/model.vmfb" \
      -DPTIR_C_EMBED_DATA="${embed_tool:-iree-c-embed-data}" >"$out/configure.log" 2>&1; then
    tail -20 "$out/configure.log" >&2
    fail "configuring failed (the whole log: $out/configure.log)"
  fi
  echo "$tree" > "$build/.iree-tree"
fi

targets=(ptir_app)
if [ -n "$embed" ]; then
  mkdir -p "$build/embedded"
  cmp -s "$embed" "$build/embedded/model.vmfb" || cp "$embed" "$build/embedded/model.vmfb"
  targets+=(ptir_app_embedded)
fi
[ -f "$build/ptir_app" ] || echo "building IREE's runtime and ptir_app (first time: about a minute on 2 cores)" >&2
if ! cmake --build "$build" -j2 --target "${targets[@]}" >"$out/build.log" 2>&1; then
  grep -E -B2 -A12 'error|FAILED' "$out/build.log" | head -40 >&2
  fail "the build failed (the whole log: $out/build.log)"
fi
echo "ptir_app: $build/ptir_app"
[ -z "$embed" ] || echo "ptir_app_embedded: $build/ptir_app_embedded (module: $embed)"
