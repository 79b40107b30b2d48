"""`ptirc export`: a model's weights and config as one safetensors file."""

from __future__ import annotations

import sys

from .io import add_output, atomic_output, count


def register(sub) -> None:
    from ptir.models import MODELS

    p = sub.add_parser(
        "export", help="write a model's weights (a checkpoint, or seeded random ones) as safetensors",
        description="Write the weights of --model under torch state_dict names to OUT (safetensors). The model "
                    "name and its JSON config go into the file's metadata (keys ptir.model and ptir.config), so "
                    "`ptirc eval --weights OUT` needs nothing else. Without --checkpoint the weights are seeded "
                    "random ones of --size, scaled to give real activations (not ~1e-9 logits).")
    p.add_argument("--model", "-m", required=True, metavar="NAME", help=f"one of {', '.join(MODELS)}")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="convert this checkpoint (a torchvision .pth state_dict, safetensors, or what the family "
                        "reads) instead of making random weights")
    p.add_argument("--size", default="full", metavar="SIZE", help="full or tiny (random weights; default full)")
    p.add_argument("--seed", type=count, default=0, help="seed of the random weights (default 0)")
    add_output(p, "-o", "--output", required=True, metavar="OUT.safetensors",
                   help="the file to write")
    p.set_defaults(handler=cmd_export)


def cmd_export(args) -> int:
    from ptir.models import get_model
    from ptir.models.base import checkpoint_bytes
    from ptir.models.eval import progress

    family = get_model(args.model)
    if args.checkpoint:
        with progress(f"reading {args.checkpoint}"):
            weights, config = family.load_checkpoint(args.checkpoint)
    else:
        config = family.config(args.size)
        with progress(f"generating seeded {args.size} {args.model} weights"):
            weights = family.random_weights(config, args.seed)
    family.bind(config, weights)   # every key and shape checked before anything is written
    payload = checkpoint_bytes(family.name, config, weights)
    with atomic_output(args.output) as f:
        f.write(payload)
    n = sum(w.size for k, w in weights.items() if not k.endswith("num_batches_tracked"))
    print(f"wrote {args.output}: {family.name}, {n / 1e6:.2f}M parameters, {len(payload) / 1e6:.1f} MB",
          file=sys.stderr)
    return 0
