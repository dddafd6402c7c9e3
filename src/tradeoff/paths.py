"""Where tradeoff keeps caches (assembled weights, fine-tuned checkpoints, hardware peaks) and results."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """$TRADEOFF_CACHE, else the user's cache directory; created on first use."""
    path = Path(os.environ.get("TRADEOFF_CACHE") or platformdirs.user_cache_dir("tradeoff"))
    path.mkdir(parents=True, exist_ok=True)
    return path
