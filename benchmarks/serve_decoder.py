"""A decoder served token by token under MLPerf LoadGen's Server scenario: its most queries/s with TTFT p99 and
TPOT p99 within their bounds (MLPerf's Llama 2 bounds by default: 2 s and 200 ms), and, beside it, an estimate for a
larger decoder from this machine's measured memory bandwidth and matmul peak (labelled as an estimate).

Random weights from the exact config (speed only); prompts of SST-2 validation texts' token counts (BERT's
WordPiece), truncated at --seq; every request generates exactly --output-tokens (greedy, EOS off).

    .venv/bin/python benchmarks/serve_decoder.py [smollm2-135m] [--output-tokens 32] [--max-batch 8]
        [--ttft-ms 2000] [--tpot-ms 200] [--min-duration 20] [--budget 300] [--threads 2] [--estimate llama-2-7b]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv: list[str] | None = None) -> int:
    import torch

    import tradeoff
    from tradeoff.bench import decode_serving, hardware, serving
    from tradeoff.bench.source import Source
    from tradeoff.bench.workloads import SERVER_TEXTS, text_lengths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default="smollm2-135m")
    ap.add_argument("--output-tokens", type=int, default=decode_serving.OUTPUT_TOKENS)
    ap.add_argument("--ttft-ms", type=float, default=decode_serving.TTFT_MS)
    ap.add_argument("--tpot-ms", type=float, default=decode_serving.TPOT_MS)
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--max-wait-ms", type=float, default=5.0)
    ap.add_argument("--seq", type=int, default=128, help="prompts truncated at this many tokens")
    ap.add_argument("--data", default="sst2")
    ap.add_argument("--min-duration", type=float, default=20.0)
    ap.add_argument("--min-queries", type=int, default=serving.MIN_QUERIES)
    ap.add_argument("--budget", type=float, default=300.0, help="seconds of trials for the search")
    ap.add_argument("--qps", type=float, default=None, help="one trial at this rate instead of the search")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--estimate", default="llama-2-7b", help="the decoder to estimate from bandwidth ('' for none)")
    ap.add_argument("--json", default=None, help="write the trials and the estimate here")
    args = ap.parse_args(argv)
    decode_serving.check(args.ttft_ms, args.tpot_ms, args.output_tokens)
    serving.check(args.ttft_ms, args.max_batch, args.max_wait_ms, args.qps, args.min_queries, args.min_duration, args.budget)
    torch.set_num_threads(args.threads)
    source = Source(args.model)
    model = source.build(torch.float32)
    lengths, path, tokenizer = text_lengths(source, args.data, SERVER_TEXTS, args.seq)
    run_batch = decode_serving.decoder_batch(model, np.asarray(lengths), args.output_tokens, args.seed)
    full = []
    for _ in range(3):  # warm-up, and what one full batch costs
        t0 = time.perf_counter()
        run_batch(np.arange(args.max_batch), lambda: None)
        full.append(time.perf_counter() - t0)
    batch_s = float(np.median(full))
    ttft_s, tpot_s = args.ttft_ms / 1e3, args.tpot_ms / 1e3
    started = time.perf_counter()
    if args.qps:
        n = max(args.min_queries, int(np.ceil(args.qps * args.min_duration)))
        trial = decode_serving.serve(run_batch, args.qps, n, args.max_batch, args.max_wait_ms / 1e3, max(10 * ttft_s, 1.0),
                                     ttft_s, tpot_s, args.min_duration, serving.trial_seed(args.seed, source.name, 0))
        cap = serving.Capacity(ttft_s, [trial], "one fixed rate")
    else:
        cap = decode_serving.capacity(run_batch, source.name, 0.5 * args.max_batch / batch_s, args.max_batch,
                                      args.max_wait_ms / 1e3, ttft_s, tpot_s, args.budget, args.min_queries,
                                      args.min_duration, args.seed, on_status=lambda s: print(s, file=sys.stderr, flush=True))
    wall = time.perf_counter() - started
    point, low, high = cap.estimate()
    print(f"{source.name} served token by token: LoadGen Server, TTFT p99 <= {args.ttft_ms:g} ms, TPOT p99 <= "
          f"{args.tpot_ms:g} ms, {args.output_tokens} output tokens, prompts {path} (mean {np.mean(lengths):.1f} tokens, "
          f"{tokenizer}), max batch {args.max_batch}, max wait {args.max_wait_ms:g} ms, static batches, KV cache, "
          f"{args.threads} threads, fp32; tradeoff {tradeoff.__version__}; full batch {batch_s * 1e3:.0f} ms")
    rows = [t.summary() for t in sorted(cap.trials, key=lambda t: t.rate)]
    print(f"{'rate':>7} {'queries':>7} {'verdict':>8} {'TTFT p50':>9} {'TTFT p99 [95%]':>24} {'TPOT p50':>9} "
          f"{'TPOT p99 [95%]':>22} {'batch':>5}  log")
    for r in rows:
        def iv(name):
            lo, hi = (r[f"{name}_p99_{end}_ms"] for end in ("low", "high"))
            end = lambda v: f"{v:.3g}" if v is not None else "?"  # noqa: E731
            return f"{end(r[f'{name}_p99_ms'])} [{end(lo)}, {end(hi)}]"
        print(f"{r['rate']:>7.3g} {r['offered']:>7} {r['loadgen_verdict'] or '-':>8} {r['ttft_p50_ms'] or float('inf'):>7.0f}ms "
              f"{iv('ttft'):>24} {r['tpot_p50_ms'] or float('inf'):>7.1f}ms {iv('tpot'):>22} {r['mean_batch']:>5.2f}  {r['log_dir']}")
    print(f"max QPS {point:.3g} [{low:.3g}, {high if high is None else f'{high:.3g}'}] ({cap.stop}); {wall:.0f} s of trials")
    out = {"model": source.name, "settings": vars(args), "trials": rows, "max_qps": [point, low, high], "stop": cap.stop,
           "full_batch_s": batch_s, "wall_s": wall, "version": tradeoff.__version__}
    if args.estimate:
        bw_limit = hardware.bandwidth("cpu", args.threads)
        bw = bw_limit.measured
        peak_limit = hardware.peak("cpu", "bf16", args.threads)
        peak = peak_limit.measured
        target = Source(args.estimate)
        prompt = int(round(float(np.mean(lengths))))
        ests = [decode_serving.estimate(target, b, prompt, args.output_tokens, bw, peak) for b in (1, 2, 4, 8, 16, 32)]
        print(f"ESTIMATE, not a measurement: {target.name} bf16 on this machine, from measured copy bandwidth "
              f"{bw / 1e9:.1f} GB/s and bf16 matmul peak {peak / 1e9:.0f} GFLOP/s (every weight and the KV cache read once "
              f"per decode step; prefill at the matmul peak; a request waits out at most the batch running when it arrives)")
        for e in ests:
            tp, tt = ("within" if e.tpot_s <= tpot_s else "over"), ("within" if e.ttft_worst_s <= ttft_s else "over")
            print(f"  batch {e.batch:>2}: TPOT {e.tpot_s * 1e3:,.0f} ms ({tp} {args.tpot_ms:g} ms), prefill {e.prefill_s:,.2f} s, "
                  f"TTFT up to {e.ttft_worst_s:,.1f} s ({tt} {args.ttft_ms:g} ms), a batch {e.batch_s:,.0f} s, "
                  f"at most {e.qps:.3g} queries/s")
        fits = [e.batch for e in ests if e.tpot_s <= tpot_s and e.ttft_worst_s <= ttft_s]
        if not fits:
            print(f"  no batch keeps both within their bounds: {target.name} cannot be served at these bounds here (estimate)")
        out["estimate"] = {"model": target.name, "bandwidth_bps": bw, "bf16_flops_per_s": peak,
                           "bandwidth": bw_limit.as_details(), "bf16_peak": peak_limit.as_details(),
                           "rows": [e.as_dict() for e in ests], "batches_within_both": fits}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
