"""Every default of an eval cell, declared once: `tradeoff eval`'s options, the Python API and study cells all
take theirs from here (tests/test_settings_once.py checks the CLI against it). Nothing heavy is imported, so the
CLI can read these at start-up."""
from __future__ import annotations

from dataclasses import dataclass

from tradeoff.evaluate.data import TEST_FRACTION


@dataclass(frozen=True)
class HyperParams:
    """Fine-tuning (eval's finetune mode, and a distillation teacher without a trained head)."""

    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int | None = None  # tokens of a text read; None: the comparison's length (cell.max_length_for)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    patience: int = 2
    evals_per_epoch: int = 2
    mixed_precision: str = "no"  # no | fp16 | bf16: the matmuls' precision while training (weights stay fp32)


# The longest text read without --max-length, where every model's context is longer: one length for every model
# compared, so all read the same text (see cell.max_length_for).
MAX_LENGTH = 512

# Every setting an eval cell may hold; a cell's missing (or None) ones take these.
DEFAULTS = {"task": "auto", "data": None, "train": None, "mode": "auto", "seed": 0, "limit": None,
            "train_limit": None, "epochs": HyperParams.epochs, "lr": HyperParams.lr, "batch_size": HyperParams.batch_size,
            "max_length": HyperParams.max_length, "patience": HyperParams.patience,
            "k": 4, "calibrate": False, "template": None, "verbalisers": None, "text_column": "text",
            "label_column": "label", "label_names": None, "tokens_column": "tokens", "tags_column": "tags",
            "window": 1024, "stride": 512, "max_tokens": None, "backend": "eager", "test_fraction": TEST_FRACTION,
            "data_sha256": None, "text_pair_column": None, "label_range": None, "metric": "auto"}
