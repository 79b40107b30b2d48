"""Token-by-token generation for GPT-2 on any target, with a fixed-capacity KV cache.

Two programs, each compiled once per generator (one per config, weights and target):

* prefill: `step` on a chunk of `chunk` tokens (default 128).  A prompt is fed in chunks,
  the last one padded at the end.  Padding is harmless: it sits after every real token,
  so the causal mask hides it from them, and its cache entries are overwritten by the
  decode steps before any query can see them.  One fixed shape means no compile per
  prompt length, and a prompt costs ceil(n / chunk) calls instead of a padded full
  context.
* decode: the same `step` on one token.

Both take the caches (B, n_head, capacity, head_dim), one key and one value tensor per
layer, and return them updated; positions beyond the filled length are masked inside
F.attention.  The capacity defaults to the model's context (n_positions); a caller that
knows its length can pick a smaller one (fitting_capacity), as `ptirc generate` does.

The no-cache mode (for checking) has one program instead: `window`, which recomputes
the whole context, padded to the capacity, at every step.

Sampling runs on the host in numpy: greedy, temperature and top-k, seeded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import numpy as np

import ptir
from ptir.errors import RunError
from ptir.nn.quantize import PIPELINE as QUANTIZED_PIPELINE
from ptir.nn.quantize import quantize_weights

_GENERATORS: dict = {}   # (family, config, id(weights), target, options) -> (weights, Generator)
_KEEP = 4                # generators kept alive; each holds its compiled programs and weights


def generator(family, config: dict, weights: dict, target: str, iree_flags=(), weights_dtype: str = "f32",
              **options) -> Generator:
    """The generator for these arguments, reused while fewer than _KEEP others were made
    since: repeated `generate` calls compile nothing.  Weights are matched by identity (an
    entry keeps its weights alive, so their id is not reused while it is cached).
    `iree_flags` are added after the family's own (llvm-cpu); `weights_dtype` "bf16" or
    "int8" stores the family's matmul weights narrow (ptir.nn.quantize_weights)."""
    flags = (*family.iree_flags, *iree_flags)
    key = (family.name, json.dumps(config, sort_keys=True), id(weights), target, flags, weights_dtype,
           tuple(sorted(options.items())), ptir.functional.sharding.active_plan())   # a plan: other programs
    hit = _GENERATORS.pop(key, None)
    if hit is None:
        model, passes = family.bind(config, weights), None
        if weights_dtype != "f32":
            model = quantize_weights(model, weights_dtype, family.quantization_axes(config))
            passes = QUANTIZED_PIPELINE
        hit = (weights, Generator(model, config, target, iree_flags=flags, passes=passes, **options))
    _GENERATORS[key] = hit   # most recently used last
    while len(_GENERATORS) > _KEEP:
        _GENERATORS.pop(next(iter(_GENERATORS)))
    return hit[1]


def fitting_capacity(n_tokens: int, n_positions: int, smallest: int = 128) -> int:
    """The smallest power of two >= n_tokens (and >= `smallest`), capped at n_positions.
    Decode moves and masks the whole cache every step, so a short generation should not
    pay for a 1024-token one; powers of two keep the compile cache to a few shapes."""
    return min(n_positions, max(smallest, 1 << max(n_tokens - 1, 0).bit_length()))


def sample(logits: np.ndarray, temperature: float = 0.0, top_k: int | None = None,
           rng: np.random.Generator | None = None) -> int:
    """Greedy (temperature 0) or a draw from softmax(logits / temperature) over the top_k."""
    if not temperature:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    if top_k and top_k < z.size:
        z[z < np.partition(z, -top_k)[-top_k]] = -np.inf
    p = np.exp(z - z.max())
    return int((rng or np.random.default_rng()).choice(z.size, p=p / p.sum()))


