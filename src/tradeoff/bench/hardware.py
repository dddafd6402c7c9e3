"""The machine's achievable matmul FLOP/s, measured once per device/dtype/threads and cached, so
each cell can say how close it came to the hardware limit."""
from __future__ import annotations

import json
import os
import time

from tradeoff.paths import cache_dir

SIZES = {"cpu": 1024, "cuda": 8192}


def _key(device: str, dtype: str, threads: int) -> str:
    import torch

    from tradeoff.env import environment

    env = environment()
    where = env.get("gpu") if device == "cuda" else env.get("cpu")
    return f"{where}|{device}|{dtype}|{threads} threads|torch {torch.__version__}"


def peak_flops(device: str = "cpu", dtype: str = "fp32", threads: int | None = None, seconds: float = 1.0) -> float:
    """Best observed FLOP/s of a square matmul (cached in the cache dir as hardware.json)."""
    import torch

    threads = threads or torch.get_num_threads()
    path = cache_dir() / "hardware.json"
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    key = _key(device, dtype, threads)
    if key in cached:
        return float(cached[key])
    value = measure_matmul(device, dtype, seconds)
    cached[key] = value
    tmp = path.with_name(f".hardware.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cached, indent=1))
    os.replace(tmp, path)
    return value


def measure_matmul(device: str, dtype: str, seconds: float) -> float:
    import torch

    n = SIZES[device]
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(n, n, dtype=torch_dtype, device=device)
    b = torch.randn(n, n, dtype=torch_dtype, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.matmul(a, b)
    sync()
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        torch.matmul(a, b)
        sync()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best
