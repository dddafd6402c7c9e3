"""Memory sampling, parameter and disk bytes, and the cached hardware peak."""
import numpy as np
import torch

from tradeoff.bench import hardware
from tradeoff.bench.memory import PeakRss, disk_bytes, parameter_bytes


def test_peak_rss_sees_a_transient_allocation():
    with PeakRss() as mem:
        block = np.ones(80_000_000 // 8)  # 80 MB, touched
        del block
    assert mem.delta > 60e6


def test_parameter_bytes_fp32_and_int8():
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 4))
    fp32 = parameter_bytes(model)
    assert fp32 == (256 * 256 + 256 + 256 * 4 + 4) * 4
    q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    assert fp32 / 5 < parameter_bytes(q) < fp32 / 2  # int8 weights, fp32 biases


def test_disk_bytes(tmp_path):
    assert disk_bytes(None) is None and disk_bytes(tmp_path) is None
    (tmp_path / "config.json").write_text("{}")
    assert disk_bytes(tmp_path) is None  # a config is not weights
    (tmp_path / "model.safetensors").write_bytes(b"x" * 1000)
    assert disk_bytes(tmp_path) == 1000 and disk_bytes(tmp_path / "model.safetensors") == 1000


def test_peak_flops_measured_once_then_cached(monkeypatch):
    calls = []
    monkeypatch.setattr(hardware, "measure_matmul", lambda device, dtype, seconds: calls.append(1) or 1e9)
    assert hardware.peak_flops("cpu", "fp32", threads=3) == 1e9
    assert hardware.peak_flops("cpu", "fp32", threads=3) == 1e9
    assert len(calls) == 1
    monkeypatch.undo()
    assert hardware.measure_matmul("cpu", "fp32", 0.05) > 1e8
