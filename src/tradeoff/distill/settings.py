"""Every default of `tradeoff distill`, declared once: `distill_corpus` and `distill_task` take their keyword
defaults from `Corpus` and `Task`, and the CLI's options from `cli_default` (tests/test_settings_once.py checks
all three). Nothing heavy is imported, so the CLI can read these at start-up."""
from __future__ import annotations

from dataclasses import dataclass, fields

from tradeoff.evaluate.data import TEST_FRACTION

CORPUS_WEIGHTS = {"kl": 5.0, "lm": 2.0, "cos": 1.0}  # DistilBERT's alpha_ce, alpha_mlm, alpha_cos
TASK_WEIGHTS = {"kl": 0.5, "ce": 0.5, "mse": 0.0}


def weights_text(weights: dict[str, float]) -> str:
    """`kl=5,lm=2,cos=1`: loss weights as the --loss option writes them."""
    return ",".join(f"{k}={v:g}" for k, v in weights.items())


@dataclass(frozen=True)
class Shared:
    """Settings both kinds of distillation take, with the same default."""

    out: str | None = None  # the student's folder (None: in the tradeoff cache)
    layer_map: str = "alternate"
    layers: int | None = None
    max_steps: int | None = None
    temperature: float = 2.0
    loss: str | None = None  # None: CORPUS_WEIGHTS or TASK_WEIGHTS
    seed: int = 0
    grad_accum: int = 1
    mixed_precision: str = "no"
    checkpoint_every: int = 0
    checkpoint_dir: str | None = None
    resume: bool = True
    bench_budget_s: float = 10.0


@dataclass(frozen=True)
class Corpus(Shared):
    """Task-agnostic distillation on a text corpus (`distill_corpus`)."""

    block_size: int = 128
    batch_size: int = 8
    max_blocks: int | None = None
    eval_blocks: int = 32
    epochs: int = 1
    lr: float = 5e-4
    student: str | None = None


@dataclass(frozen=True)
class Task(Shared):
    """Task-specific distillation from a fine-tuned classifier (`distill_task`)."""

    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    train_limit: int | None = None
    test_limit: int | None = None
    test_fraction: float = TEST_FRACTION
    max_length: int = 128
    batch_size: int = 32
    epochs: int = 3
    lr: float = 1e-4
    ablation: bool = True


MODES = {"corpus": Corpus, "task": Task}


def cli_default(name: str):
    """The CLI's default for a distill option: the one default of the modes that take it, or None where the
    modes' defaults differ (the option is then left out and each mode uses its own)."""
    values = [getattr(cls, name) for cls in MODES.values() if name in {f.name for f in fields(cls)}]
    if not values:
        raise KeyError(f"no distill setting {name!r}")
    return values[0] if all(v == values[0] for v in values) else None
