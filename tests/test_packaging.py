"""The packaging: every package folder of the source tree is listed in pyproject.toml (a
folder left out would be missing from a wheel, while an editable install still finds
it), and, on request, the non-editable install works outside the checkout
(scripts/check_install.sh)."""

from __future__ import annotations

import os
import subprocess
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
    SETUPTOOLS = tomllib.load(f)["tool"]["setuptools"]

# Installed package -> its folder in the repository: ptir/ as itself, the top-level
# folders models/, conformance/ and configs/ as ptir.models, ptir.conformance, ptir.configs.
ROOTS = {"ptir": "ptir", **SETUPTOOLS["package-dir"]}


def folder_of(package: str) -> str:
    """The repository folder a dotted package name installs from (its longest mapped prefix)."""
    base = max((p for p in ROOTS if package == p or package.startswith(p + ".")), key=len)
    return os.path.join(ROOT, ROOTS[base], *package[len(base):].split(".")[1:])


def source_packages() -> dict[str, str]:
    """Every folder under ptir/, models/, conformance/ and configs/ holding .py files -> its package name."""
    out = {}
    for package, folder in ROOTS.items():
        base = os.path.join(ROOT, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            if any(f.endswith(".py") for f in filenames):
                rel = os.path.relpath(dirpath, base)
                out[os.path.relpath(dirpath, ROOT)] = package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}"
    return out


def test_package_dirs_are_the_expected_ones():
    assert ROOTS == {"ptir": "ptir", "ptir.models": "models", "ptir.conformance": "conformance",
                     "ptir.configs": "configs"}


def test_every_package_folder_is_listed():
    listed = set(SETUPTOOLS["packages"])
    missing = sorted(f"{folder} ({package})" for folder, package in source_packages().items() if package not in listed)
    assert not missing, f"folders with .py files missing from [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_listed_package_exists():
    gone = [p for p in SETUPTOOLS["packages"] if not os.path.isdir(folder_of(p))]
    assert not gone, f"[tool.setuptools] packages lists packages with no folder: {gone}"


@pytest.mark.skipif(os.environ.get("PTIR_CHECK_INSTALL") != "1",
                    reason="builds a wheel and runs ptirc from a fresh venv (minutes): set PTIR_CHECK_INSTALL=1")
def test_non_editable_install_works_outside_the_checkout():
    script = os.path.join(ROOT, "scripts", "check_install.sh")
    r = subprocess.run(["bash", script], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"check_install.sh exited {r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
