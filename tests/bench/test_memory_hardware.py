"""Memory sampling, parameter and disk bytes (hardware limits: test_hardware.py)."""
import time

import numpy as np
import torch

from tradeoff.bench.memory import PeakRss, disk_bytes, parameter_bytes


def test_peak_rss_sees_a_transient_allocation():
    """A block alive for many sample intervals is seen whole; one shorter than an interval may be
    missed (the sampler polls), which is why the wait is part of the test."""
    with PeakRss() as mem:
        block = np.ones(80_000_000 // 8)  # 80 MB, touched
        time.sleep(20 * mem.interval)
        del block
    assert mem.delta > 70e6


def test_parameter_bytes():
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 4))
    model.register_buffer("scale", torch.ones(8, dtype=torch.bfloat16))
    assert parameter_bytes(model) == (256 * 256 + 256 + 256 * 4 + 4) * 4 + 8 * 2


def test_disk_bytes(tmp_path):
    assert disk_bytes(None) is None and disk_bytes(tmp_path) is None
    (tmp_path / "config.json").write_text("{}")
    assert disk_bytes(tmp_path) is None  # a config is not weights
    (tmp_path / "model.safetensors").write_bytes(b"x" * 1000)
    assert disk_bytes(tmp_path) == 1000 and disk_bytes(tmp_path / "model.safetensors") == 1000
