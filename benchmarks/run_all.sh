#!/usr/bin/env bash
# Every shipped benchmark, one after the other (never in parallel: they time the same CPUs).
# Each prints the ratio it exists to measure, from interleaved runs in one process:
#   bench_overhead     tradeoff's batch-1 median / a bare perf_counter loop   (target: within 3%)
#   eval_throughput    transformers.pipeline time / tradeoff's eval time     (target: >= 2x, identical predictions)
#   distill_throughput training tokens/s of a half-depth student (and MFU on a GPU)
#   native_dtype       fp32 time / native low-precision time on SST-2 validation, and agreement with fp32
#   ort_spinning       CV of two interleaved ONNX Runtime sessions with intra-op spinning on vs off
#   loadgen_overhead   the server workload's schedule error: LoadGen's issue vs scheduled arrival (target: p99 < 1 ms, quiet)
#   serve_decoder      SmolLM2-135M's max queries/s within TTFT p99 2 s and TPOT p99 200 ms under LoadGen
# Usage: bash benchmarks/run_all.sh   (after scripts/setup.sh; data from ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
echo "== bench_overhead";     $py benchmarks/bench_overhead.py
echo "== eval_throughput";    $py benchmarks/eval_throughput.py
echo "== distill_throughput"; $py benchmarks/distill_throughput.py
echo "== native_dtype";       $py benchmarks/native_dtype.py
echo "== ort_spinning";       $py benchmarks/ort_spinning.py
echo "== loadgen_overhead";   $py benchmarks/loadgen_overhead.py
echo "== serve_decoder";      $py benchmarks/serve_decoder.py
