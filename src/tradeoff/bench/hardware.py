"""The machine's limits, so each cell can say how close it came to them, honestly.

- **Measured peak FLOP/s** per device, dtype and thread count: the best of square matmuls and
  `linear` (x @ W.T, what models run) over several sizes, for a few seconds in all. A peak taken
  while other processes used more than QUIET of the CPUs is never cached as quiet: it is measured again
  next time and the best of both kept (noise only ever lowers a best-of). When a cell beats it, it is measured
  again; if the cell still beats it, utilisation is taken against the theoretical peak and flagged.
- **Theoretical peak** from the CPU's flags (cores x clock x FLOPs per cycle for AVX2 FMA, AVX-512,
  AVX512-BF16, VNNI, AMX) or the GPU's data sheet, shown beside the measured one.
- **Memory bandwidth** (a STREAM-style copy; the data sheet's HBM figure on a GPU): the bound
  decoding runs against, since every new token reads all weights and the KV cache once.
- **Native dtypes** (`native_dtypes`): whether bf16 and int8 have hardware support here, or are
  emulated (they still run, labelled so). A bf16 peak exists only where bf16 is native: an emulated one
  measures the conversions, and utilisation against it says nothing about the hardware.

Measurements are cached in the cache dir (hardware.json) per machine fingerprint and thread count.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field

from tradeoff.atomic import write_file
from tradeoff.paths import cache_dir

SIZES = {"cpu": (256, 512, 1024, 2048), "cuda": (2048, 4096, 8192)}  # a small size first: it predicts the cost of larger ones
PEAK_SECONDS = 3.0  # spent measuring one peak, split across sizes in proportion to size
BANDWIDTH_SECONDS = 1.0
COPY_BYTES = {"cpu": 128 * 2**20, "cuda": 1024 * 2**20}  # far larger than any CPU cache
BUSY = 0.25  # share of the CPUs other processes used above which a measurement is flagged busy
# Share of the CPUs other processes may use while a limit is measured for it still to be cached as quiet for good: a
# best-of taken with 25% foreign load can sit 1.33x below the machine's, overstating every utilisation by as much.
QUIET = 0.02

# Dense (no sparsity) data-sheet figures: FLOP/s per dtype (int8: op/s) and memory bandwidth in bytes/s.
# Matched by substring of torch.cuda.get_device_name, first match wins (so "H100 PCIe" before "H100").
GPU_SPECS = (
    ("H200", {"fp32": 67e12, "tf32": 494e12, "bf16": 989e12, "fp16": 989e12, "int8": 1979e12, "bandwidth": 4.8e12}),
    ("H100 PCIe", {"fp32": 51e12, "tf32": 378e12, "bf16": 756e12, "fp16": 756e12, "int8": 1513e12, "bandwidth": 2.0e12}),
    ("H100", {"fp32": 67e12, "tf32": 494e12, "bf16": 989e12, "fp16": 989e12, "int8": 1979e12, "bandwidth": 3.35e12}),
    ("A100-SXM4-80GB", {"fp32": 19.5e12, "tf32": 156e12, "bf16": 312e12, "fp16": 312e12, "int8": 624e12, "bandwidth": 2.039e12}),
    ("A100", {"fp32": 19.5e12, "tf32": 156e12, "bf16": 312e12, "fp16": 312e12, "int8": 624e12, "bandwidth": 1.555e12}),
    ("L4", {"fp32": 30.3e12, "tf32": 60e12, "bf16": 121e12, "fp16": 121e12, "int8": 242e12, "bandwidth": 0.3e12}),
    ("A10", {"fp32": 31.2e12, "tf32": 62.5e12, "bf16": 125e12, "fp16": 125e12, "int8": 250e12, "bandwidth": 0.6e12}),
    ("T4", {"fp32": 8.1e12, "fp16": 65e12, "int8": 130e12, "bandwidth": 0.32e12}),
)


# -- what the hardware can do ---------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _proc_cpuinfo() -> tuple[frozenset, str, float]:
    """(flags, vendor, MHz) from /proc/cpuinfo; empty on systems without it."""
    flags, vendor, mhz = frozenset(), "", 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "flags" and not flags:
                    flags = frozenset(value.split())
                elif key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "cpu MHz":
                    mhz = max(mhz, float(value))
    except (OSError, ValueError):
        pass
    return flags, vendor, mhz


def cpu_flags() -> frozenset:
    """The CPU's feature flags (Linux names: avx2, fma, avx512f, avx512_bf16, avx512_vnni, avx_vnni,
    amx_bf16, amx_int8). Elsewhere, torch's detected capability stands in. Tests monkeypatch this."""
    flags = _proc_cpuinfo()[0]
    if flags:
        return flags
    import torch

    cap = torch.backends.cpu.get_cpu_capability().lower()  # "avx2", "avx512", "amx" or "default"
    return frozenset({"avx2": {"avx2", "fma"}, "avx512": {"avx2", "fma", "avx512f"},
                      "amx": {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"}}.get(cap, set()))


def gpu_spec(name: str | None) -> dict | None:
    for key, spec in GPU_SPECS:
        if name and key.lower() in name.lower():
            return {"name": key, **spec}
    return None


def _cuda_capability() -> tuple[int, int] | None:
    import torch

    return torch.cuda.get_device_capability(0) if torch.cuda.is_available() else None


def native_dtypes(device: str = "cpu") -> dict[str, tuple[bool, str]]:
    """Whether bf16 and int8 run on dedicated hardware here (True) or are emulated (False), and why,
    e.g. {"bf16": (True, "AMX-BF16"), "int8": (False, "no VNNI/AMX-INT8")}."""
    if device == "cuda":
        cap = _cuda_capability()
        if cap is None:
            return {"bf16": (False, "no CUDA device"), "int8": (False, "no CUDA device")}
        sm = f"sm_{cap[0]}{cap[1]}"
        return {"bf16": (True, f"CUDA {sm} bf16 tensor cores") if cap >= (8, 0) else (False, f"CUDA {sm}: bf16 tensor cores need sm_80+"),
                "int8": (True, f"CUDA {sm} int8 tensor cores") if cap >= (7, 5) else (False, f"CUDA {sm}: int8 tensor cores need sm_75+")}
    flags = cpu_flags()
    bf16 = next(((True, label) for flag, label in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16")) if flag in flags),
                (False, "no AMX-BF16/AVX512-BF16"))
    int8 = next(((True, label) for flag, label in (("amx_int8", "AMX-INT8"), ("avx512_vnni", "AVX512-VNNI"), ("avx_vnni", "AVX-VNNI"))
                 if flag in flags), (False, "no VNNI/AMX-INT8"))
    return {"bf16": bf16, "int8": int8}


def dtype_support(dtype: str, device: str = "cpu") -> tuple[bool, str]:
    """(native, label) for a backend's dtype: fp32 is always native; bf16/int8 per native_dtypes.
    bf16 without hardware is emulated (converted to fp32); int8 still runs on ordinary SIMD, only
    without the dot-product instructions that make it fast."""
    if dtype not in ("bf16", "int8"):
        return True, "native"
    native, why = native_dtypes(device)[dtype]
    return native, f"native ({why})" if native else f"{'emulated' if dtype == 'bf16' else 'not accelerated'} ({why})"


def _flops_per_cycle(dtype: str, flags: frozenset, vendor: str) -> tuple[float, str]:
    """Per-core dense FLOPs (int8: ops) per cycle for the best instructions these flags offer."""
    avx512 = 32 if "AMD" in vendor else 64  # AMD Zen 4 runs 512-bit FMAs as two 256-bit halves
    fp32 = next((f, label) for ok, f, label in (("avx512f" in flags, avx512, "AVX-512 FMA"), ({"avx2", "fma"} <= flags, 32, "AVX2 FMA"),
                                                  ("avx" in flags, 16, "AVX"), (True, 8, "SSE")) if ok)
    if dtype == "bf16":
        for flag, f, label in (("amx_bf16", 1024, "AMX-BF16"), ("avx512_bf16", 128, "AVX512-BF16")):
            if flag in flags:
                return f, label
        return fp32[0], f"{fp32[1]} (bf16 emulated in fp32)"
    if dtype == "int8":
        for flag, f, label in (("amx_int8", 2048, "AMX-INT8"), ("avx512_vnni", 256, "AVX512-VNNI"), ("avx_vnni", 128, "AVX-VNNI")):
            if flag in flags:
                return f, label
        return 2 * fp32[0], f"{fp32[1]}-width int8 multiply-add (no VNNI)"
    return fp32


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def theoretical_flops(device: str, dtype: str, threads: int) -> tuple[float | None, str]:
    """The data-sheet peak: (FLOP/s or None, how it was derived)."""
    if device == "cuda":
        from tradeoff.env import environment

        name = environment().get("gpu")
        spec = gpu_spec(name)
        if not spec or dtype not in spec:
            return None, f"no data-sheet figure for {name} {dtype}"
        return spec[dtype], f"{spec['name']} data sheet, dense {dtype}"
    import psutil

    flags, vendor, mhz = cpu_flags(), _proc_cpuinfo()[1], _proc_cpuinfo()[2]
    freq = psutil.cpu_freq() if hasattr(psutil, "cpu_freq") else None
    top = freq.max if freq and freq.max else 0.0  # 0 in most VMs, which report only the base clock
    ghz = max(mhz, top, freq.current if freq else 0.0) / 1e3
    if not ghz:
        return None, "clock speed unknown"
    cores = min(threads, physical_cores())
    per_cycle, label = _flops_per_cycle(dtype, flags, vendor)
    clock = f"{ghz:.2f} GHz" + ("" if top else " (reported clock; boost may be higher)")
    return cores * ghz * 1e9 * per_cycle, f"{cores} cores x {clock} x {per_cycle:g} FLOP/cycle ({label})"


# -- measuring ------------------------------------------------------------------------------------

def _torch_dtype(dtype: str):
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]


def measure_matmul(device: str, dtype: str, seconds: float = PEAK_SECONDS, sizes: tuple[int, ...] | None = None) -> dict[int, float]:
    """Best FLOP/s per square size, of `a @ b` and of `linear(a, b)` (x @ W.T, the kernel a Linear
    layer uses; for bf16 on CPUs without bf16 hardware it is several times faster than `a @ b`).

    `seconds` is split across sizes in proportion to size; a size whose single call (predicted
    from the last one, n^3 scaling) would not fit its share is skipped, so emulated bf16 costs
    seconds, not minutes.
    """
    import torch
    import torch.nn.functional as F

    sizes = sizes or SIZES[device]
    torch_dtype = _torch_dtype(dtype)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def timed(op) -> float:
        t0 = time.perf_counter()
        op()
        sync()
        return time.perf_counter() - t0

    best: dict[int, float] = {}
    last: tuple[int, float] | None = None  # (size, its slowest single call)
    with torch.inference_mode():
        for n in sizes:
            share = seconds * n / sum(sizes)
            if last and last[1] * (n / last[0]) ** 3 > share:
                break
            a = torch.randn(n, n, dtype=torch_dtype, device=device)
            b = torch.randn(n, n, dtype=torch_dtype, device=device)
            ops = (lambda: torch.matmul(a, b), lambda: F.linear(a, b))
            start = time.perf_counter()
            first = [timed(op) for op in ops]  # includes allocations and kernel selection
            fastest = min(first)
            while time.perf_counter() - start < share:
                fastest = min(fastest, *(timed(op) for op in ops))
            best[n] = 2 * n**3 / fastest
            last = (n, max(first))
    return best


def measure_bandwidth(device: str, seconds: float = BANDWIDTH_SECONDS) -> float:
    """Best bytes/s of a STREAM-style copy (bytes read + bytes written) of a buffer far beyond the caches."""
    import torch

    n = COPY_BYTES[device] // 4
    src = torch.ones(n, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    dst.copy_(src)
    sync()
    fastest, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        dst.copy_(src)
        sync()
        fastest = min(fastest, time.perf_counter() - t0)
    return 2 * n * 4 / fastest


@dataclass
class Limit:
    """A measured best (FLOP/s or bytes/s) beside the theoretical figure, and how each was found."""

    what: str  # "fp32", "bf16", "bandwidth"
    device: str
    threads: int
    measured: float
    theoretical: float | None
    theoretical_how: str
    foreign_load: float  # other processes' share of the CPUs during the last measurement
    quiet: bool  # measured at least once while the machine was quiet
    by_size: dict = field(default_factory=dict)
    measured_at: float = 0.0

    def as_details(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("device", "threads")}


_MEMO: dict[str, Limit] = {}  # this process's measurements: a busy cache entry is re-measured once per process


def _fingerprint(device: str) -> str:
    import torch

    from tradeoff.env import environment

    env = environment()
    where = env.get("gpu") if device == "cuda" else f"{env.get('cpu')} ({physical_cores()} cores, {platform.machine()})"
    return f"{where}|{device}|torch {torch.__version__}"


def _cache_path():
    return cache_dir() / "hardware.json"


def _read_cache() -> dict:
    try:
        cached = json.loads(_cache_path().read_text())
        return cached if isinstance(cached, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(key: str, limit: Limit) -> None:
    cached = _read_cache()  # re-read: another process may have added entries meanwhile
    cached[key] = asdict(limit)
    write_file(_cache_path(), json.dumps(cached, indent=1))


def _with_threads(threads: int, fn):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


def _limit(what: str, device: str, threads: int, measure, theoretical: tuple[float | None, str], force: bool = False) -> Limit:
    """Cached best-of: measured again when the cached one came from a busy machine (once per process)
    or when `force`; the best of old and new is kept, since load only ever lowers a best-of."""
    from tradeoff.bench.timing import Load

    key = f"{_fingerprint(device)}|{what}|{threads} threads"
    if not force and key in _MEMO:
        return _MEMO[key]
    entry = _read_cache().get(key)
    old = None
    if isinstance(entry, dict):
        try:
            old = Limit(**entry)
        except TypeError:  # an entry from an older version of this file
            old = None
    if old is not None and old.quiet and not force:
        _MEMO[key] = old
        return old
    with Load() as load:
        value, by_size = measure()
    quiet = load.foreign <= QUIET
    new = Limit(what, device, threads, value, theoretical[0], theoretical[1], load.foreign, quiet, by_size, time.time())
    if old is not None and old.measured > new.measured:
        new.measured, new.by_size = old.measured, old.by_size
    new.quiet = quiet or bool(old and old.quiet)
    _write_cache(key, new)
    _MEMO[key] = new
    return new


class NotNative(ValueError):
    """No hardware peak to judge this dtype against here (bf16 emulated in fp32)."""


def peak(device: str = "cpu", dtype: str = "fp32", threads: int | None = None, force: bool = False) -> Limit:
    """The measured matmul peak (with the theoretical one beside it) for `threads` threads; bf16 only where it is
    native (`NotNative` elsewhere, so no utilisation is quoted against an emulated peak)."""
    import torch

    if dtype == "bf16" and not native_dtypes(device)["bf16"][0]:
        raise NotNative(f"bf16 is emulated here ({native_dtypes(device)['bf16'][1]}): no bf16 peak to judge utilisation against")

    threads = threads or torch.get_num_threads()

    def measure():
        by_size = _with_threads(threads, lambda: measure_matmul(device, dtype))
        return max(by_size.values()), {str(n): v for n, v in by_size.items()}

    return _limit(dtype, device, threads, measure, theoretical_flops(device, dtype, threads), force)


def peak_flops(device: str = "cpu", dtype: str = "fp32", threads: int | None = None) -> float:
    """Best observed FLOP/s of matmul-shaped work here (see `peak`)."""
    return peak(device, dtype, threads).measured


def bandwidth(device: str = "cpu", threads: int | None = None, force: bool = False) -> Limit:
    """Measured copy bandwidth (bytes/s), the GPU data sheet's figure beside it (none for CPUs)."""
    import torch

    threads = threads or torch.get_num_threads()
    if device == "cuda":
        from tradeoff.env import environment

        spec = gpu_spec(environment().get("gpu"))
        theory = (spec["bandwidth"], f"{spec['name']} data sheet HBM") if spec else (None, "no data-sheet figure")
    else:
        theory = (None, "not derivable from CPU flags (depends on memory channels)")
    return _limit("bandwidth", device, threads, lambda: (_with_threads(threads, lambda: measure_bandwidth(device)), {}), theory, force)


def utilisation(achieved: float, limit: Limit, remeasure=None) -> tuple[float | None, dict]:
    """achieved / limit, never above 1 and never clamped: a result above the measured limit triggers
    `remeasure()` (a fresh Limit); still above, the theoretical limit is used and the result flagged;
    above that too, no utilisation is reported. Returns (fraction or None, how it was found)."""
    how = {"basis": "measured", "limit": limit.measured}
    if achieved <= limit.measured:
        return achieved / limit.measured, how
    if remeasure is not None:
        limit = remeasure()
        how = {"basis": "measured (again: a cell beat the first measurement)", "limit": limit.measured}
        if achieved <= limit.measured:
            return achieved / limit.measured, how
    if limit.theoretical and achieved <= limit.theoretical:
        return achieved / limit.theoretical, {"basis": "theoretical", "limit": limit.theoretical, "flag":
                                              f"beat the measured peak ({limit.measured:.3g}); against {limit.theoretical_how}"}
    return None, {"basis": "none", "limit": limit.theoretical or limit.measured,
                  "flag": f"{achieved:.3g} beat the measured ({limit.measured:.3g}) and theoretical ({limit.theoretical_how}) limits"}
