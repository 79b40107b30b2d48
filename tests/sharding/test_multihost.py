"""One sharded artifact run by 2 processes under JAX's distributed runtime (docs/sharding.md,
"Across hosts"): each process joins with jax.distributed.initialize, owns one CPU device
and compiles the same PTIR text (GPT-2 tiny, tensor parallel over x=2); XLA's CPU
collectives (gloo) carry the all-reduces between the processes.  Every process's logits
equal the one-device run of this test's process.

Run as a script, this file is one of the processes: `python test_multihost.py DIR PID PORT`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

TIMEOUT = 60   # seconds per process (both together take ~10 s here)


def worker(folder: str, process_id: int, port: int) -> None:
    """One process: join the 2-process job, run DIR/model.ptir with DIR's weights, save its logits."""
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"   # one device per process
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=process_id)
    import ptir

    program = ptir.parse(open(os.path.join(folder, "model.ptir")).read())
    ids = np.load(os.path.join(folder, "ids.npy"))
    logits = ptir.compile(program, target="xla-cpu", params=os.path.join(folder, "weights.safetensors"))(ids)
    np.save(os.path.join(folder, f"logits{process_id}.npy"), logits)
    jax.distributed.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_run_the_tensor_parallel_artifact(tmp_path):
    import ptir
    from ptir.functional import Mesh, sharding_plan
    from ptir.models import get_model
    from ptir.models.parallel import gpt2_tensor_parallel
    from ptir.weights import save_params

    gpt2 = get_model("gpt2")
    config = gpt2.config("tiny")
    weights = gpt2.random_weights(config)
    model = gpt2.bind(config, weights)
    (ids,) = gpt2.example_inputs(config)
    with sharding_plan(gpt2_tensor_parallel(Mesh(x=2))):
        program = ptir.trace(model.forward, ids)
    (tmp_path / "model.ptir").write_text(str(program))
    save_params(model.state_dict(), tmp_path / "weights.safetensors")
    np.save(tmp_path / "ids.npy", ids)
    want = ptir.compile(model.forward, ids, target="xla-cpu")(ids)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    procs = [subprocess.Popen([sys.executable, __file__, str(tmp_path), str(i), str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=TIMEOUT)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"a process of the 2-process run did not finish in {TIMEOUT} s")
    for i, (p, out) in enumerate(zip(procs, outs, strict=True)):
        assert p.returncode == 0, f"process {i}:\n{out[-3000:]}"
        np.testing.assert_allclose(np.load(tmp_path / f"logits{i}.npy"), want, rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
    worker(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
