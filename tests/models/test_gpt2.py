"""Tiny GPT-2 against HF transformers (computed here, at run time) on every target: logits,
greedy tokens, KV-cache decode against full recompute, and one compile per program."""


import numpy as np
import pytest
import torch

import ptir
from ptir.configs import CONFORMANCE
from ptir.conformance.tolerance import compare, load_rules
from ptir.models.base import get_model
from ptir.models.generate import Generator, fitting_capacity, generator, sample
from ptir.models.gpt2 import GPT2, torch_greedy

TARGETS = ["ref", "llvm-cpu", "xla-cpu"]
RULES = load_rules(CONFORMANCE)
PROMPT = [7, 300, 42, 5, 99]


@pytest.fixture(scope="module", autouse=True)
def shared_cache(tmp_path_factory):
    """One compile cache for the GPT-2 test files: the tiny programs compile once a session."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PTIR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "gpt2-cache"))
        yield


@pytest.fixture(scope="module")
def tiny():
    config = GPT2.config("tiny")
    return config, GPT2.random_weights(config, seed=0)


@pytest.fixture(scope="module")
def hf(tiny):
    return GPT2.torch_module(*tiny)


def test_registered_and_interface(tiny):
    config, weights = tiny
    assert get_model("gpt2") is GPT2 and GPT2.kind == "lm"
    (ids,) = GPT2.example_inputs(config)
    assert ids.dtype == np.int64 and ids.shape == (1, 64) and ids.max() < config["vocab_size"]
    assert "lm_head.weight" not in weights
    assert set(weights) == set(GPT2.ptir_module(config).state_dict())
    assert GPT2.config("full")["n_embd"] == 768
    module = GPT2.bind(config, weights)
    taps = ptir.compile(module.forward_taps, ids, target="ref")(ids)
    assert module.tap_names == ["transformer.wte", "transformer.h.0", "transformer.h.1", "transformer.ln_f",
                                "lm_head"]
    np.testing.assert_array_equal(taps[-1], ptir.compile(module, ids, target="ref")(ids))
    # seeded
    np.testing.assert_array_equal(GPT2.random_weights(config, 0)["transformer.h.0.attn.c_attn.weight"],
                                  weights["transformer.h.0.attn.c_attn.weight"])


@pytest.mark.parametrize("target", TARGETS)
def test_logits_match_transformers(target, tiny, hf):
    config, weights = tiny
    (ids,) = GPT2.example_inputs(config, seed=1, batch=2)
    got = ptir.compile(GPT2.bind(config, weights), ids, target=target)(ids)
    with torch.no_grad():
        want = hf(torch.from_numpy(ids)).logits.numpy()
    assert want.std() > 1.0   # real logits, not ~0
    tol = RULES.lookup("gpt2_logits", target, "f32")
    result = compare(got, want, tol.atol, tol.rtol)
    assert result.ok, result.message


@pytest.mark.parametrize("target", TARGETS)
def test_greedy_tokens_match_transformers(target, tiny):
    check = GPT2.check_greedy_vs_torch(*tiny, PROMPT, 12, target)
    assert check["ptir"] == check["torch"] and check["agree"] == 12, check


@pytest.mark.parametrize("target", TARGETS)
def test_kv_cache_decode_equals_recompute(target, tiny, hf):
    config, weights = tiny
    check = GPT2.check_cache_vs_recompute(config, weights, PROMPT, 6, target)
    assert check["agree"] == 6 and check["max_logit_diff"] < 1e-4, check
    # Random weights settle on a repeated token; teacher-forced random tokens exercise decode
    # better: the logits of both modes after every token equal transformers' full forward.
    tokens = np.random.default_rng(2).integers(0, config["vocab_size"], 8).tolist()
    with torch.no_grad():
        want = hf(torch.tensor([PROMPT + tokens])).logits[0, len(PROMPT) - 1:-1].numpy()
    tol = RULES.lookup("gpt2_logits", target, "f32")
    for kv in (True, False):
        got = generator(GPT2, config, weights, target, kv_cache=kv).logits_along(PROMPT, tokens)
        result = compare(got, want, tol.atol, tol.rtol)
        assert result.ok, (kv, result.message)


def test_programs_compile_once(tiny, monkeypatch):
    """Two programs for any number of tokens and calls; repeated GPT2.generate reuses them."""
    config, weights = tiny
    calls = []
    real = ptir.compile
    monkeypatch.setattr(ptir, "compile", lambda *a, **k: calls.append(1) or real(*a, **k))
    gen = Generator(GPT2.bind(config, weights), config, "llvm-cpu")
    first = list(gen.generate(PROMPT, 20))
    second = list(gen.generate(PROMPT[:2], 30))
    assert len(first) == 20 and len(second) == 30 and gen.decoded == 29
    assert len(calls) == 2 and gen.compiles == 2
    calls.clear()
    GPT2.generate(config, weights, PROMPT, 5, "llvm-cpu")
    n = len(calls)
    assert GPT2.generate(config, weights, PROMPT, 8, "llvm-cpu")[:5] == first[:5]
    assert len(calls) == n


def test_chunked_prefill_matches_transformers(tiny, hf):
    """A prompt over several chunks, the last one moved back to fit the context."""
    config, weights = tiny
    prompt = np.random.default_rng(3).integers(0, config["vocab_size"], 60).tolist()
    gen = Generator(GPT2.bind(config, weights), config, "ref", chunk=24)   # chunks at 0, 24, 40
    got = gen.start(prompt)
    with torch.no_grad():
        want = hf(torch.tensor([prompt])).logits[0, -1].numpy()
    tol = RULES.lookup("gpt2_logits", "ref", "f32")
    assert compare(got, want, tol.atol, tol.rtol).ok
    assert list(gen.generate(prompt, 10)) == torch_greedy(hf, prompt, 5)   # stops when the context is full


def test_sampling_is_seeded_and_respects_top_k(tiny):
    config, weights = tiny
    runs = [GPT2.generate(config, weights, PROMPT, 10, "ref", temperature=1.5, top_k=5, seed=s) for s in (0, 0, 1)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    gen = generator(GPT2, config, weights, "ref")
    logits = gen.start(PROMPT)
    top5 = set(np.argsort(logits)[-5:].tolist())
    rng = np.random.default_rng(0)
    assert {sample(logits, 2.0, 5, rng) for _ in range(200)} <= top5
    assert sample(logits, 1.0, 1, rng) == sample(logits) == int(np.argmax(logits))


def test_generation_stops_at_the_end_token(tiny):
    config, weights = tiny
    tokens = GPT2.generate(config, weights, PROMPT, 12, "ref")
    eos = tokens[3]
    assert GPT2.generate(config, weights, PROMPT, 12, "ref", eos_id=eos) == tokens[:tokens.index(eos) + 1]


def test_fitting_capacity():
    assert [fitting_capacity(n, 1024) for n in (1, 128, 129, 600, 5000)] == [128, 128, 256, 1024, 1024]
    assert fitting_capacity(10, 64) == 64


@pytest.mark.parametrize("target", ["ref", "llvm-cpu"])
def test_a_batch_decodes_in_lockstep_as_its_sequences_alone(tiny, target):
    """Batch 2 (the bench's --batch): each row's logits are those of its sequence run on its
    own, through prefill and two decode steps; unequal prompts are refused."""
    config, weights = tiny
    prompts = [[7, 300, 42, 5, 99], [1, 2, 3, 4, 5]]
    both = generator(GPT2, config, weights, target, batch=2, capacity=64)
    alone = generator(GPT2, config, weights, target, capacity=64)
    rows = [both.start(prompts)]
    rows += [both.advance([11, 12]), both.advance([13, 14])]
    for i, prompt in enumerate(prompts):
        want = [alone.start(prompt), alone.advance(11 + i), alone.advance(13 + i)]
        for got, w in zip(rows, want, strict=True):
            np.testing.assert_allclose(got[i], w, rtol=1e-5, atol=1e-5)
    with pytest.raises(ptir.errors.RunError, match="a batch of 2 runs in lockstep"):
        both.start([[1, 2, 3], [4, 5]])
