"""ONNX Runtime spread: two sessions timed alternately, as `tradeoff bench` times a pair, with the
intra-op thread pool spinning (ORT's default) vs not (`session.intra_op.allow_spinning = "0"`,
what tradeoff sets).

A spinning pool keeps its threads busy-waiting after each call, so the other session's threads (and
any neighbour's) find the cores taken, which widens the paired ratios' intervals.
Blocks of rounds alternate between the two settings (on, off, on, off, ...) so drift hits both; the
script prints, per setting, each session's median and CV and the paired speed-up with its 95%
interval half-width.

    .venv/bin/python benchmarks/ort_spinning.py [MODEL_A MODEL_B] [--shape 1x128] [--rounds 60] [--blocks 4] [--threads N]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from tradeoff.bench import paired, timing
    from tradeoff.bench.backends import get
    from tradeoff.bench.backends.onnx import open_session
    from tradeoff.bench.source import Source
    from tradeoff.bench.spec import default_threads, parse_shape
    from tradeoff.bench.workloads import random_tokens

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=["bert-base-uncased", "distilbert-base-uncased"])
    p.add_argument("--shape", default="1x128")
    p.add_argument("--rounds", type=int, default=60, help="rounds per block (one call of each session per round)")
    p.add_argument("--blocks", type=int, default=4, help="blocks, alternating spinning on / off")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if len(args.models) != 2:
        p.error("give two models (a baseline and another), or none for BERT-base vs DistilBERT")
    threads = args.threads or default_threads()
    batch, seq = parse_shape(args.shape)
    sources = [Source(m) for m in args.models]
    files = [get("onnx").model_file(s, print) for s in sources]  # exported once, cached
    feeds = [{k: v.numpy() for k, v in random_tokens(s.config, batch, seq).items()} for s in sources]
    seconds = {spin: [[], []] for spin in (True, False)}
    for block in range(args.blocks):
        spin = block % 2 == 0
        sessions = [open_session(f, "cpu", threads, spinning=spin) for f in files]
        calls = [lambda s=s, feed=feed: s.run(None, feed) for s, feed in zip(sessions, feeds)]
        for call in calls:  # warm-up
            for _ in range(3):
                call()
        for r in range(args.rounds):
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                t0 = time.perf_counter()
                calls[i]()
                seconds[spin][i].append(time.perf_counter() - t0)
        del sessions, calls
    names = [s.name for s in sources]
    print(f"ONNX Runtime fp32, {names[0]} vs {names[1]}, shape {batch}x{seq}, {threads} intra-op threads, "
          f"{args.blocks} blocks of {args.rounds} alternating rounds (spinning on / off alternate by block)")
    for spin in (True, False):
        a, b = (np.asarray(x) for x in seconds[spin])
        ratio = paired.speedup(a, b)
        half = (ratio.high - ratio.low) / 2 / ratio.value
        cv = [float(np.std(x, ddof=1) / np.mean(x)) for x in (a, b)]
        print(f"spinning {'on ' if spin else 'off'}: {names[0]} median {np.median(a) * 1e3:.1f} ms (CV {cv[0]:.0%}), "
              f"{names[1]} median {np.median(b) * 1e3:.1f} ms (CV {cv[1]:.0%}); speed-up {ratio.value:.2f}x "
              f"[{ratio.low:.2f}, {ratio.high:.2f}] (±{half:.1%}; median interval of the ratio ±{timing.median_halfwidth(a / b):.1%})")


if __name__ == "__main__":
    main()
