"""The load generator's own error: how late MLPerf LoadGen, driving `tradeoff bench --workload server`, issues
each scheduled query, so a p99 it reports is the model's and not the generator's.

Runs `serving.serve` (the code the server workload uses: LoadGen's Server scenario into tradeoff's batcher)
with a batch that costs a fixed number of microseconds (a busy loop holding the GIL, as Python code between a
model's kernels does; no model), at several Poisson rates, and prints per rate the schedule error (LoadGen's
issue time minus the scheduled arrival, from its trace) p50 / p99 / max, the end-to-end p99 latency against the
batch cost and the batcher's wait (the part the generator and the thread hand-off add), LoadGen's verdict, and
the CPU's foreign load while it ran. On a quiet machine the schedule error p99 should stay under 1 ms.

    .venv/bin/python benchmarks/loadgen_overhead.py [--rates 50,200,1000] [--seconds 5] [--cost-us 200] [--max-wait-ms 2]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import psutil


def main() -> None:
    from tradeoff.bench import serving

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", default="50,200,1000", help="comma list of queries/s")
    p.add_argument("--seconds", type=float, default=5.0, help="per rate")
    p.add_argument("--cost-us", type=float, default=200.0, help="what one batch costs (a busy loop), microseconds")
    p.add_argument("--max-batch", type=int, default=8)
    p.add_argument("--max-wait-ms", type=float, default=2.0)
    args = p.parse_args()
    cost = args.cost_us / 1e6

    def run_batch(idx):  # busy, like a model holding the CPU; sleeping would hand the core back
        end = time.perf_counter() + cost
        while time.perf_counter() < end:
            pass

    print(f"batch cost {args.cost_us:g} us (busy loop), max batch {args.max_batch}, max wait {args.max_wait_ms:g} ms, "
          f"{args.seconds:g} s per rate; {psutil.cpu_count()} CPUs")
    print(f"{'rate':>7} {'served':>7} {'sched p50':>10} {'sched p99':>10} {'sched max':>10} {'lat p99':>9} {'cost+wait':>9} "
          f"{'verdict':>8} {'foreign':>8}")
    for rate in [float(r) for r in args.rates.split(",")]:
        psutil.cpu_percent()
        own0 = sum(psutil.Process().cpu_times()[:2])
        t0 = time.perf_counter()
        trial = serving.serve(run_batch, rate, 500, args.max_batch, args.max_wait_ms / 1e3, 1.0, 1.0, args.seconds, seed=0)
        wall = time.perf_counter() - t0
        own = (sum(psutil.Process().cpu_times()[:2]) - own0) / wall / psutil.cpu_count()
        foreign = max(0.0, psutil.cpu_percent() / 100 - own)
        err = trial.schedule_errors * 1e3
        p99 = trial.quantile(0.99)[0] * 1e3
        print(f"{rate:>7g} {trial.served:>7} {np.median(err):>8.3f}ms {np.quantile(err, 0.99):>8.3f}ms {err.max():>8.3f}ms "
              f"{p99:>7.3f}ms {args.cost_us / 1e3 + args.max_wait_ms:>7.3f}ms {trial.verdict:>8} {foreign:>8.0%}")


if __name__ == "__main__":
    main()
