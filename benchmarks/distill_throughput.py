"""Distillation training throughput: tokens/s through `tradeoff.train.fit` with DistilBERT's triple loss,
and model FLOP utilisation (MFU) when a GPU is present.

A half-depth student (layer map `alternate`) is cut from the teacher and trained for a few steps on
Austen blocks; the first steps are a warm-up and are not counted. FLOPs per trained token are
analytic: 3x the student's forward (forward + backward) plus the teacher's forward, each with its
vocabulary projection when a LM head is used. On a GPU, MFU divides the achieved FLOP/s by the
data sheet's dense peak (the convention); on a CPU, utilisation is of the measured matmul peak
(tradeoff.bench.hardware: re-measured if beaten, then the theoretical one), both printed beside it.

    .venv/bin/python benchmarks/distill_throughput.py [--teacher all-MiniLM-L6-v2] [--steps 12]
        [--batch-size 8] [--block-size 128] [--mixed-precision no|bf16|fp16]
"""
from __future__ import annotations

import argparse
import time


def main() -> None:
    import torch

    from tradeoff.anatomy import anatomy_of
    from tradeoff.bench import hardware
    from tradeoff.distill.corpus import corpus_loader, text_blocks
    from tradeoff.distill.losses import TripleLoss
    from tradeoff.distill.run import CORPUS_WEIGHTS, checked_ref, load_with_head
    from tradeoff.distill.student import layer_map, make_student
    from tradeoff.models.load import load_pretrained, load_tokenizer
    from tradeoff.train import fit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", default="all-MiniLM-L6-v2")
    p.add_argument("--corpus", default="../shared/data/austen/train.txt")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--block-size", type=int, default=128)
    p.add_argument("--mixed-precision", default="no")
    args = p.parse_args()

    ref, config, role = checked_ref(args.teacher)
    tokenizer = load_tokenizer(ref)
    blocks = text_blocks(args.corpus, tokenizer, args.block_size, max_blocks=args.batch_size * (args.steps + args.warmup))
    teacher = load_with_head(ref, "causal-lm" if role == "decoder" else "masked-lm")
    weights = dict(CORPUS_WEIGHTS)
    if teacher is None:  # a sentence encoder without a trained LM head: hidden-state cosine only
        teacher, weights = load_pretrained(ref, "base"), {**weights, "kl": 0.0, "lm": 0.0}
    teacher.eval().requires_grad_(False)
    kept = layer_map("alternate", config.num_hidden_layers)
    student = make_student(teacher, kept)
    loader = corpus_loader(blocks, tokenizer, role, args.batch_size)
    loss = TripleLoss(teacher, **weights)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    fit(student, loader, loss, max_steps=args.warmup, progress=False, mixed_precision=args.mixed_precision)  # warm-up
    started = time.perf_counter()
    result = fit(student, loader, loss, max_steps=args.steps, progress=False, mixed_precision=args.mixed_precision)
    seconds = time.perf_counter() - started

    def forward_flops(cfg, layers: int) -> float:
        cfg = type(cfg).from_dict({**cfg.to_dict(), "num_hidden_layers": layers})
        head = 2 * cfg.hidden_size * cfg.vocab_size if weights["kl"] or weights["lm"] else 0
        return anatomy_of(cfg, "model", seq_len=args.block_size).flops_per_token + head

    per_token = 3 * forward_flops(config, len(kept)) + forward_flops(config, config.num_hidden_layers)
    tokens_per_s = result.tokens_per_s
    achieved = per_token * tokens_per_s
    dtype = "bf16" if args.mixed_precision == "bf16" else "fp32"
    limit = hardware.peak(device, dtype)
    if device == "cuda" and limit.theoretical:  # MFU is conventionally of the data sheet's dense peak
        share, label = f"{achieved / limit.theoretical:.1%}", f"MFU (of {limit.theoretical_how})"
    else:
        value, how = hardware.utilisation(achieved, limit, lambda: hardware.peak(device, dtype, force=True))
        share = f"{value:.1%}" if value is not None else how["flag"]
        label = f"utilisation (of the {how['basis']} peak)"
    theory = f"{limit.theoretical / 1e9:,.1f} GFLOP/s ({limit.theoretical_how})" if limit.theoretical else limit.theoretical_how
    print(f"teacher {ref.name} ({config.num_hidden_layers} layers) -> student layers {kept}, loss {weights}, "
          f"device {device}, threads {torch.get_num_threads()}, batch {args.batch_size} x {args.block_size}")
    print(f"training throughput: {tokens_per_s:,.0f} tokens/s over {result.steps} steps ({seconds:.1f} s wall)")
    print(f"FLOPs per trained token: {per_token / 1e6:.1f} M (3x student fwd + teacher fwd)")
    print(f"achieved: {achieved / 1e9:.2f} GFLOP/s; peak matmul measured {limit.measured / 1e9:.1f} GFLOP/s, theoretical {theory}; "
          f"{label}: {share}")


if __name__ == "__main__":
    main()
