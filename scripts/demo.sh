#!/usr/bin/env bash
# The main job, offline: set up, then the whole comparison (BERT-base vs DistilBERT vs Llama-2-7B on
# anatomy, speed and memory; real-weight quality on fine-food reviews for two probed encoders, a
# distilled 3-layer student and a decoder), ending with the table, the claims check, the
# recommendation and the HTML report. Timings: docs/results.md; pass --quick for a much shorter version.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/tradeoff demo "$@"
