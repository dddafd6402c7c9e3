#!/usr/bin/env bash
# The main job, offline: set up, then put BERT-base, DistilBERT and Llama 2 side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/tradeoff inspect bert-base-uncased distilbert-base-uncased llama-2-7b llama-2-13b llama-2-70b "$@"
