"""ONNX Runtime, fp32 or dynamic int8.

Export goes through `torch.onnx.export(dynamo=True)` with dynamic batch and sequence axes, once per
(config, seed) — the file is cached, so later runs and other processes skip both the export and
the torch model. int8 uses onnxruntime's dynamic quantizer, which rejects the dynamo graph unless its
`value_info` (inferred shapes) is cleared first.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

from tradeoff.atomic import write_file
from tradeoff.bench.backends.base import Backend, CannotRun, Loaded, forward_module
from tradeoff.errors import first_line
from tradeoff.paths import cache_dir


class Onnx(Backend):
    def __init__(self, name: str, int8: bool):
        self.name, self.int8 = name, int8
        self.dtype = "int8" if int8 else "fp32"

    def unavailable(self, device: str) -> str | None:
        try:
            import onnxruntime as ort
        except ImportError:
            return f"{self.name}: onnxruntime is not installed"
        if device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                reason = super().unavailable(device)
                return reason or f"{self.name}: onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
            if self.int8:
                return "onnx-int8: dynamic int8 kernels run on CPU only"
        return None

    def load(self, source, device: str, threads: int, status=lambda _: None) -> Loaded:
        path = self.model_file(source, status)
        session = open_session(path, device, threads)
        output = session.get_outputs()[0].name

        def forward(feed):
            return session.run([output], feed)

        def prepare(inputs):
            return {k: v.numpy() for k, v in inputs.items()}

        return Loaded(forward=forward, prepare=prepare, dtype=self.dtype, attention=f"{_attention(source)} (exported)",
                      artifact=path, details={"onnx_file": str(path), "providers": session.get_providers(),
                               "ort_threads": {"intra_op": threads, "inter_op": 1}, "ort_spinning": False})

    def needs_prepare(self, source) -> bool:
        return not self.target(self.folder(source)).is_file()

    def prepare(self, source, status=lambda _: None) -> None:
        self.model_file(source, status)

    def folder(self, source) -> Path:
        return cache_dir() / "onnx-models" / f"{source.name}-{source.cache_key()}"

    def target(self, folder: Path) -> Path:
        return folder / ("model-int8.onnx" if self.int8 else "model.onnx")

    def model_file(self, source, status=lambda _: None) -> Path:
        return self.files(self.folder(source), lambda path: export(source, path), source.name, source.config.model_type, status)

    def files(self, folder: Path, export_to, name: str, model_type: str, status=lambda _: None) -> Path:
        """The cached model file in `folder`: exported by `export_to(path)` (and quantized) on first use."""
        fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
        if not fp32.is_file():
            status(f"exporting {name} to ONNX")
            try:
                export_to(fp32)
            except (MemoryError, KeyboardInterrupt):
                raise
            except Exception as e:  # exporter failures come in many types; the reason is what matters
                raise CannotRun(f"{self.name}: ONNX export of {model_type} failed: {first_line(e, 200)}") from e
        if self.int8 and not int8.is_file():
            status(f"quantizing {name} to int8")
            try:
                quantize(fp32, int8)
            except (MemoryError, KeyboardInterrupt):
                raise
            except Exception as e:
                raise CannotRun(f"onnx-int8: dynamic quantization failed: {first_line(e, 200)}") from e
        return int8 if self.int8 else fp32


SPIN_OFF = {"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}


def open_session(path: Path, device: str, threads: int, spinning: bool = False):
    """A session with the thread counts eager uses (`threads` intra-op, 1 inter-op), set explicitly.

    Spinning is off: idle ORT threads otherwise busy-wait for the next call, which on a shared
    machine steals the cores the other session of an interleaved pair (or a neighbour) needs.
    `benchmarks/ort_spinning.py` measures the difference (results in docs/results.md).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if not spinning:
        for key, value in SPIN_OFF.items():
            options.add_session_config_entry(key, value)
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    return ort.InferenceSession(str(path), options, providers=providers)


def _attention(source) -> str:
    return getattr(source.config, "_attn_implementation", None) or "sdpa"


def export(source, target: Path) -> None:
    """Export the shared forward computation with dynamic batch and sequence axes; atomic write."""
    export_module(forward_module(source.build(), source.role), target, source.max_positions())


def export_module(module, target: Path, max_positions: int) -> None:
    """Export `module(input_ids, attention_mask)` with dynamic batch and sequence axes; atomic write."""
    import torch

    example = {"input_ids": torch.ones(2, 16, dtype=torch.long), "attention_mask": torch.ones(2, 16, dtype=torch.long)}
    batch, seq = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("seq", min=2, max=max_positions)
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)  # "torchvision is not installed" and similar notices
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, (), kwargs=example, dynamo=True, verbose=False,
                                        input_names=list(example), output_names=["output"],
                                        dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}})
            write_file(target, lambda tmp: program.save(str(tmp)))
    finally:
        onnx_log.setLevel(level)


def quantize(fp32: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32))
    del graph.graph.value_info[:]  # dynamo's inferred shapes trip the quantizer's shape check
    cleared = target.with_name(f".{fp32.stem}.cleared.{os.getpid()}.onnx")
    onnx.save(graph, str(cleared))
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer logs a pre-processing suggestion
    try:
        write_file(target, lambda tmp: quantize_dynamic(str(cleared), str(tmp), weight_type=QuantType.QInt8))
    finally:
        logging.getLogger().setLevel(level)
        cleared.unlink(missing_ok=True)
