"""Helpers of the C application tests: where the checkout is, the build script, ptirc
in-process, and the app run as a subprocess."""

from __future__ import annotations

import glob
import os
import subprocess
from dataclasses import dataclass

import ptir.cli

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def iree_sources() -> str | None:
    """The IREE runtime sources the build script would use, None when there are none."""
    src = os.environ.get("IREE_SOURCE_DIR") or os.path.join(ROOT, "..", "shared", "vendor", "iree-runtime")
    checkout = os.path.isfile(os.path.join(src, "runtime", "src", "iree", "runtime", "api.h"))
    return src if checkout or glob.glob(os.path.join(src, "iree-src-*.tar.xz")) else None


def build(*args: str) -> dict[str, str]:
    """scripts/build_c_app.sh; the paths it prints, by program name."""
    r = subprocess.run(["bash", "scripts/build_c_app.sh", *args], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {name: os.path.join(ROOT, path.split()[0]) for name, path in
            (line.split(": ", 1) for line in r.stdout.splitlines())}


def ptirc(*argv: str) -> None:
    assert ptir.cli.main(list(argv)) == 0, argv


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_app(app: str, *args: str) -> Run:
    r = subprocess.run([app, *args], capture_output=True, timeout=300)
    return Run(r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))
