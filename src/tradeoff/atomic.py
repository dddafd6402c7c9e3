"""Atomic writes: a file or folder appears whole or not at all.

Results, reports, caches and checkpoints are written to a temporary sibling (same folder, so the same
file system) and renamed into place, so a crash, a full disk or Ctrl-C mid-write never leaves a
half-written file that a later run would trust.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator


def write_file(path: str | Path, content: str | bytes | Callable[[Path], object], encoding: str = "utf-8") -> Path:
    """Write `content` (text, bytes, or a callback that writes to the temp path it is given) to `path`
    atomically; the folder is created if needed. The temp file keeps the target's suffix (for writers that
    pick a format by it) and is removed if writing fails. Returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name rather than mkstemp: the writer creates the file, so it gets the usual permissions.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        if isinstance(content, str):
            with open(tmp, "x", encoding=encoding) as f:
                f.write(content)
        elif isinstance(content, bytes):
            with open(tmp, "xb") as f:
                f.write(content)
        else:
            content(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def write_folder(path: str | Path, keep_existing: bool = False) -> Iterator[Path]:
    """Yield an empty temp folder beside `path` to fill; when the block ends without an error it becomes
    `path` (see `swap_in`), otherwise it is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        swap_in(tmp, path, keep_existing)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def swap_in(tmp: str | Path, path: str | Path, keep_existing: bool = False) -> Path:
    """Rename the finished folder `tmp` to `path`. An existing `path` is replaced whole (moved aside first,
    then deleted), or with `keep_existing` kept as it is and `tmp` discarded (another process finished first)."""
    tmp, path = Path(tmp), Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and keep_existing:
        shutil.rmtree(tmp, ignore_errors=True)
        return path
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path