class Generator:
    """`start(prompt)` gives the logits (V,) after the prompt, `advance(token)` the logits
    after one more token; `generate` loops them.  With batch B > 1, B sequences of equal
    length run in lockstep: `start` takes B prompts and `advance` B tokens, both give
    logits (B, V) (for batch throughput; sampling stays one sequence at a time)."""

    def __init__(self, model, config: dict, target: str, kv_cache: bool = True, capacity: int | None = None,
                 chunk: int = 128, iree_flags=(), passes=None, batch: int = 1):
        self.model, self.target, self.kv_cache, self.passes, self.batch = model, target, kv_cache, passes, batch
        self.flags = tuple(iree_flags) if target == "llvm-cpu" else ()
        self.capacity = min(capacity or config["n_positions"], config["n_positions"])
        self.chunk = min(chunk, self.capacity)
        head_dim = config["n_embd"] // config["n_head"]
        self.cache_type = ptir.spec((batch, config["n_head"], self.capacity, head_dim))
        self.n_caches = 2 * config["n_layer"]
        self.vocab_size = config["vocab_size"]
        self.programs: dict[str, ptir.Compiled] = {}
        self.compiles = 0
        self.device_caches = True
        self.rows: list[list[int]] = []   # the tokens of each sequence so far
        self.caches: list[np.ndarray] = []
        self.prefill_s = self.decode_s = 0.0
        self.decoded = 0

    # --- programs --------------------------------------------------------------------------------

    def program(self, name: str) -> ptir.Compiled:
        """"prefill", "decode" or "window", compiled on first use."""
        if name not in self.programs:
            i64 = ptir.spec((), "i64")
            if name == "window":
                specs, fn = (ptir.spec((self.batch, self.capacity), "i64"), i64), self.model.window
            else:
                t = self.chunk if name == "prefill" else 1
                specs = (ptir.spec((self.batch, t), "i64"), i64, i64) + (self.cache_type,) * self.n_caches
                fn = self.model.step
            self.programs[name] = ptir.compile(fn, *specs, target=self.target, flags=self.flags, passes=self.passes)
            self.compiles += 1
        return self.programs[name]

    def compile(self) -> None:
        """Compile this mode's programs now (else on first use)."""
        for name in ("prefill", "decode") if self.kv_cache else ("window",):
            self.program(name)

    # --- stepping --------------------------------------------------------------------------------

    def check_prompt(self, prompt_ids) -> list[int]:
        """The prompt as ints, or a RunError saying why it cannot start a sequence."""
        prompt = [int(t) for t in prompt_ids]
        if not prompt:
            raise RunError("the prompt is empty: GPT-2 needs at least one token to start from")
        if len(prompt) > self.capacity:
            raise RunError(f"the prompt has {len(prompt)} tokens, more than the context of {self.capacity}")
        if not 0 <= min(prompt) <= max(prompt) < self.vocab_size:
            raise RunError(f"prompt token {max(prompt) if max(prompt) >= 0 else min(prompt)} is outside the "
                           f"model's vocabulary of {self.vocab_size}")
        return prompt

    @property
    def tokens(self) -> list[int]:
        """The tokens of the (first) sequence so far: its prompt and what followed."""
        return self.rows[0] if self.rows else []

    def start(self, prompt_ids) -> np.ndarray:
        """Begin a sequence (B in lockstep: a list of B prompts of equal length): the
        next-token logits (V,), or (B, V), after the prompt.  RunError for a bad prompt."""
        rows = [self.check_prompt(p) for p in ([prompt_ids] if self.batch == 1 else prompt_ids)]
        if len(rows) != self.batch or len({len(r) for r in rows}) != 1:
            raise RunError(f"a batch of {self.batch} runs in lockstep: give {self.batch} prompts of equal length")
        prompt = rows[0]
        begin = time.perf_counter()
        self.rows = rows
        if self.kv_cache:
            self.caches = [np.zeros(self.cache_type.shape, np.float32) for _ in range(self.n_caches)]
            for s in range(0, len(prompt), self.chunk):
                # near the end of the context the chunk moves back and recomputes a few cached
                # tokens (same keys and values), so the cache write never runs past the capacity
                logits = self._run("prefill", min(s, self.capacity - self.chunk), len(prompt))
        else:
            logits = self._window()
        self.prefill_s, self.decode_s, self.decoded = time.perf_counter() - begin, 0.0, 0
        return logits

    def advance(self, token) -> np.ndarray:
        """Append `token` (B tokens in lockstep); the logits (V,), or (B, V), for the next."""
        if len(self.tokens) >= self.capacity:
            raise RunError(f"the context of {self.capacity} tokens is full")
        begin = time.perf_counter()
        for row, t in zip(self.rows, [token] if self.batch == 1 else token, strict=True):
            row.append(int(t))
        logits = self._run("decode", len(self.tokens) - 1, len(self.tokens)) if self.kv_cache else self._window()
        self.decode_s += time.perf_counter() - begin
        self.decoded += 1
        return logits

    def _run(self, name: str, begin: int, end: int) -> np.ndarray:
        """One step program over tokens[begin:end] (padded to its length), logits of token end-1."""
        t = self.chunk if name == "prefill" else 1
        ids = np.zeros((self.batch, t), np.int64)
        chunk = np.array([row[begin:min(end, begin + t)] for row in self.rows], np.int64)
        ids[:, :chunk.shape[1]] = chunk
        # The caches stay on the device between steps (IREE even updates them in place): only
        # the token ids go in and the logits come out through host memory.  (device_caches =
        # False makes every step copy them out and in, for benchmarks/gpt2_cache.py.)
        exe = self.program(name)
        logits, *caches = exe.device_call(ids, np.int64(begin), np.int64(chunk.shape[1] - 1), *self.caches)
        self.caches = caches if self.device_caches else [exe.to_host(c) for c in caches]
        return self._one(exe.to_host(logits))

    def _window(self) -> np.ndarray:
        ids = np.zeros((self.batch, self.capacity), np.int64)
        ids[:, :len(self.tokens)] = self.rows
        return self._one(self.program("window")(ids, np.int64(len(self.tokens) - 1)))

    def _one(self, logits: np.ndarray) -> np.ndarray:
        """Logits (B, V) as the caller sees them: (V,) for one sequence."""
        return logits[0] if self.batch == 1 else logits

    # --- loops -----------------------------------------------------------------------------------

    def generate(self, prompt_ids, max_tokens: int, temperature: float = 0.0, top_k: int | None = None,
                 seed: int = 0, eos_id: int | None = None) -> Iterator[int]:
        """Yield up to `max_tokens` new tokens as they come; stop after `eos_id` or when the
        context is full."""
        rng = np.random.default_rng(seed)
        logits = self.start(prompt_ids)
        for i in range(max_tokens):
            token = sample(logits, temperature, top_k, rng)
            yield token
            if token == eos_id or i + 1 == max_tokens or len(self.tokens) >= self.capacity:
                return
            logits = self.advance(token)

    def logits_along(self, prompt_ids, tokens: list[int]) -> np.ndarray:
        """Next-token logits (len(tokens), V) after the prompt and after each of tokens[:-1]."""
        rows = [self.start(prompt_ids)]
        rows += [self.advance(t) for t in tokens[:-1]]
        return np.stack(rows)

    def timings(self, prompt_ids, decode_tokens: int, repeats: int = 3) -> dict:
        """Prefill ms (best of `repeats`) and greedy decode tokens/s after the prompt."""
        prefill = []
        for _ in range(repeats):
            logits = self.start(prompt_ids)
            prefill.append(self.prefill_s)
        for _ in range(min(decode_tokens, self.capacity - len(self.tokens))):
            logits = self.advance(int(np.argmax(logits)))
        return {"prefill_ms": 1e3 * min(prefill), "decode_tok_s": self.decoded / self.decode_s if self.decoded else 0.0}
