"""Hardware limits: native dtypes and theoretical peaks from CPU flags (monkeypatched: this machine
has AVX2 only), GPU data sheets, a measured peak that is re-measured when taken on a busy machine
or beaten by a cell, and utilisation that is never above 1."""
import time

import psutil
import pytest

from tradeoff.bench import hardware
from tradeoff.bench.hardware import Limit

AVX2 = frozenset({"avx", "avx2", "fma"})
SAPPHIRE_RAPIDS = AVX2 | {"avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile"}
COOPER_LAKE = AVX2 | {"avx512f", "avx512_bf16", "avx512_vnni"}
ALDER_LAKE = AVX2 | {"avx_vnni"}


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty hardware cache and no measurements in this process yet."""
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path))
    monkeypatch.setattr(hardware, "_MEMO", {})


def fake_load(monkeypatch, foreign: float):
    class Load:
        def __enter__(self):
            self.foreign = foreign
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr("tradeoff.bench.timing.Load", Load)


def cpu(monkeypatch, flags, vendor="GenuineIntel", mhz=2000.0, cores=2):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    monkeypatch.setattr(hardware, "_proc_cpuinfo", lambda: (flags, vendor, mhz))
    monkeypatch.setattr(hardware, "physical_cores", lambda: cores)
    monkeypatch.setattr(psutil, "cpu_freq", lambda: None)


def test_native_dtypes_here_and_by_flags(monkeypatch):
    native = hardware.native_dtypes()
    assert set(native) == {"bf16", "int8"}
    assert all(isinstance(ok, bool) and isinstance(why, str) and why for ok, why in native.values())
    flags = hardware.cpu_flags()
    assert native["bf16"][0] == bool({"amx_bf16", "avx512_bf16"} & flags)  # this AVX2 EPYC: emulated
    cpu(monkeypatch, AVX2)
    assert hardware.native_dtypes() == {"bf16": (False, "no AMX-BF16/AVX512-BF16"), "int8": (False, "no VNNI/AMX-INT8")}
    cpu(monkeypatch, SAPPHIRE_RAPIDS)
    assert hardware.native_dtypes() == {"bf16": (True, "AMX-BF16"), "int8": (True, "AMX-INT8")}
    cpu(monkeypatch, COOPER_LAKE)
    assert hardware.native_dtypes() == {"bf16": (True, "AVX512-BF16"), "int8": (True, "AVX512-VNNI")}
    cpu(monkeypatch, ALDER_LAKE)
    assert hardware.native_dtypes() == {"bf16": (False, "no AMX-BF16/AVX512-BF16"), "int8": (True, "AVX-VNNI")}


def test_dtype_support_labels_emulated_bf16(monkeypatch):
    cpu(monkeypatch, AVX2)
    assert hardware.dtype_support("fp32") == (True, "native")
    assert hardware.dtype_support("bf16") == (False, "emulated (no AMX-BF16/AVX512-BF16)")
    assert hardware.dtype_support("int8") == (False, "not accelerated (no VNNI/AMX-INT8)")
    cpu(monkeypatch, SAPPHIRE_RAPIDS)
    assert hardware.dtype_support("bf16") == (True, "native (AMX-BF16)")


def test_native_dtypes_on_cuda(monkeypatch):
    """Unverified on a real GPU here: the capability query is mocked."""
    monkeypatch.setattr(hardware, "_cuda_capability", lambda: (9, 0))
    assert hardware.native_dtypes("cuda") == {"bf16": (True, "CUDA sm_90 bf16 tensor cores"), "int8": (True, "CUDA sm_90 int8 tensor cores")}
    monkeypatch.setattr(hardware, "_cuda_capability", lambda: (7, 5))
    native = hardware.native_dtypes("cuda")
    assert native["bf16"][0] is False and "sm_80" in native["bf16"][1] and native["int8"][0] is True
    monkeypatch.setattr(hardware, "_cuda_capability", lambda: None)
    assert hardware.native_dtypes("cuda") == {"bf16": (False, "no CUDA device"), "int8": (False, "no CUDA device")}


def test_theoretical_peak_from_cpu_flags(monkeypatch):
    cpu(monkeypatch, AVX2, mhz=2000.0, cores=2)
    value, how = hardware.theoretical_flops("cpu", "fp32", threads=2)
    assert value == pytest.approx(2 * 2e9 * 32) and "AVX2 FMA" in how and "2 cores" in how
    assert hardware.theoretical_flops("cpu", "fp32", threads=8)[0] == pytest.approx(2 * 2e9 * 32)  # threads beyond cores add nothing
    value, how = hardware.theoretical_flops("cpu", "bf16", threads=1)
    assert value == pytest.approx(2e9 * 32) and "emulated" in how
    cpu(monkeypatch, SAPPHIRE_RAPIDS, mhz=2000.0, cores=2)
    assert hardware.theoretical_flops("cpu", "fp32", 2)[0] == pytest.approx(2 * 2e9 * 64)
    value, how = hardware.theoretical_flops("cpu", "bf16", 2)
    assert value == pytest.approx(2 * 2e9 * 1024) and "AMX-BF16" in how
    assert hardware.theoretical_flops("cpu", "int8", 2)[0] == pytest.approx(2 * 2e9 * 2048)
    cpu(monkeypatch, COOPER_LAKE | {"avx512f"}, vendor="AuthenticAMD", mhz=2000.0, cores=1)
    assert hardware.theoretical_flops("cpu", "fp32", 1)[0] == pytest.approx(2e9 * 32)  # AMD: 512-bit FMAs in two halves


def test_gpu_data_sheet(monkeypatch):
    """Unverified on a real GPU here: the device name is mocked."""
    assert hardware.gpu_spec("NVIDIA H200")["bf16"] == 989e12 and hardware.gpu_spec("NVIDIA H200")["bandwidth"] == 4.8e12
    assert hardware.gpu_spec("NVIDIA H100 PCIe")["name"] == "H100 PCIe" and hardware.gpu_spec("NVIDIA H100 80GB HBM3")["name"] == "H100"
    assert hardware.gpu_spec("Some Future GPU") is None and hardware.gpu_spec(None) is None
    monkeypatch.setattr("tradeoff.env.environment", lambda: {"gpu": "NVIDIA H200", "cpu": "x"})
    assert hardware.theoretical_flops("cuda", "bf16", 1) == (989e12, "H200 data sheet, dense bf16")


def test_a_busy_peak_is_measured_again_and_the_best_kept(monkeypatch, fresh):
    results = iter([{1024: 1e9}, {1024: 0.5e9}, {1024: 2e9}, {1024: 4e9}])
    calls = []
    monkeypatch.setattr(hardware, "measure_matmul", lambda device, dtype: calls.append(1) or next(results))
    fake_load(monkeypatch, 0.6)  # neighbours used 60% of the CPUs
    first = hardware.peak("cpu", "fp32", 1)
    assert (first.measured, first.quiet, first.foreign_load) == (1e9, False, 0.6)
    assert hardware.peak("cpu", "fp32", 1).measured == 1e9 and len(calls) == 1  # once per process
    monkeypatch.setattr(hardware, "_MEMO", {})  # the next process
    again = hardware.peak("cpu", "fp32", 1)
    assert len(calls) == 2 and again.measured == 1e9 and not again.quiet  # a worse busy measurement never lowers the peak
    monkeypatch.setattr(hardware, "_MEMO", {})
    fake_load(monkeypatch, 0.01)
    quiet = hardware.peak("cpu", "fp32", 1)
    assert len(calls) == 3 and quiet.measured == 2e9 and quiet.quiet
    monkeypatch.setattr(hardware, "_MEMO", {})
    assert hardware.peak("cpu", "fp32", 1).measured == 2e9 and len(calls) == 3  # a quiet peak is cached for good
    assert hardware.peak("cpu", "fp32", 2) and len(calls) == 4  # per thread count


def test_forced_remeasure_keeps_the_best(monkeypatch, fresh):
    results = iter([{512: 3e9}, {512: 5e9}])
    monkeypatch.setattr(hardware, "measure_matmul", lambda device, dtype: next(results))
    fake_load(monkeypatch, 0.0)
    assert hardware.peak("cpu", "fp32", 1).measured == 3e9
    assert hardware.peak("cpu", "fp32", 1, force=True).measured == 5e9
    assert hardware.peak("cpu", "fp32", 1).measured == 5e9


def test_utilisation_is_never_above_one():
    limit = Limit("fp32", "cpu", 1, measured=1e9, theoretical=4e9, theoretical_how="1 core x ...", foreign_load=0.5, quiet=False)
    assert hardware.utilisation(0.5e9, limit) == (0.5, {"basis": "measured", "limit": 1e9})
    better = Limit("fp32", "cpu", 1, measured=3e9, theoretical=4e9, theoretical_how="", foreign_load=0.0, quiet=True)
    value, how = hardware.utilisation(2e9, limit, lambda: better)
    assert value == pytest.approx(2 / 3) and how["basis"].startswith("measured (again")
    value, how = hardware.utilisation(2e9, limit, lambda: limit)  # re-measured, still beaten: the theoretical peak, flagged
    assert value == 0.5 and how["basis"] == "theoretical" and "beat the measured peak" in how["flag"]
    value, how = hardware.utilisation(5e9, limit, lambda: limit)  # beats both: no number at all rather than one above 1
    assert value is None and how["basis"] == "none" and "flag" in how
    no_theory = Limit("bandwidth", "cpu", 1, measured=1e10, theoretical=None, theoretical_how="", foreign_load=0.0, quiet=True)
    assert hardware.utilisation(2e10, no_theory, lambda: no_theory)[0] is None


def test_measure_matmul_skips_sizes_it_cannot_afford():
    t0 = time.perf_counter()
    by_size = hardware.measure_matmul("cpu", "fp32", seconds=0.3, sizes=(128, 256, 512))
    assert time.perf_counter() - t0 < 5  # 0.3 s asked: the budget plus one call per size at most
    assert set(by_size) <= {128, 256, 512} and 128 in by_size and min(by_size.values()) > 1e7
    t0 = time.perf_counter()
    by_size = hardware.measure_matmul("cpu", "bf16", seconds=0.5)  # emulated here: 2048 would take minutes
    assert time.perf_counter() - t0 < 10 and 256 in by_size


def test_bandwidth_is_a_copy_far_beyond_the_caches(fresh):
    limit = hardware.bandwidth("cpu", threads=1)
    assert limit.what == "bandwidth" and 1e8 < limit.measured < 1e12 and limit.theoretical is None


def test_gpu_bandwidth_limit_from_the_data_sheet(monkeypatch, fresh):
    """Unverified on a real GPU here: the copy and the device name are mocked."""
    monkeypatch.setattr(hardware, "measure_bandwidth", lambda device: 4.1e12)
    monkeypatch.setattr("tradeoff.env.environment", lambda: {"gpu": "NVIDIA H200", "cpu": "x"})
    fake_load(monkeypatch, 0.0)
    limit = hardware.bandwidth("cuda", threads=1)
    assert (limit.measured, limit.theoretical) == (4.1e12, 4.8e12) and "H200" in limit.theoretical_how


def test_cpu_flags_fall_back_to_torch(monkeypatch):
    monkeypatch.setattr(hardware, "_proc_cpuinfo", lambda: (frozenset(), "", 0.0))
    monkeypatch.setattr("torch.backends.cpu.get_cpu_capability", lambda: "AMX")
    assert {"amx_bf16", "amx_int8"} <= hardware.cpu_flags()
    monkeypatch.setattr("torch.backends.cpu.get_cpu_capability", lambda: "DEFAULT")
    assert hardware.cpu_flags() == frozenset()


def test_limit_details_are_json_ready():
    import json

    limit = Limit("bf16", "cpu", 2, 1e9, 2e9, "how", 0.1, True, {"1024": 1e9}, 1.0)
    details = json.loads(json.dumps(limit.as_details()))
    assert details["by_size"] == {"1024": 1e9} and details["what"] == "bf16" and details["theoretical_how"] == "how"


def test_a_peak_under_moderate_load_is_never_cached_as_quiet(monkeypatch, fresh):
    """20% foreign load lowers a best-of to 0.8 of the machine's; cached as quiet, every utilisation after it would
    read 1.25x too high for good."""
    results = iter([{1024: 0.8e9}, {1024: 1e9}])
    monkeypatch.setattr(hardware, "measure_matmul", lambda device, dtype: next(results))
    fake_load(monkeypatch, 0.2)
    assert not hardware.peak("cpu", "fp32", 1).quiet
    monkeypatch.setattr(hardware, "_MEMO", {})  # the next process measures again
    fake_load(monkeypatch, 0.0)
    again = hardware.peak("cpu", "fp32", 1)
    assert again.quiet and again.measured == 1e9


def test_no_bf16_peak_where_bf16_is_emulated(monkeypatch, fresh):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: AVX2)
    monkeypatch.setattr(hardware, "measure_matmul", lambda device, dtype: {1024: 1e9})
    with pytest.raises(hardware.NotNative, match="emulated"):
        hardware.peak("cpu", "bf16", 1)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: COOPER_LAKE)
    fake_load(monkeypatch, 0.0)
    assert hardware.peak("cpu", "bf16", 1).measured == 1e9
