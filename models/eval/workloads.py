"""The workloads that judge or use one compiled model: validate (the output against
torch, and a language model's generation), trace (layer by layer against torch forward
hooks) and run (classify an image, or generate tokens).  bench is in bench.py."""

from __future__ import annotations

import numpy as np

from ptir.errors import UsageError
from ptir.functional.sharding import active_plan, sharding_plan
from ptir.runtime.profile import Profiler

from ..parallel import CollectiveCounter
from .loading import Model, compile_forward
from .narrow import validate_narrow
from .options import EvalOptions, Report
from .reference import first_array, tolerance_rules, torch_forward


def validate(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """The model's output on a seeded batch of example inputs against the torch reference,
    under the tolerance rule for `model.NAME` on the target (one row: max abs/rel errors,
    the rule, ok); a language model also gets generation_checks (a second row).  The
    Report's error says what is out of tolerance.  ConfigError for a bad rules file."""
    from ptir.conformance.tolerance import compare

    if opts.weights_dtype != "f32":
        return validate_narrow(m, opts)
    tolerance = tolerance_rules(m, opts)
    inputs = m.family.example_inputs(m.config, opts.seed, opts.batch)
    counter = CollectiveCounter()
    f = compile_forward(m, m.module.forward, inputs, opts, observers=[counter])
    got = first_array(f(*inputs))
    want, _ = torch_forward(m, inputs)
    tol = tolerance(want)
    c = compare(got, want, tol.atol, tol.rtol)
    row = {"model": m.name, "target": opts.target, "batch": opts.batch, "max_abs_err": c.max_abs_err,
           "max_rel_err": c.max_rel_err, "atol": tol.atol, "rtol": tol.rtol, "rule": tol.rule,
           "ref_absmax": float(np.abs(want).max()), "ok": c.ok}
    error = "" if c.ok else (f"{m.name} on {opts.target}: output out of tolerance (atol {tol.atol:g}, "
                             f"rtol {tol.rtol:g} from {tol.rule}): {c.message}")
    rows = [row]
    if m.family.kind == "lm":
        check = generation_checks(m, opts, inputs, tol.atol + tol.rtol * row["ref_absmax"])
        rows.append(check)
        if not check["ok"] and not error:
            error = f"{m.name} on {opts.target}: {check['message']}"
    data = dict(row, message=c.message, generation=rows[1:])
    if active_plan() is not None:   # --mesh on xla-cpu
        traffic = counter.programs[0][1]
        rows.append(one_device_checks(m, opts, inputs, got, tol, traffic))
        data.update(mesh=rows[-1], collectives=traffic)
        if not rows[-1]["ok"] and not error:
            error = f"{m.name} on {opts.target}: {rows[-1]['message']}"
    return Report(f"validate {m.name} on {opts.target}", data, rows, error)


def one_device_checks(m: Model, opts: EvalOptions, inputs, got, tol, traffic: dict) -> dict:
    """--mesh: the sharded output against the same target on one device (within the
    model's tolerance), a language model's greedy tokens against one device's (all
    equal), and the collectives XLA inserted into the sharded forward program."""
    from ptir.conformance.tolerance import compare

    from ..parallel import generation_vs_one_device, traffic_text

    plan = active_plan()
    with sharding_plan(None):
        single = first_array(compile_forward(m, m.module.forward, inputs, opts)(*inputs))
    c = compare(got, single, tol.atol, tol.rtol)
    problems = [] if c.ok else [f"the output on mesh {opts.mesh} differs from one device: {c.message}"]
    row = {"model": m.name, "target": opts.target, "check": f"mesh {opts.mesh} vs one device",
           "max_abs_err": c.max_abs_err, "max_rel_err": c.max_rel_err, "collectives": traffic_text(traffic)}
    if m.family.kind == "lm":
        prompt = [int(t) for t in inputs[0][0][:8]]
        gen = generation_vs_one_device(m.family, m.config, m.weights, prompt, opts.max_tokens, opts.target, plan)
        row.update(greedy_steps=gen["steps"], greedy_agree=gen["agree"], cache_max_logit_diff=gen["max_logit_diff"])
        if gen["agree"] < gen["steps"]:
            problems.append(f"greedy tokens on mesh {opts.mesh} agree with one device for {gen['agree']} of "
                            f"{gen['steps']} steps")
    return dict(row, ok=not problems, message="; ".join(problems))


def generation_checks(m: Model, opts: EvalOptions, inputs, max_diff: float) -> dict:
    """A language model's generation against torch: greedy tokens with the KV cache equal
    transformers' greedy tokens over --max-tokens steps, and cached decode gives the logits
    of full-context recompute (within `max_diff`)."""
    prompt = [int(t) for t in inputs[0][0][:8]]
    steps = opts.max_tokens
    flags = tuple(opts.iree_flags)
    greedy = m.family.check_greedy_vs_torch(m.config, m.weights, prompt, steps, opts.target, flags)
    cache = m.family.check_cache_vs_recompute(m.config, m.weights, prompt, steps, opts.target, flags)
    problems = []
    if greedy["agree"] < steps:
        problems.append(f"greedy tokens agree with torch for {greedy['agree']} of {steps} steps")
    if cache["agree"] < steps or cache["max_logit_diff"] > max_diff:
        problems.append(f"cached decode differs from full recompute (tokens agree for {cache['agree']} of "
                        f"{steps}; largest logit difference {cache['max_logit_diff']:.3g} > {max_diff:.3g})")
    return {"model": m.name, "target": opts.target, "check": "generation", "greedy_steps": steps,
            "greedy_agree": greedy["agree"], "cache_agree": cache["agree"],
            "cache_max_logit_diff": cache["max_logit_diff"], "ok": not problems, "message": "; ".join(problems)}


def trace(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """One compiled program returns every tapped layer's output; they are compared in
    forward order with torch's, up to the first one out of tolerance."""
    from ptir.conformance.tolerance import compare

    if not hasattr(m.module, "forward_taps"):
        raise UsageError(f"--workload trace: {m.name} has no layer taps (its ptir module lacks forward_taps)")
    tolerance = tolerance_rules(m, opts)
    inputs = m.family.example_inputs(m.config, opts.seed, opts.batch)
    got = compile_forward(m, m.module.forward_taps, inputs, opts)(*inputs)
    names = m.module.tap_names
    _, want = torch_forward(m, inputs, names)
    rows, error = [], ""
    for i, (name, g) in enumerate(zip(names, got if isinstance(got, tuple) else (got,), strict=True)):
        w = want[name]
        tol = tolerance(w, layer=i < len(names) - 1)   # the last tap is the output validate checks
        c = compare(g, w, tol.atol, tol.rtol)
        rows.append({"layer": name, "shape": "x".join(map(str, w.shape)), "max_abs_err": c.max_abs_err,
                     "max_rel_err": c.max_rel_err, "ref_absmax": float(np.abs(w).max()), "atol": tol.atol,
                     "rtol": tol.rtol, "ok": c.ok})
        if not c.ok:
            error = f"{m.name} on {opts.target}: layer {name} is the first out of tolerance: {c.message}"
            break
    data = {"model": m.name, "target": opts.target, "layers": rows,
            "first_bad_layer": rows[-1]["layer"] if error else None}
    return Report(f"trace {m.name} on {opts.target}", data, rows, error)


def run(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """A vision model's top-5 classes (softmax probabilities) for --image, or for a seeded
    random input without one; a language model generates instead (generate)."""
    if m.family.kind == "lm":
        return generate(m, opts, prof)
    if opts.image:
        inputs, source = [m.family.load_image(m.config, opts.image)], opts.image
    else:
        inputs, source = m.family.example_inputs(m.config, opts.seed, 1), f"random input (seed {opts.seed})"
    logits = first_array(compile_forward(m, m.module.forward, inputs, opts)(*inputs))[0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    names = m.family.class_names(m.config) if hasattr(m.family, "class_names") else None
    rows = [{"rank": r + 1, "class": int(i), "name": names[i] if names else "", "prob": float(p[i])}
            for r, i in enumerate(np.argsort(-p, kind="stable")[:5])]
    return Report(f"{m.name} on {opts.target}: top-5 for {source}",
                  {"model": m.name, "target": opts.target, "input": source, "top5": rows}, rows)


def generate(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """An "lm" family's `generate` hook on a seeded prompt (the first tokens of its example input)."""
    prompt = [int(t) for t in m.family.example_inputs(m.config, opts.seed, 1)[0][0][:8]]
    with prof.span("generate", "run"):
        try:
            tokens = m.family.generate(m.config, m.weights, prompt, opts.max_tokens, target=opts.target,
                                       iree_flags=tuple(opts.iree_flags), weights_dtype=opts.weights_dtype)
        except NotImplementedError:
            raise UsageError(f"--workload run: {m.name} has no generate hook") from None
    data = {"model": m.name, "target": opts.target, "prompt_ids": prompt, "generated_ids": list(tokens)}
    return Report(f"{m.name} on {opts.target}: greedy generation", data,
                  [{"prompt_ids": " ".join(map(str, prompt)), "generated_ids": " ".join(map(str, tokens))}])
