"""Where tradeoff keeps caches (assembled weights, fine-tuned checkpoints, hardware peaks) and results."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from tradeoff.errors import BadInput

NAME_MAX, PATH_MAX = 255, 4096  # the longest file name and path Linux takes, in bytes


def usable_path(text: str | Path, what: str, hint: str) -> Path:
    """`text` as a path, `~` expanded, once the file system can take it. The file system answers an over-long
    name with an OSError from deep inside the first call that touches it; here it is one line of bad input, before
    any such call."""
    try:
        expanded = os.fsencode(os.path.expanduser(str(text)))
    except UnicodeError:
        raise BadInput(f"{what} is not valid text", hint) from None
    if any(c < 32 or c == 127 for c in expanded):
        raise BadInput(f"{what} holds control characters", hint)
    if len(expanded) > PATH_MAX or max(len(part) for part in expanded.split(b"/")) > NAME_MAX:
        raise BadInput(f"{what} of {len(str(text)):,} characters is too long for a name or a path "
                       f"(at most {NAME_MAX} bytes a name, {PATH_MAX} a path)", hint)
    return Path(os.fsdecode(expanded))


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
