"""How much does tradeoff's measurement add? Its batch-1 timing of a model against a bare
`time.perf_counter()` loop around `model(**inputs)`, interleaved call by call in one run.

    .venv/bin/python benchmarks/bench_overhead.py [MODEL] [--shape 1x128] [--budget 20] [--threads 1]

Prints both medians and their ratio with a paired 95% bootstrap interval; the target is within 3%.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tradeoff.bench import paired, timing
from tradeoff.bench.backends import get
from tradeoff.bench.runner import pin_threads
from tradeoff.bench.source import Source
from tradeoff.bench.spec import parse_shape
from tradeoff.bench.workloads import fixed, random_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="all-MiniLM-L6-v2")
    parser.add_argument("--shape", default="1x128")
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    pin_threads(args.threads)
    batch, seq = parse_shape(args.shape)
    source = Source(args.model)
    cell = {"backend": "eager", "device": "cpu", "workload": "fixed", "batch": batch, "seq_len": seq}
    work = fixed(get("eager").load(source, "cpu", args.threads), source, cell)  # what `tradeoff bench` times

    model = source.build()  # same config and seed: identical weights, a separate copy
    inputs = random_tokens(source.config, batch, seq)
    bare_seconds: list[float] = []

    def bare():
        t0 = time.perf_counter()
        with torch.inference_mode():
            model(**inputs)
        bare_seconds.append(time.perf_counter() - t0)

    run = timing.measure({"tradeoff": work.call, "bare": bare}, budget_s=args.budget, target=0.01, min_rounds=20, warmup_s=1.0)
    ours = np.asarray(run.seconds["tradeoff"])
    theirs = np.asarray(bare_seconds[-len(ours):])  # drop the bare loop's own warm-up calls
    ratio = paired.speedup(ours, theirs)  # median over rounds of tradeoff / bare
    within = abs(ratio.value - 1) <= 0.03
    interval_within = ratio.low >= 0.97 and ratio.high <= 1.03
    print(f"model {source.name} {args.shape}, {args.threads} thread(s), {len(ours)} interleaved rounds ({run.stop_reason})")
    print(f"tradeoff median {np.median(ours) * 1e3:.3f} ms | bare perf_counter loop median {np.median(theirs) * 1e3:.3f} ms")
    print(f"ratio tradeoff/bare = {ratio.value:.4f} [{ratio.low:.4f}, {ratio.high:.4f}] -> "
          f"{'within' if within else 'NOT within'} 3% (whole interval {'within' if interval_within else 'not within'}; "
          f"foreign load {run.foreign_load:.0%})")


if __name__ == "__main__":
    main()
