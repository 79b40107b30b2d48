"""Byte-level BPE tokenizers trained here, GPT-2 checkpoints in HF's layouts, and
`ptirc generate` end to end on the tiny model."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_gpt2 import shared_cache  # noqa: F401  (one compile cache for both files)
from tokenizers import Tokenizer as HfTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from ptir.cli import main
from ptir.errors import PtirError
from ptir.models.base import checkpoint_bytes
from ptir.models.gpt2 import GPT2
from ptir.models.tokenizer import END_OF_TEXT, Tokenizer
from ptir.nn import StateDictError
from ptir.weights import save_params

CORPUS = ["Hello world, this is a tiny corpus for a byte-level BPE.", "The quick brown fox jumps over the lazy dog.",
          "Héllo wörld: 5 € for 漢字 and 🙂 too!", "def f(x):\n    return x * 2\n"] * 30
TEXTS = ["Hello world", "  the lazy fox\n\tjumps", "Héllo € 漢字 🙂 ünseen ŧext"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """tokenizer.json, vocab.json + merges.txt, tiny weights (safetensors) and their config."""
    d = tmp_path_factory.mktemp("gpt2")
    tok = HfTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=[END_OF_TEXT],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(d / "tokenizer.json"))
    tok.model.save(str(d))
    config = GPT2.config("tiny")
    weights = GPT2.random_weights(config, seed=0)
    save_params(weights, d / "gpt2.safetensors")
    (d / "gpt2.json").write_text(json.dumps(config))
    return d, config, weights


def ptirc(*args) -> tuple[int, str, str]:
    exe = os.path.join(os.path.dirname(sys.executable), "ptirc")
    r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


# --- tokenizer -------------------------------------------------------------------------------------

def test_tokenizer_round_trip_both_formats(files):
    d = files[0]
    a = Tokenizer.load(d / "tokenizer.json")
    b = Tokenizer.load(vocab=d / "vocab.json", merges=d / "merges.txt")
    assert a.vocab_size > 256 + 20 and a.eos_id == a.tok.token_to_id(END_OF_TEXT) is not None
    for text in TEXTS:
        ids = a.encode(text)
        assert b.encode(text) == ids and a.decode(ids) == b.decode(ids) == text
    assert len(a.encode("Hello world")) < len("Hello world")   # merges were learnt and used


def test_text_stream_holds_back_split_characters(files):
    tok = Tokenizer.load(files[0] / "tokenizer.json")
    text = "ünseen 🙂 漢字 €"
    stream = tok.stream()
    pieces = [stream.push(t) for t in tok.encode(text)] + [stream.flush()]
    assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces)
    assert "" in pieces   # some character's bytes did span tokens


def test_tokenizer_errors(tmp_path):
    with pytest.raises(PtirError, match="no such file"):
        Tokenizer.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not a tokenizer")
    with pytest.raises(PtirError, match="cannot read tokenizer"):
        Tokenizer.load(tmp_path / "bad.json")


# --- checkpoints -----------------------------------------------------------------------------------

def test_hf_directory_safetensors_and_bin(files, tmp_path):
    _, config, weights = files
    hf = GPT2.torch_module(config, weights)
    hf.save_pretrained(tmp_path / "st")
    loaded, cfg = GPT2.load_checkpoint(str(tmp_path / "st"))
    assert cfg == config and set(loaded) == set(weights)
    for k in weights:
        np.testing.assert_array_equal(loaded[k], weights[k])
    # pytorch_model.bin with GPT2Model names (no "transformer." prefix), mask buffers and a tied head
    (tmp_path / "bin").mkdir()
    state = {k.removeprefix("transformer."): v for k, v in hf.state_dict().items()}
    state["h.0.attn.bias"] = torch.ones(1, 1, 64, 64)
    torch.save(state, tmp_path / "bin" / "pytorch_model.bin")
    (tmp_path / "bin" / "config.json").write_text(json.dumps(hf.config.to_dict()))
    loaded, cfg = GPT2.load_checkpoint(str(tmp_path / "bin"))
    assert cfg == config and set(loaded) == set(weights)
    np.testing.assert_array_equal(loaded["transformer.ln_f.bias"], weights["transformer.ln_f.bias"])


def test_safetensors_config_from_metadata_or_shapes(files, tmp_path):
    d, config, weights = files
    _, inferred = GPT2.load_checkpoint(str(d / "gpt2.safetensors"))
    # every published GPT-2 has 64-wide heads; this tiny one needs its config for n_head
    assert {**inferred, "n_head": config["n_head"]} == config and inferred["n_head"] == 1
    (tmp_path / "export.safetensors").write_bytes(checkpoint_bytes("gpt2", config, weights))   # as ptirc export
    assert GPT2.load_checkpoint(str(tmp_path / "export.safetensors"))[1] == config


def test_checkpoint_errors_name_the_weight(files, tmp_path):
    _, config, weights = files
    broken = {k: v for k, v in weights.items() if k != "transformer.h.1.mlp.c_fc.bias"}
    broken["transformer.h.0.attn.c_proj.weight"] = np.zeros((3, 3), np.float32)
    save_params(broken, tmp_path / "w.safetensors")
    with pytest.raises(StateDictError) as e:
        GPT2.load_checkpoint(str(tmp_path / "w.safetensors"), config)
    assert "transformer.h.1.mlp.c_fc.bias" in str(e.value)
    assert "h.0.attn.c_proj.weight (expected shape (64, 64), got (3, 3))" in str(e.value)
    untied = {**weights, "lm_head.weight": weights["transformer.wte.weight"] + 1}
    save_params(untied, tmp_path / "u.safetensors")
    with pytest.raises(PtirError, match="untied"):
        GPT2.load_checkpoint(str(tmp_path / "u.safetensors"), config)


# --- ptirc generate --------------------------------------------------------------------------------

def test_generate_streams_greedy_text_on_llvm_cpu(files):
    d, config, weights = files
    tok = Tokenizer.load(d / "tokenizer.json")
    code, out, err = ptirc("generate", "--weights", d / "gpt2.safetensors", "--config", d / "gpt2.json",
                           "--tokenizer", d / "tokenizer.json", "--prompt", "Hello world", "--max-tokens", 16,
                           "--target", "llvm-cpu")
    assert code == 0, err
    want = GPT2.generate(config, weights, tok.encode("Hello world"), 16, "ref", eos_id=tok.eos_id)
    assert out == tok.decode(want) + "\n"
    assert "prefill 2 tokens" in err and "tok/s" in err and "Traceback" not in err


@pytest.mark.parametrize("flags", [["--temperature", "0.8", "--top-k", "40", "--seed", "3"], ["--no-kv-cache"]])
def test_generate_sampling_and_no_cache(files, flags, capsys):
    d, config, weights = files
    tok = Tokenizer.load(vocab=d / "vocab.json", merges=d / "merges.txt")
    code = main(["generate", "--weights", str(d / "gpt2.safetensors"), "--config", str(d / "gpt2.json"),
                 "--vocab", str(d / "vocab.json"), "--merges", str(d / "merges.txt"), "--prompt", "The quick",
                 "--max-tokens", "8", "--target", "ref", *flags])
    assert code == 0
    options = {"temperature": 0.8, "top_k": 40, "seed": 3} if "--seed" in flags else {"kv_cache": False}
    want = GPT2.generate(config, weights, tok.encode("The quick"), 8, "ref", eos_id=tok.eos_id, **options)
    assert capsys.readouterr().out == tok.decode(want) + "\n"


def test_generate_errors(files, tmp_path, capsys):
    d, config, weights = files
    base = ["generate", "--config", str(d / "gpt2.json"), "--tokenizer", str(d / "tokenizer.json"), "-t", "ref"]
    save_params({k: v for k, v in weights.items() if k != "transformer.ln_f.weight"}, tmp_path / "w.safetensors")
    cases = [
        (["--weights", str(tmp_path / "none.safetensors"), "--prompt", "Hi"], 1, "does not exist"),
        (["--weights", str(tmp_path / "w.safetensors"), "--prompt", "Hi"], 1, "transformer.ln_f.weight"),
        (["--weights", str(d / "gpt2.safetensors"), "--prompt", "Hi " * 80], 1, "more than the context of 64"),
        (["--weights", str(d / "gpt2.safetensors"), "--prompt", ""], 1, "prompt is empty"),
        (["--weights", str(d / "gpt2.safetensors"), "--prompt", "Hi", "--vocab", "v.json"], 2, "--merges"),
        (["--weights", str(d / "gpt2.safetensors"), "--prompt", "Hi", "--top-k", "0"], 2, "--top-k"),
    ]
    for args, want_code, text in cases:
        assert main(base + args) == want_code, args
        err = capsys.readouterr().err
        assert text in err and len(err.strip().splitlines()) == 1, err
    missing_tok = ["generate", "--weights", str(d / "gpt2.safetensors"), "--tokenizer", str(tmp_path / "t.json"),
                   "--prompt", "Hi"]
    assert main(missing_tok) == 1 and "cannot read tokenizer file" in capsys.readouterr().err


def test_generate_says_when_the_context_limits_max_tokens(files, capsys):
    """--max-tokens beyond the context (64 tokens here) is honoured up to it, and said."""
    d, config, weights = files
    code = main(["generate", "--weights", str(d / "gpt2.safetensors"), "--config", str(d / "gpt2.json"),
                 "--tokenizer", str(d / "tokenizer.json"), "--prompt", "Hi", "--max-tokens", "1000000000",
                 "--target", "ref"])
    err = capsys.readouterr().err
    assert code == 0 and "context holds 64 tokens" in err and "not --max-tokens 1000000000" in err, err
