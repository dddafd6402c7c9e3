"""Memory a model costs: RSS sampled in a thread while loading and running, parameter bytes,
CUDA peaks, and the on-disk size of its weights.

Several models can share a process (for paired timing), so figures are deltas over the RSS just
before each phase, with freed heap handed back to the OS first (malloc_trim) so one model's
freed activations do not hide the next one's.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from pathlib import Path

import psutil


def trim_heap() -> None:
    """Return freed malloc arenas to the OS (glibc only; a no-op elsewhere)."""
    import gc

    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakRss:
    """Context manager: peak resident memory of this process while the block runs, sampled every
    `interval` s in a thread, plus the RSS at entry (so `delta` is what the block added)."""

    def __init__(self, interval: float = 0.002, device: str = "cpu"):
        self.interval = interval
        self.cuda = device == "cuda"
        self.proc = psutil.Process()

    def __enter__(self):
        trim_heap()
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            self.cuda_start = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.end = self.proc.memory_info().rss
        self.peak = max(self.peak, self.end)
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            self.cuda_max_allocated = torch.cuda.max_memory_allocated() - self.cuda_start
            self.cuda_max_reserved = torch.cuda.max_memory_reserved()
        return False

    @property
    def delta(self) -> int:
        """Peak added while the block ran (transients included)."""
        return max(0, self.peak - self.start)

    @property
    def kept(self) -> int:
        """Still resident when the block ended (what a loaded model holds)."""
        return max(0, self.end - self.start)


def parameter_bytes(model) -> int:
    """Bytes held by parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx", ".h5", ".msgpack")


def disk_bytes(path: str | Path | None) -> int | None:
    """Size of the weight files in a folder (or of one file); None when there are none."""
    if path is None:
        return None
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        sizes = [f.stat().st_size for f in p.rglob("*") if f.is_file() and f.suffix in WEIGHT_SUFFIXES]
        return sum(sizes) if sizes else None
    return None
