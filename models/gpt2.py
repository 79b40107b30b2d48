"""GPT-2 (any size) built from ptir.nn, with HF transformers' GPT2LMHeadModel weight names.

HF's Conv1D keeps its weight as (in_features, out_features); the `Conv1D` here does too,
so a transformers state dict loads with neither renaming nor transposing.  The LM head
is tied to the token embedding (`transformer.wte.weight`): weights dicts here never hold
`lm_head.weight`, checkpoints may.

Generation (prefill and decode with a KV cache) lives in models/generate.py;
`GPT2.generate` and the check and timing helpers below are the hooks for `ptirc eval`
and the bench workload.
"""

from __future__ import annotations

import os
import time

import numpy as np

import ptir.functional as F
import ptir.nn as nn
from ptir.errors import PtirError, RunError
from ptir.functional.core import iota, reshape, transpose

from .base import Float, Int, ModelFamily, OneOf, check_config, read_checkpoint

SIZES = {
    "full": {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024, "vocab_size": 50257},   # 124M
    "tiny": {"n_layer": 2, "n_head": 4, "n_embd": 64, "n_positions": 64, "vocab_size": 512},
}
DEFAULTS = {"n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "scale_attn_by_inverse_layer_idx": False}
# transformers' names for the activations GPT-2 checkpoints use
ACTIVATIONS = {
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
    "relu": F.relu,
}
TIED = ("lm_head.weight", "transformer.wte.weight")
HEAD_DIM = 64   # every published GPT-2 size; used to infer n_head from a bare weights file


class Conv1D(nn.Module):
    """HF's Conv1D: y = x W + b with W stored as (in_features, out_features)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        # zeros: weights are always loaded, and a 124M random init would cost seconds
        self.weight = nn.Parameter(np.zeros((in_features, out_features), np.float32))
        self.bias = nn.Parameter(np.zeros(out_features, np.float32))

    def forward(self, x):
        return F.matmul(x, self.weight) + self.bias


class Attention(nn.Module):
    def __init__(self, config: dict, layer: int):
        super().__init__()
        e, self.n_head = config["n_embd"], config["n_head"]
        self.scale = (e // self.n_head) ** -0.5
        if config["scale_attn_by_inverse_layer_idx"]:
            self.scale /= layer + 1
        self.c_attn = Conv1D(e, 3 * e)
        self.c_proj = Conv1D(e, e)

    def forward(self, x, k_cache=None, v_cache=None, pos=None):
        """(y, k_cache, v_cache): attention over x alone without caches, else over the caches
        with x's keys and values written at `pos`."""
        b, t, e = x.shape
        q, k, v = (transpose(reshape(p, (b, t, self.n_head, e // self.n_head)), (0, 2, 1, 3))
                   for p in F.split(self.c_attn(x), e, -1))
        if k_cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        else:
            y, k_cache, v_cache = F.attention(q, k, v, k_cache, v_cache, pos, scale=self.scale)
        return self.c_proj(reshape(transpose(y, (0, 2, 1, 3)), (b, t, e))), k_cache, v_cache


class MLP(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        e = config["n_embd"]
        inner = config["n_inner"] or 4 * e
        self.act = ACTIVATIONS[config["activation_function"]]
        self.c_fc = Conv1D(e, inner)
        self.c_proj = Conv1D(inner, e)

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config: dict, layer: int):
        super().__init__()
        e, eps = config["n_embd"], config["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(e, eps)
        self.attn = Attention(config, layer)
        self.ln_2 = nn.LayerNorm(e, eps)
        self.mlp = MLP(config)

    def forward(self, x, k_cache=None, v_cache=None, pos=None):
        y, k_cache, v_cache = self.attn(self.ln_1(x), k_cache, v_cache, pos)
        x = x + y
        return x + self.mlp(self.ln_2(x)), k_cache, v_cache


class Transformer(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.wte = nn.Embedding(config["vocab_size"], config["n_embd"])
        self.wpe = nn.Embedding(config["n_positions"], config["n_embd"])
        self.h = nn.ModuleList(Block(config, i) for i in range(config["n_layer"]))
        self.ln_f = nn.LayerNorm(config["n_embd"], config["layer_norm_epsilon"])

    def forward(self, input_ids, pos=None, caches=(), tap=lambda name, y: y):
        """Hidden states (B, T, E) of tokens at positions pos.. (0.. without caches), and the
        updated caches [k0, v0, k1, v1, ...].  `tap(torch module name, output)` sees each layer."""
        positions = iota((input_ids.shape[1],), 0, "i64")
        if pos is not None:
            positions = positions + pos
        x = tap("transformer.wte", self.wte(input_ids)) + self.wpe(positions)
        new = []
        for i, block in enumerate(self.h):
            kv = caches[2 * i:2 * i + 2] if caches else (None, None)
            x, k, v = block(x, *kv, pos)
            x = tap(f"transformer.h.{i}", x)
            new += [k, v] if caches else []
        return tap("transformer.ln_f", self.ln_f(x)), new


class GPT2LMHead(nn.Module):
    """GPT2LMHeadModel: forward gives the logits of every position; `step` and `window`
    are the generation programs (see models/generate.py)."""

    def __init__(self, config: dict):
        super().__init__()
        self.transformer = Transformer(config)

    def logits(self, h):
        return F.linear(h, self.transformer.wte.weight)   # the head tied to the embedding

    def forward(self, input_ids):
        return self.logits(self.transformer(input_ids)[0])

    def forward_taps(self, input_ids):
        """The output of every layer, in order (for `ptirc eval --workload trace`); their
        torch module names are left in `self.tap_names`."""
        taps = []
        h, _ = self.transformer(input_ids, tap=lambda name, y: taps.append((name, y)) or y)
        taps.append(("lm_head", self.logits(h)))
        self.tap_names = [name for name, _ in taps]
        return tuple(y for _, y in taps)

    def step(self, input_ids, pos, last, *caches):
        """Tokens (B, T) at positions pos.. with the caches: (logits (B, V) of token `last`,
        *caches).  Prefill (T = chunk) and decode (T = 1) are this one function."""
        h, caches = self.transformer(input_ids, pos, caches)
        return (self.logits(h[:, last]), *caches)

    def window(self, input_ids, last):
        """The no-cache step: logits (B, V) of token `last`, recomputing the whole window."""
        return self.logits(self.transformer(input_ids)[0][:, last])


class GPT2Family(ModelFamily):
    name = "gpt2"
    kind = "lm"
    # IREE's stack cap in ptir's defaults (64 KB) is too small for the data-tiled layer norm
    # of a 128-token prefill chunk at GPT-2 124M's width (74 KB); the worker stacks are larger.
    iree_flags = ("--iree-llvmcpu-stack-allocation-limit=131072",)

    def config(self, size: str = "full", **overrides) -> dict:
        if size not in SIZES:
            raise PtirError(f"unknown gpt2 size '{size}' (known: {', '.join(SIZES)})")
        return checked_config({**SIZES[size], **DEFAULTS, **overrides})

    def random_weights(self, config: dict, seed: int = 0) -> dict[str, np.ndarray]:
        """Scaled so activations stay O(1) and logits spread over a few units: greedy
        choices are clear-cut, not decided by rounding (HF's 0.02 init gives near-ties)."""
        rng = np.random.default_rng(seed)
        out = {}
        for name, w in self.ptir_module(config).state_dict().items():
            if ".ln_" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                out[name] = base + 0.1 * rng.standard_normal(w.shape)
            elif name.endswith("bias"):
                out[name] = 0.02 * rng.standard_normal(w.shape)
            elif name.startswith(("transformer.wte", "transformer.wpe")):
                out[name] = 0.3 * rng.standard_normal(w.shape)
            else:   # Conv1D (in, out): unit-variance outputs
                out[name] = rng.standard_normal(w.shape) / np.sqrt(w.shape[0])
        return {k: v.astype(np.float32) for k, v in out.items()}

    def load_checkpoint(self, path: str, config: str | dict | None = None) -> tuple[dict[str, np.ndarray], dict]:
        """(weights, config) from an HF model directory (config.json with model.safetensors or
        pytorch_model.bin) or a weights file (safetensors, e.g. from `ptirc export`, or torch).
        The config is `config` (a dict, or a JSON file: HF's config.json or ours), else the
        directory's config.json, else the file's metadata, else read off the weight shapes
        with 64-wide heads (as in every published GPT-2 size)."""
        if os.path.isdir(path):
            found = [f for f in ("model.safetensors", "pytorch_model.bin") if os.path.isfile(os.path.join(path, f))]
            if not found:
                raise RunError(f"{path} holds neither model.safetensors nor pytorch_model.bin")
            if config is None and os.path.isfile(os.path.join(path, "config.json")):
                config = os.path.join(path, "config.json")
            path = os.path.join(path, found[0])
        raw, stored = read_checkpoint(path, self.name)
        weights = hf_names({k: np.asarray(v, np.float32) for k, v in raw.items()})
        config = read_config(config or stored) if (config or stored) else infer_config(weights)
        self.bind(config, weights)   # checks every name and shape
        return weights, config

    def quantization_axes(self, config: dict) -> dict[str, int]:
        """What --weights-dtype stores narrow: every Conv1D weight, (in, out), per output
        column, and the token embedding (vocab, E), which is also the LM head, per row; 99%
        of the weight bytes.  Position embeddings, biases and layer norms stay f32."""
        config = checked_config(config)
        axes = {"transformer.wte.weight": 0}
        for i in range(config["n_layer"]):
            for layer in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                axes[f"transformer.h.{i}.{layer}.weight"] = 1
        return axes

    def ptir_module(self, config: dict) -> GPT2LMHead:
        return GPT2LMHead(checked_config(config))

    def torch_module(self, config: dict, weights: dict[str, np.ndarray]):
        """transformers' GPT2LMHeadModel with these weights, eager attention (exact, no fused
        kernels), eval mode; it returns an output whose `.logits` are (B, T, V)."""
        import torch
        import transformers

        config = checked_config(config)
        # GPT-2's end token 50256 lies outside a smaller vocabulary (transformers warns of it)
        ends = {} if config["vocab_size"] > 50256 else {"bos_token_id": None, "eos_token_id": None}
        hf = transformers.GPT2Config(**config, **ends, attn_implementation="eager")
        model = transformers.GPT2LMHeadModel(hf).eval()
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}
        state.setdefault(TIED[0], state[TIED[1]])
        model.load_state_dict(state)
        return model

    def example_inputs(self, config: dict, seed: int = 0, batch: int = 1) -> list[np.ndarray]:
        """Token ids (batch, min(64, n_positions)), int64 as torch wants them."""
        rng = np.random.default_rng(seed)
        return [rng.integers(0, config["vocab_size"], (batch, min(64, config["n_positions"])), dtype=np.int64)]

    # --- generation hooks (kind "lm") --------------------------------------------------------

    def generate(self, config: dict, weights: dict[str, np.ndarray], prompt_ids, max_tokens: int,
                 target: str = "ref", **options) -> list[int]:
        """The new token ids after `prompt_ids`; options as in Generator.generate (temperature,
        top_k, seed, eos_id) plus kv_cache, capacity, chunk, iree_flags and weights_dtype.  Programs are
        compiled once per (config, weights, target, those options) and reused across calls."""
        from .generate import generator

        build = {k: options.pop(k) for k in ("kv_cache", "capacity", "chunk", "iree_flags", "weights_dtype")
                 if k in options}
        gen = generator(self, config, weights, target, **build)
        return list(gen.generate(prompt_ids, max_tokens, **options))

    def check_greedy_vs_torch(self, config: dict, weights: dict[str, np.ndarray], prompt_ids, steps: int,
                              target: str = "ref", iree_flags=()) -> dict:
        """Greedy tokens of ptir (KV cache) and of transformers over `steps` steps: both lists
        and how many lead tokens agree."""
        ours = self.generate(config, weights, prompt_ids, steps, target, iree_flags=tuple(iree_flags))
        theirs = torch_greedy(self.torch_module(config, weights), prompt_ids, steps)
        return {"steps": steps, "agree": leading_agreement(ours, theirs), "ptir": ours, "torch": theirs}

    def check_cache_vs_recompute(self, config: dict, weights: dict[str, np.ndarray], prompt_ids, steps: int,
                                 target: str = "ref", iree_flags=()) -> dict:
        """Cached decode against full-context recompute, both fed the cached run's greedy
        tokens: how many tokens agree and the largest logit difference."""
        from .generate import generator

        cached, full = (generator(self, config, weights, target, iree_flags, kv_cache=kv) for kv in (True, False))
        tokens = list(cached.generate(prompt_ids, steps))
        a, b = (g.logits_along(prompt_ids, tokens) for g in (cached, full))
        return {"steps": steps, "agree": leading_agreement(a.argmax(-1).tolist(), b.argmax(-1).tolist()),
                "max_logit_diff": float(np.abs(a - b).max()), "tokens": tokens}

    def timings(self, config: dict, weights: dict[str, np.ndarray], target: str = "llvm-cpu",
                prompt_tokens: int = 128, decode_tokens: int = 32, repeats: int = 3) -> dict:
        """Bench numbers: prefill latency of `prompt_tokens` tokens (ms, best of `repeats`),
        decode tokens/s after it, and the seconds spent compiling; the cache holds what the
        run needs (see fitting_capacity)."""
        from .generate import fitting_capacity, generator

        start = time.perf_counter()
        capacity = fitting_capacity(prompt_tokens + decode_tokens, config["n_positions"])
        gen = generator(self, config, weights, target, capacity=capacity)
        gen.compile()
        compile_s = time.perf_counter() - start
        prompt = example_prompt(config, prompt_tokens)
        return {**gen.timings(prompt, decode_tokens, repeats), "compile_s": compile_s}

    def torch_timings(self, config: dict, weights: dict[str, np.ndarray], prompt_tokens: int = 128,
                      decode_tokens: int = 32, repeats: int = 3) -> dict:
        """The same numbers for transformers eager (its own KV cache), for comparison."""
        import torch

        model = self.torch_module(config, weights)
        prompt = example_prompt(config, prompt_tokens)
        with torch.no_grad():
            prefill = []
            for _ in range(repeats):
                start = time.perf_counter()
                out = model(torch.tensor([prompt]), use_cache=True)
                prefill.append(time.perf_counter() - start)
            start = time.perf_counter()
            for _ in range(decode_tokens):
                out = model(out.logits[:, -1:].argmax(-1), cache=out.cache, use_cache=True)
            decode = time.perf_counter() - start
        return {"prefill_ms": 1e3 * min(prefill), "decode_tok_s": decode_tokens / decode}


    def bench_runs(self, config: dict, weights: dict[str, np.ndarray], target: str = "llvm-cpu",
                   prompt_tokens: int = 128, decode_tokens: int = 32, runs: int = 5, warmup: int = 1,
                   iree_flags=(), weights_dtype: str = "f32", batch: int = 1) -> dict:
        """`ptirc eval --workload bench` for GPT-2: per run (fresh sequences each), the
        prefill latency of `batch` prompts of `prompt_tokens` tokens in ms and the greedy
        decode speed after them in tokens/s (all sequences together, in lockstep), for ptir
        on `target` (weights stored in `weights_dtype`: the implementation is then named
        ptir-TARGET-DTYPE) and for transformers eager (f32) with its own KV cache; and the
        seconds each took to get ready."""
        import torch

        from .generate import fitting_capacity, generator

        prompts = [example_prompt(config, prompt_tokens, seed=row) for row in range(batch)]
        start = time.perf_counter()
        gen = generator(self, config, weights, target, iree_flags, weights_dtype, batch=batch,
                        capacity=fitting_capacity(prompt_tokens + decode_tokens, config["n_positions"]))
        gen.compile()
        ours = f"ptir-{target}" + (f"-{weights_dtype}" if weights_dtype != "f32" else "")
        ready = {ours: time.perf_counter() - start}
        start = time.perf_counter()
        model = self.torch_module(config, weights)
        ready["torch-eager"] = time.perf_counter() - start

        def ptir_run():
            logits = gen.start(prompts[0] if batch == 1 else prompts)
            for _ in range(decode_tokens):
                logits = gen.advance(np.argmax(logits, -1).tolist())
            return 1e3 * gen.prefill_s, batch * gen.decoded / gen.decode_s

        def torch_run():
            with torch.no_grad():
                start = time.perf_counter()
                out = model(torch.tensor(prompts), use_cache=True)
                prefill = time.perf_counter() - start
                start = time.perf_counter()
                for _ in range(decode_tokens):
                    out = model(out.logits[:, -1:].argmax(-1), cache=out.cache, use_cache=True)
                return 1e3 * prefill, batch * decode_tokens / (time.perf_counter() - start)

        samples = {}
        for impl, one_run in ((ours, ptir_run), ("torch-eager", torch_run)):
            for _ in range(warmup):
                one_run()
            measured = [one_run() for _ in range(runs)]
            samples[impl] = {"prefill_ms": [p for p, _ in measured], "decode_tok_s": [d for _, d in measured]}
        return {"samples": samples, "ready_s": ready}


GPT2 = GPT2Family()


def example_prompt(config: dict, n: int, seed: int = 0) -> list[int]:
    """n seeded random token ids (the bench's prompt)."""
    return np.random.default_rng(seed).integers(0, config["vocab_size"], n).tolist()


def leading_agreement(a: list[int], b: list[int]) -> int:
    """How many tokens agree before the first difference."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def torch_greedy(model, prompt_ids, steps: int) -> list[int]:
    """transformers' greedy continuation, step by step with its own KV cache (model.generate
    would stop at the config's end token)."""
    import torch

    out, cache, x = [], None, torch.tensor([list(prompt_ids)])
    with torch.no_grad():
        for _ in range(steps):
            r = model(x, cache=cache, use_cache=True)
            cache = r.cache
            out.append(int(r.logits[0, -1].argmax()))
            x = torch.tensor([[out[-1]]])
    return out


# --- configs and weights files -----------------------------------------------------------------

# Bounds a config must keep before anything is built from it: beyond every published
# GPT-2 size (1.5B: 48 layers, 25 heads, 1600 wide, 1024 positions, 50257 tokens) by far.
SCHEMA = {"n_layer": Int(1, 1024), "n_head": Int(1, 1024), "n_embd": Int(1, 65536),
          "n_positions": Int(1, 1 << 20), "vocab_size": Int(1, 1 << 24), "n_inner": Int(1, 1 << 18, optional=True),
          "activation_function": OneOf(*ACTIVATIONS), "layer_norm_epsilon": Float(0.0, 1.0),
          "scale_attn_by_inverse_layer_idx": OneOf(False, True)}


def checked_config(config: dict) -> dict:
    """Our config keys only (HF's config.json has many more), defaults filled, each value
    checked against SCHEMA (RunError naming the key)."""
    if not isinstance(config, dict):
        raise RunError(f"a gpt2 config must be a JSON object, not {type(config).__name__}")
    c = check_config("gpt2", {**DEFAULTS, **{k: v for k, v in config.items() if k in SCHEMA}}, SCHEMA)
    if c["n_embd"] % c["n_head"]:
        raise RunError(f"gpt2 config: n_head {c['n_head']} does not divide n_embd {c['n_embd']}")
    return c


def read_config(config: str | dict) -> dict:
    if isinstance(config, dict):
        return checked_config(config)
    from ptir.io import read_json

    data = read_json(config, RunError, "config")
    if not isinstance(data, dict):
        raise RunError(f"{config}: a gpt2 config must be a JSON object")
    return checked_config(data)


def infer_config(weights: dict[str, np.ndarray]) -> dict:
    for key in ("transformer.wte.weight", "transformer.wpe.weight"):
        if key not in weights:
            raise RunError(f"missing weight '{key}'; is this a GPT-2 checkpoint?")
    vocab, e = weights["transformer.wte.weight"].shape
    layers = 1 + max((int(k.split(".")[2]) for k in weights if k.startswith("transformer.h.")), default=-1)
    return checked_config({"n_layer": layers, "n_head": max(1, e // HEAD_DIM), "n_embd": e,
                           "n_positions": weights["transformer.wpe.weight"].shape[0], "vocab_size": vocab})


def hf_names(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GPT2LMHeadModel names: the `transformer.` prefix added where a GPT2Model checkpoint
    (like the published `gpt2` one) lacks it; the causal-mask buffers of old checkpoints
    dropped; a tied lm_head.weight dropped (an untied one is an error: it would be ignored)."""
    out = {}
    for k, v in weights.items():
        if k.endswith((".attn.bias", ".attn.masked_bias")) and v.ndim != 1:
            continue
        out[k if k.startswith(("transformer.", "lm_head.")) else "transformer." + k] = v
    head = out.pop(TIED[0], None)
    if head is not None and TIED[1] in out and not np.array_equal(head, out[TIED[1]]):
        raise RunError(f"'{TIED[0]}' differs from '{TIED[1]}': untied GPT-2 heads are not supported")
    return out
