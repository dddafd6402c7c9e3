"""Every setting of `tradeoff distill`, declared once: `Corpus` and `Task` hold what each kind of distillation runs
with (`distill_corpus` takes a Corpus, `distill_task` a Task), and `DistillSettings` is what a distill command or
cell asks for, each field with its help text; `tradeoff distill`'s options are generated from it (tradeoff.options),
the Python API takes it, study cells are checked against its fields, and `resolve` turns it into the mode's
settings. Nothing heavy is imported, so the CLI can read these at start-up."""
from __future__ import annotations

from dataclasses import dataclass, fields

from tradeoff.errors import BadInput
from tradeoff.evaluate.data import TEST_FRACTION
from tradeoff.evaluate.settings import TEST_FRACTION_HELP
from tradeoff.options import check_names as check_fields, setting

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


@dataclass(frozen=True)
class DistillSettings:
    """A distillation's settings, either mode's. None where the modes' defaults differ: each then uses its own."""

    test: str | None = setting(Task.test, "Labelled data to score on (default: a folder's eval split, or rows of --data held out and never trained on).")
    test_fraction: float = setting(Task.test_fraction, TEST_FRACTION_HELP)
    out: str | None = setting(Shared.out, "Folder for the student (default: in the tradeoff cache).", flags=("--out", "-o"))
    layer_map: str = setting(Shared.layer_map, "alternate | uniform | first | a list such as 0,2,4,7,9,11.")
    layers: int | None = setting(Shared.layers, "Student depth (uniform/first; alternate keeps half).", flags=("--layers", "-k"))
    student: str | None = setting(Corpus.student, "Corpus: train this model (folder or catalog) instead of cutting one from the teacher.")
    epochs: int | None = setting(None, f"Default {Corpus.epochs} (corpus) or {Task.epochs} (task).")
    max_steps: int | None = setting(Shared.max_steps, "Stop after this many optimizer steps.")
    batch_size: int | None = setting(None, f"Default {Corpus.batch_size} (corpus) or {Task.batch_size} (task).")
    block_size: int = setting(Corpus.block_size, "Corpus: tokens per training block.")
    max_length: int = setting(Task.max_length, "Task: longest input in tokens.")
    lr: float | None = setting(None, f"Learning rate (default {Corpus.lr:g} corpus, {Task.lr:g} task).")
    temperature: float = setting(Shared.temperature, "Softmax temperature of the soft targets.", flags=("--temperature", "-T"))
    loss: str | None = setting(Shared.loss, f"Loss weights: corpus {weights_text(CORPUS_WEIGHTS)}; task {weights_text(TASK_WEIGHTS)}.")
    train_limit: int | None = setting(Task.train_limit, "Task: use a seeded subset of this many training examples.")
    test_limit: int | None = setting(Task.test_limit, "Task: score a seeded subset of this many examples.")
    ablation: bool = setting(Task.ablation, "Task: also train the student on hard labels only.", flags=("--ablation/--no-ablation",))
    seed: int = setting(Shared.seed)
    grad_accum: int = setting(Shared.grad_accum)
    mixed_precision: str = setting(Shared.mixed_precision, "no | fp16 | bf16 (GPU).")
    checkpoint_every: int = setting(Shared.checkpoint_every, "Save a resumable checkpoint every N steps.")
    resume: bool = setting(Shared.resume, "Continue from the latest checkpoint, if any.", flags=("--resume/--no-resume",))
    bench_budget_s: float = setting(Shared.bench_budget_s, "Seconds to time teacher vs student.", flags=("--bench-budget",))
    # Set by study cells and the Python API only.
    text_column: str = setting(Task.text_column, cli=False)
    label_column: str = setting(Task.label_column, cli=False)
    max_blocks: int | None = setting(Corpus.max_blocks, cli=False)
    eval_blocks: int = setting(Corpus.eval_blocks, cli=False)
    checkpoint_dir: str | None = setting(Shared.checkpoint_dir, cli=False)


def check_names(names) -> None:
    """A distill cell or call names DistillSettings' fields only: a typo is an error with its close matches."""
    check_fields(DistillSettings, names, "distillation option")


def resolve(mode: str, options: dict) -> Corpus | Task:
    """The settings `mode` runs with, from a cell's options (DistillSettings' fields; None: the mode's default).
    An option only the other mode takes must be left at its default, so `--test` with `--corpus` is an error
    rather than silently ignored."""
    check_names(options)
    cls = MODES[mode]
    own = {f.name for f in fields(cls)}
    declared = {f.name: f for f in fields(DistillSettings)}
    for name, value in options.items():
        if name not in own and value is not None and value != declared[name].default:
            flag = (declared[name].metadata["flags"] or (f"--{name.replace('_', '-')}",))[0].split("/")[0]
            raise BadInput(f"{flag} does not apply to this kind of distillation",
                           "use --corpus for task-agnostic options and --data for task-specific ones")
    return cls(**{k: v for k, v in options.items() if k in own and v is not None})
