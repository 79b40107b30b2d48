"""MobileNetV2 through the C application, against `ptirc run`, torch and `ptirc eval`.

    .venv/bin/python examples/c/run_mobilenet.py [--size full|tiny] [--runs 50] [--threads 2]

Builds ptir_app (scripts/build_c_app.sh), writes the model (make_mobilenet.py, seeded
random weights), lowers it with `ptirc lower`, runs it with the C app on local-task and
local-sync and with `ptirc run`, and compares the logits (max abs difference, the
tolerance rule of configs/conformance.json for model.mobilenet_v2 on llvm-cpu, top-5).
Then the latency: the C app's median of --runs calls after warm-up, beside `ptirc eval
--workload bench`'s ptir-llvm-cpu median, both with --threads workers, measured one
after the other (the C app before and after ptirc, as timings drift on a shared
machine).  Files go to build/c_app/mobilenet-SIZE.  Exits 1 if anything is out of
tolerance or the top-5 differ.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

from ptir.configs import CONFORMANCE
from ptir.conformance.tolerance import compare, load_rules

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from make_mobilenet import make  # noqa: E402  (the script beside this one)


def sh(*cmd: str) -> str:
    """Run a command from the checkout; its stdout, or exit with its stderr."""
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r.stdout


def c_app(app: str, files: dict, out: str, *extra: str) -> str:
    return sh(app, files["model.vmfb"], "--params", files["weights"], "--input", files["input"],
              "--output", out, *extra)


def top5(logits: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-logits.ravel(), kind="stable")[:5]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=("full", "tiny"), default="full")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    ptirc = (sys.executable, "-m", "ptir.cli")
    out = os.path.join(ROOT, "build", "c_app", f"mobilenet-{args.size}")

    app = sh("bash", "scripts/build_c_app.sh").split("ptir_app: ", 1)[1].split()[0]
    print(f"C app: {app}")
    files = make(out, args.size, torch_reference=True)
    files["model.vmfb"] = os.path.join(out, "model.vmfb")
    sh(*ptirc, "lower", files["model"], "--target", "llvm-cpu", "-o", files["model.vmfb"])
    print(f"model: {os.path.relpath(files['model.vmfb'], ROOT)} ({os.path.getsize(files['model.vmfb'])} bytes; weights "
          f"{os.path.getsize(files['weights'])} bytes as IREE parameters)")

    # Correctness: the C app on both devices, ptirc run and torch on the same input.
    c_app(app, files, os.path.join(out, "c_task.npy"), "--device", "local-task")
    c_app(app, files, os.path.join(out, "c_sync.npy"), "--device", "local-sync")
    np.savez(os.path.join(out, "input.npz"), x=np.load(files["input"]))
    sh(*ptirc, "run", files["model.vmfb"], "--params", files["weights"], "--inputs",
       os.path.join(out, "input.npz"), "--output", os.path.join(out, "ptirc.npz"))
    got = {"C local-task": np.load(os.path.join(out, "c_task.npy")),
           "C local-sync": np.load(os.path.join(out, "c_sync.npy"))}
    refs = {"ptirc run": np.load(os.path.join(out, "ptirc.npz"))["result0"], "torch": np.load(files["torch"])}
    tol = load_rules(CONFORMANCE).lookup("model.mobilenet_v2", "llvm-cpu", "f32")
    ok = True
    print(f"logits {refs['torch'].shape}, |torch| max {np.abs(refs['torch']).max():.3g}; tolerance "
          f"atol {tol.atol:g} rtol {tol.rtol:g} ({tol.rule} of configs/conformance.json)")
    for g_name, g in got.items():
        for r_name, r in refs.items():
            c = compare(g, r, tol.atol, tol.rtol)
            same_top5 = top5(g) == top5(r)
            ok &= c.ok and same_top5
            print(f"  {g_name} vs {r_name}: max abs diff {c.max_abs_err:.3g}, "
                  f"{'within' if c.ok else 'OUT OF'} tolerance, top-5 {'agree' if same_top5 else 'DIFFER'} "
                  f"{top5(g)}")

    # Latency, side by side.
    runs, threads = str(args.runs), str(args.threads)

    def c_latency() -> float:
        text = c_app(app, files, os.path.join(out, "c_bench.npy"), "--bench", runs, "--threads", threads)
        return float(re.search(r"median ([0-9.]+) ms", text).group(1))

    before = c_latency()
    report = json.loads(sh(*ptirc, "eval", "--model", "mobilenet_v2", "--size", args.size, "--workload",
                           "bench", "--target", "llvm-cpu", "--threads", threads, "--runs", runs,
                           "--format", "json"))
    after = c_latency()
    medians = {r["impl"]: r["median"] for r in report["results"] if r["metric"] == "latency_ms"}
    with open("/proc/cpuinfo") as f:   # the CPU beside every figure: machines of one kind differ
        info = f.read()
    name = re.search(r"^model name\s*:\s*(.*)$", info, re.M)
    cpu = f"{name[1] if name else 'unknown CPU'}, {'AVX-512' if ' avx512f' in info else 'no AVX-512'}"
    print(f"latency, MobileNetV2 {args.size}, batch 1, {threads} threads, median of {runs} runs after "
          f"warm-up ({cpu}, {os.cpu_count()} cores):")
    print(f"  C app (ptir_app, local-task)      {before:8.3f} ms before ptirc eval, {after:.3f} ms after")
    for impl, ms in medians.items():
        print(f"  ptirc eval --workload bench {impl:<14} {ms:8.3f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
