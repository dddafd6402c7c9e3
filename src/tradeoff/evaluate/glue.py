"""The GLUE tasks the DistilBERT paper reports, in one registry: where each lives, the metric the paper
reports for it, its label range, a decoder prompt, and the paper's BERT-base / DistilBERT dev figures.

One place, so the study, the paper table and the claims cannot disagree about a task. The paper's
metrics per task follow GLUE's conventions as the issue lists them (F1 for MRPC, Matthews correlation
for CoLA, Pearson and Spearman for STS-B, accuracy otherwise); the Table 1 footnote itself could not be
retrieved here, so STS-B shows both correlations and the macro uses the first one listed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradeoff.errors import BadInput

# Sanh et al. 2019, Table 1 (GLUE dev, medians of 5 seeds): the macro score over all nine tasks.
PAPER = "Sanh et al. 2019, DistilBERT (arXiv:1910.01108), Table 1, GLUE dev"
PAPER_MACRO = {"teacher": 79.5, "student": 77.0}


@dataclass(frozen=True)
class GlueTask:
    """One GLUE task: `metrics` are the paper's, the first is the one retained % and the macro use."""

    name: str
    folder: str  # under tradeoff.paths.shared_data()
    metrics: tuple[str, ...]
    paper_teacher: float  # BERT-base dev score, in the paper's units (percent; correlations x 100)
    paper_student: float  # DistilBERT dev score
    label_range: tuple[float, float] | None = None
    template: str | None = None  # decoder prompt; None for a regression task
    verbalisers: tuple[str, ...] | None = None  # one word per label, in labels.json order

    @property
    def metric(self) -> str:
        return self.metrics[0]

    @property
    def regression(self) -> bool:
        return self.label_range is not None

    @property
    def paper_retained(self) -> float:
        return 100 * self.paper_student / self.paper_teacher

    def path(self) -> Path:
        """The task's data folder; a missing one is bad input naming where it was looked for."""
        from tradeoff.paths import shared_data

        base = shared_data()
        if base is None or not (base / self.folder / "validation.jsonl").is_file():
            where = base / self.folder if base is not None else "shared/data (not found)"
            raise BadInput(f"GLUE {self.name} data not found at {where}",
                           "set TRADEOFF_DATA to the staged data folder (with glue/ and sst2/ inside)")
        return base / self.folder

    def decoder_note(self) -> str | None:
        """Why a decoder gets no row for this task, or None when it gets one."""
        if self.template is None:
            return (f"{self.name}: decoders not applicable (a 0-5 similarity score is regression; "
                    "zero/few-shot scoring picks one of a fixed set of label words)")
        return None


TASKS: dict[str, GlueTask] = {t.name: t for t in (
    GlueTask("cola", "glue/cola", ("mcc",), 56.3, 51.3,
             template="Sentence: {text}\nQuestion: Is this sentence grammatically acceptable? Answer:",
             verbalisers=("No", "Yes")),  # 0 = unacceptable, 1 = acceptable
    GlueTask("sst2", "sst2", ("accuracy",), 92.7, 91.3,
             template="Text: {text}\nSentiment:", verbalisers=("negative", "positive")),
    GlueTask("mrpc", "glue/mrpc", ("f1", "accuracy"), 88.6, 87.5,
             template="Sentence 1: {text}\nSentence 2: {text_pair}\nQuestion: Do both sentences mean the same thing? Answer:",
             verbalisers=("No", "Yes")),  # 0 = not_equivalent, 1 = equivalent
    GlueTask("stsb", "glue/stsb", ("pearson", "spearman"), 89.0, 86.9, label_range=(0.0, 5.0)),
    GlueTask("rte", "glue/rte", ("accuracy",), 69.3, 59.9,
             template="{text}\nQuestion: {text_pair} True or False?\nAnswer:",
             verbalisers=("True", "False")),  # 0 = entailment, 1 = not_entailment
)}


def task(name: str) -> GlueTask:
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key not in TASKS:
        raise BadInput(f"unknown GLUE task {name!r}", f"use one of {', '.join(TASKS)}")
    return TASKS[key]


def tasks(names: str | list[str] | None) -> list[GlueTask]:
    """Tasks from a comma list (None: all of them), in the registry's order, each once."""
    if names is None:
        return list(TASKS.values())
    items = names.split(",") if isinstance(names, str) else list(names)
    chosen = {task(n).name for n in items if n.strip()}
    if not chosen:
        raise BadInput("no GLUE task given", f"use one or more of {', '.join(TASKS)}")
    return [t for t in TASKS.values() if t.name in chosen]
