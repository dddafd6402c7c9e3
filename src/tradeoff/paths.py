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


def shared_data() -> Path | None:
    """The staged public data sets (SST-2, WNUT-17, fine foods, Austen): $TRADEOFF_DATA, else a
    `shared/data` folder beside the checkout (looked for upwards from here and from the working dir)."""
    if os.environ.get("TRADEOFF_DATA"):
        return Path(os.environ["TRADEOFF_DATA"])
    here = Path(__file__).resolve()
    for base in (*here.parents, *Path.cwd().resolve().parents):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return None
