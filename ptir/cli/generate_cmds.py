"""`ptirc generate`: GPT-2 text generation with a KV cache, streamed token by token."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import UsageError
from .io import count, temperature


def register(sub) -> None:
    from ..runtime import TARGETS

    p = sub.add_parser("generate", help="generate text with a GPT-2 checkpoint",
                       description="Continue PROMPT with a GPT-2 model: the new text streams to standard "
                                   "output token by token; timings go to standard error.")
    p.add_argument("--weights", required=True, metavar="PATH",
                   help="a safetensors file, or an HF model directory (config.json + model.safetensors "
                        "or pytorch_model.bin)")
    p.add_argument("--config", metavar="CONFIG.json", help="the model config (HF's config.json or ptir's); "
                   "default: the directory's config.json, else read off the weight shapes (64-wide heads)")
    p.add_argument("--tokenizer", metavar="TOKENIZER.json", help="a byte-level BPE tokenizer.json")
    p.add_argument("--vocab", metavar="VOCAB.json", help="GPT-2's vocab.json (with --merges)")
    p.add_argument("--merges", metavar="MERGES.txt", help="GPT-2's merges.txt (with --vocab)")
    p.add_argument("--prompt", required=True, help="the text to continue")
    p.add_argument("--max-tokens", type=count, default=64, metavar="N", help="new tokens at most (default 64)")
    p.add_argument("--temperature", type=temperature, default=0.0, metavar="T",
                   help="sampling temperature; 0 is greedy (default)")
    p.add_argument("--top-k", type=int, metavar="K", help="sample among the K most likely tokens")
    p.add_argument("--seed", type=count, default=0, help="seed of the sampler (default 0)")
    p.add_argument("--kv-cache", action=argparse.BooleanOptionalAction, default=True,
                   help="decode with a KV cache (default); --no-kv-cache recomputes the whole context per token")
    p.add_argument("--target", "-t", choices=list(TARGETS), default="llvm-cpu", metavar="TARGET",
                   help=f"where to run: {', '.join(TARGETS)} (default llvm-cpu)")
    p.add_argument("--weights-dtype", choices=("f32", "bf16", "int8"), default="f32", metavar="DTYPE",
                   help="store the matmul weights in f32, bf16 or int8 (per-channel scales; computing in f32 "
                        "either way): fewer bytes per token, slightly different logits (default f32)")
    p.add_argument("--mesh", metavar="AXES", help="xla-cpu: split GPT-2 over a device mesh in the Megatron "
                   "tensor-parallel pattern, e.g. x=2 (docs/sharding.md)")
    p.set_defaults(handler=cmd_generate)


def _check_args(args) -> None:
    if bool(args.vocab) != bool(args.merges) or bool(args.tokenizer) == bool(args.vocab):
        raise UsageError("give the tokenizer as --tokenizer FILE, or as --vocab FILE with --merges FILE")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k must be >= 1, not {args.top_k}")


def cmd_generate(args) -> int:
    from ptir.functional.sharding import sharding_plan
    from ptir.models.generate import fitting_capacity, generator
    from ptir.models.gpt2 import GPT2
    from ptir.models.parallel import mesh_plan, parse_mesh_option
    from ptir.models.tokenizer import Tokenizer

    _check_args(args)
    if args.mesh is not None:
        parse_mesh_option(args.mesh)   # before the weights load
    tokenizer = Tokenizer.load(args.tokenizer, args.vocab, args.merges)
    weights, config = GPT2.load_checkpoint(args.weights, args.config)
    prompt = tokenizer.encode(args.prompt)
    room = config["n_positions"] - len(prompt)
    if args.max_tokens > room >= 0:
        print(f"ptirc: note: the model's context holds {config['n_positions']} tokens: after the prompt's "
              f"{len(prompt)}, at most {room} new ones (not --max-tokens {args.max_tokens})", file=sys.stderr)
    capacity = fitting_capacity(len(prompt) + args.max_tokens, config["n_positions"])
    plan = mesh_plan(args.mesh, args.target, GPT2, config)
    with sharding_plan(plan):   # the programs are traced and compiled inside
        gen = generator(GPT2, config, weights, args.target, weights_dtype=args.weights_dtype,
                        kv_cache=args.kv_cache, capacity=capacity)
        gen.check_prompt(prompt)   # before a possibly long compile
        start = time.perf_counter()
        gen.compile()
        compile_s = time.perf_counter() - start
    stream = tokenizer.stream()
    for token in gen.generate(prompt, args.max_tokens, args.temperature, args.top_k, args.seed, tokenizer.eos_id):
        sys.stdout.write(stream.push(token))
        sys.stdout.flush()
    sys.stdout.write(stream.flush() + "\n")
    rate = f"{gen.decoded / gen.decode_s:.1f} tok/s" if gen.decoded else "no steps"
    print(f"compile {compile_s:.2f} s; prefill {len(prompt)} tokens {1e3 * gen.prefill_s:.1f} ms; "
          f"decode {gen.decoded} steps {rate} ({args.target}{f' over mesh {args.mesh}' if plan else ''}, "
          f"{f'kv cache of {capacity}' if args.kv_cache else f'no cache, window {capacity}'})",
          file=sys.stderr)
    return 0
