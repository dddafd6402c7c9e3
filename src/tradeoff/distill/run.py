"""Distillation runs: build the student, train it through the one training loop, then put it next
to its teacher (parameters from `inspect`, a paired speed-up from `bench`, quality retained with a
paired interval), and return Records of kind "distill".

Two modes: `distill_corpus` (task-agnostic, on plain text: DistilBERT's triple loss, or CLM + KL
for decoders) and `distill_task` (task-specific, from a fine-tuned classifier on labelled data,
with an ablation row: the same student trained on hard labels only).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import numpy as np
import torch

from tradeoff import stats
from tradeoff.distill.settings import CORPUS_WEIGHTS, TASK_WEIGHTS, Corpus, Task, weights_text
from tradeoff.errors import BadInput
from tradeoff.record import Metric, Record


@dataclass
class DistillResult:
    """What a distillation produced: the Records to keep, where the student is, and the rows to show (rendered
    from the records, never stored in them)."""

    records: list[Record]
    student_dir: Path

    @property
    def rows(self) -> list[dict]:
        return display_rows(self.records)


def display_rows(records: list[Record]) -> list[dict]:
    """Teacher, student and (with the ablation) the hard-label student, one row each, from a distillation's records."""
    first = records[0]
    cell, metrics, details = first.details.get("settings") or first.cell, first.metrics, first.details
    spec = cell["layer_map"]
    rows = [_teacher_row(first.model, details["teacher_layers"], metrics)]
    if cell["mode"] == "corpus":
        name = f"student ({cell['student']})" if cell.get("student") else f"student ({spec})"
        return rows + [_row(name, details["student_layers"], metrics)]
    rows.append(_row(f"student ({spec}, distilled)", details["student_layers"], metrics))
    hard = next((r for r in records[1:] if r.cell.get("method") == "hard-labels"), None)
    if hard is not None:
        rows.append(_row(f"student ({spec}, hard labels only)", details["student_layers"], hard.metrics))
        for row, gain in zip(rows, ["-", metrics["distill_gain"].fmt(3), "0 (ablation)"]):
            row["vs hard labels"] = gain
    return rows


def parse_weights(text: str | dict | None, defaults: dict[str, float]) -> dict[str, float]:
    """`kl=5,lm=2,cos=1` (any subset; the rest keep their defaults) to a dict of loss weights."""
    weights = dict(defaults)
    if not text:
        return weights
    items = text.items() if isinstance(text, dict) else (part.split("=", 1) for part in text.split(",") if part.strip())
    for item in items:
        if len(item) != 2:
            raise BadInput(f"loss weight {'='.join(item)!r} is not name=value", f"e.g. {weights_text(defaults)}")
        name, value = item[0].strip(), item[1]
        if name not in defaults:
            raise BadInput(f"unknown loss term {name!r}", f"use {', '.join(defaults)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise BadInput(f"loss weight {name}={value!r} is not a number", f"e.g. {weights_text(defaults)}") from None
    return weights


# ---------------------------------------------------------------- teacher and student


def checked_ref(teacher: str, task: bool = False):
    """(ref, config, role) of a teacher; a task-specific teacher must be an encoder classifier."""
    from tradeoff.models.refs import parse_ref

    ref = parse_ref(teacher)
    config = ref.config()
    role = ref.role(config)
    if task and role != "encoder":
        raise BadInput(f"task-specific distillation needs an encoder classifier; {ref.name} is a decoder",
                       "distil a decoder on a text corpus with --corpus (mode = \"corpus\" in a study)")
    return ref, config, role


def load_with_head(ref, task: str):
    """The teacher with the `task` head, or None when its checkpoint has no trained weights for that head
    (sentence encoders such as all-MiniLM-L6-v2 ship the bare encoder)."""
    from transformers.utils import logging as hf_logging

    from tradeoff.models.load import auto_class
    from tradeoff.models.weights import require_weights

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = auto_class(task).from_pretrained(str(require_weights(ref)), output_loading_info=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    return None if info["missing_keys"] else model.eval()


def check_vocabularies(teacher_config, student_config, teacher_tokenizer=None, student_tokenizer=None) -> None:
    """Soft targets compare distributions token by token: both sides must share one vocabulary
    (the same size, and the same tokens when both tokenizers are known)."""
    same_tokens = teacher_tokenizer is None or student_tokenizer is None or \
        teacher_tokenizer.get_vocab() == student_tokenizer.get_vocab()
    if teacher_config.vocab_size != student_config.vocab_size or not same_tokens:
        raise BadInput(f"teacher and student vocabularies differ ({teacher_config.vocab_size:,} vs {student_config.vocab_size:,} "
                       "entries or different tokens)", "distil into a student that uses the teacher's tokenizer")


def given_student(student: str, role: str, teacher_config, teacher_tokenizer, task: str, seed: int):
    """A student named by the user (a folder or catalog model, e.g. distilbert-base-uncased) instead of
    one cut from the teacher: its pretrained weights when available here, else random ones from its
    config. It must share the teacher's vocabulary and kind (encoder/decoder)."""
    from tradeoff.models.load import build_random, load_pretrained, load_tokenizer
    from tradeoff.models.weights import local_weights

    ref, config, student_role = checked_ref(student)
    if student_role != role:
        raise BadInput(f"the student {ref.name} is a{'n' if student_role == 'encoder' else ''} {student_role} "
                       f"but the teacher is a{'n' if role == 'encoder' else ''} {role}", "pick a student of the same kind")
    if local_weights(ref) is not None:
        check_vocabularies(teacher_config, config, teacher_tokenizer, load_tokenizer(ref))
        return ref, load_pretrained(ref, task=task).train()
    check_vocabularies(teacher_config, config)
    return ref, build_random(ref, task=task, seed=seed).train()


def _freeze(model):
    model.eval()
    model.requires_grad_(False)
    return model


# ---------------------------------------------------------------- side by side


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def paired_speedup(teacher, student, inputs: dict, budget_s: float) -> tuple[dict[str, Metric], dict]:
    """Teacher and student timed in alternation on the same inputs (bench's loop): the student's
    speed-up with a paired interval, each one's median latency, and how noisy the timing was.

    Both run on the student's device: training may leave the teacher on CUDA (the distillation loss moves it
    to each batch's device) while the student is back on the CPU, and a ratio across devices means nothing.
    CUDA work is synchronised inside each timed call, so a launch is never timed as the whole forward."""
    from tradeoff.bench.paired import speedup
    from tradeoff.bench.timing import measure, noise

    device = next(student.parameters()).device
    teacher = teacher.to(device)
    inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()}

    def call(model):
        def run():
            with torch.inference_mode():
                model(**inputs)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        return run

    timed = measure({"teacher": call(teacher), "student": call(student)}, budget_s=budget_s, baseline="teacher")
    def median_ms(seconds):
        return stats.metric(np.median, np.asarray(seconds) * 1e3, unit="ms", n_boot=1000)

    metrics = {"speedup": speedup(timed.seconds["teacher"], timed.seconds["student"]),
               "teacher_latency_p50": median_ms(timed.seconds["teacher"]), "latency_p50": median_ms(timed.seconds["student"])}
    return metrics, {"rounds": len(timed.seconds["teacher"]), "stop": timed.stop_reason, "device": str(device),
                     **noise(np.asarray(timed.seconds["teacher"]) / np.asarray(timed.seconds["student"]), timed, 0.03)}


def block_retained(student_scores, teacher_scores) -> dict[str, Metric]:
    """Mean per-block score (%) of each model and the student's share of the teacher's (%), with
    intervals from resampling blocks (paired: the same blocks scored by both)."""
    s, t = np.asarray(student_scores, dtype=float) * 100, np.asarray(teacher_scores, dtype=float) * 100
    out = {"quality": stats.metric(np.mean, s, unit="%"), "teacher_quality": stats.metric(np.mean, t, unit="%")}
    if t.mean() > 0:
        out["retained"] = stats.metric(lambda a, b: 100 * a.mean() / b.mean(), s, t, unit="%", paired=True)
    return out


def size_metrics(teacher, student) -> dict[str, Metric]:
    t, s = parameters(teacher), parameters(student)
    return {"parameters": Metric(value=s), "teacher_parameters": Metric(value=t), "parameters_saved": Metric(value=1 - s / t)}


def _fit_metrics(result) -> dict[str, Metric]:
    return {"train_tokens_per_s": Metric(value=result.tokens_per_s, unit="tokens/s"),
            "train_seconds": Metric(value=result.seconds, unit="s"), "train_steps": Metric(value=result.steps)}


def _record(teacher_name: str, cell: dict, metrics: dict[str, Metric], details: dict) -> Record:
    from tradeoff.env import environment

    return Record(kind="distill", model=teacher_name, weights="pretrained", cell=cell, metrics=metrics,
                  details=details, env=environment())


def _row(name: str, layers: int, metrics: dict[str, Metric | None], baseline: bool = False) -> dict:
    def fmt(key):
        m = metrics.get(key)
        return m.fmt(3) if m else "-"

    return {"model": name, "layers": layers, "parameters": f"{int(metrics['parameters'].value):,}",
            "latency p50": fmt("latency_p50"), "speed-up": "1 (baseline)" if baseline else fmt("speedup"),
            "quality": fmt("quality"), "retained": "1 (baseline)" if baseline else fmt("retained")}


def _teacher_row(name: str, layers: int, metrics: dict[str, Metric]) -> dict:
    return _row(f"{name} (teacher)", layers, {"parameters": metrics["teacher_parameters"],
                "latency_p50": metrics["teacher_latency_p50"], "quality": metrics.get("teacher_quality")}, baseline=True)


def _default_out(teacher_name: str, mode: str, student: str) -> Path:
    from tradeoff.paths import cache_dir

    return cache_dir() / "students" / f"{teacher_name}-{mode}-{student}"


def _layers_label(kept: list[int]) -> str:
    return "L" + "_".join(map(str, kept))


def _clear(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- task-agnostic


def distill_corpus(teacher: str, corpus: str | Path, settings: Corpus = Corpus(), progress: bool = True) -> DistillResult:
    """Task-agnostic distillation on a plain text corpus, then the student measured against the teacher.

    The teacher's own LM head gives the soft targets; a teacher without a trained LM head (a sentence
    encoder) is distilled on its hidden states alone (cosine term), and the record says so. `settings.student`
    names a model to train instead of cutting one from the teacher by `settings.layer_map`.
    """
    from tradeoff.distill.corpus import corpus_loader, text_blocks
    from tradeoff.distill.losses import TripleLoss
    from tradeoff.distill.student import layer_map as make_map, make_student, save_model
    from tradeoff.models.load import load_pretrained, load_tokenizer
    from tradeoff.train import fit

    ref, config, role = checked_ref(teacher)
    spec = settings.layer_map
    if settings.student is not None and (settings.layers is not None or settings.layer_map != "alternate"):
        raise BadInput("--student and --layer-map/--layers both choose the student", "give one of them")
    kept = None if settings.student else make_map(spec, config.num_hidden_layers, settings.layers)
    weights = parse_weights(settings.loss, CORPUS_WEIGHTS)
    TripleLoss(None, settings.temperature, **weights)  # reject bad weights before any work
    if settings.batch_size < 1 or settings.eval_blocks < 1:
        raise BadInput("--batch-size and the held-out block count must be at least 1", "pass positive values")
    tokenizer = load_tokenizer(ref)
    blocks = text_blocks(corpus, tokenizer, settings.block_size,
                         max_blocks=settings.max_blocks + settings.eval_blocks if settings.max_blocks else None,
                         min_blocks=settings.batch_size + settings.eval_blocks)
    train_blocks, held_out = blocks[:-settings.eval_blocks], blocks[-settings.eval_blocks:]

    lm_task = "causal-lm" if role == "decoder" else "masked-lm"
    if settings.student is not None:
        student_ref, student_model = given_student(settings.student, role, config, tokenizer, lm_task, settings.seed)
        if weights["cos"] > 0 and student_model.config.hidden_size != config.hidden_size:
            raise BadInput(f"the cosine loss needs equal hidden sizes ({student_ref.name} {student_model.config.hidden_size}, "
                           f"{ref.name} {config.hidden_size})", "pass --loss cos=0")
    teacher_model = load_with_head(ref, lm_task)
    headless = teacher_model is None
    if headless:
        if weights["cos"] <= 0:
            raise BadInput(f"{ref.name} has no trained LM head, so only the cosine term can teach the student",
                           "keep cos > 0 in --loss")
        teacher_model = load_pretrained(ref, "base")
        weights = {**weights, "kl": 0.0, "lm": 0.0}
    _freeze(teacher_model)
    if settings.student is None:
        student_model = make_student(teacher_model, kept)
    elif headless:
        raise BadInput(f"{ref.name} has no trained LM head to teach a separate student",
                       "cut the student from the teacher with --layer-map instead")
    student_label = student_ref.name if settings.student else _layers_label(kept)
    out = Path(settings.out) if settings.out else _default_out(ref.name, "corpus", student_label)
    ckpt = Path(settings.checkpoint_dir) if settings.checkpoint_dir else out.with_name(out.name + ".checkpoints")
    loader = corpus_loader(train_blocks, tokenizer, role, settings.batch_size)
    result = fit(student_model, loader, TripleLoss(teacher_model, settings.temperature, **weights),
                 epochs=settings.epochs, max_steps=settings.max_steps, lr=settings.lr, seed=settings.seed,
                 grad_accum=settings.grad_accum, mixed_precision=settings.mixed_precision,
                 checkpoint_dir=ckpt if settings.checkpoint_every else None, checkpoint_every=settings.checkpoint_every,
                 resume=settings.resume, progress=progress,
                 label=f"distill {ref.name} -> {student_model.config.num_hidden_layers} layers")
    student_model = student_model.cpu().eval()
    teacher_model = teacher_model.cpu()
    provenance = {"teacher": ref.text, "mode": "corpus", "layers": kept, "student": settings.student, "loss": weights,
                  "temperature": settings.temperature, "corpus": str(corpus), "steps": result.steps, "seed": settings.seed}
    save_model(student_model, tokenizer, out, provenance)
    _clear(ckpt)

    if headless:
        scores, name = _cosine_scores(student_model, teacher_model, held_out), "hidden-state cosine to the teacher"
        metrics = {"quality": stats.metric(np.mean, scores)}
    else:
        s, t = _token_accuracy(student_model, teacher_model, held_out, tokenizer, role, settings.seed)
        metrics, name = block_retained(s, t), ("masked-token" if role == "encoder" else "next-token") + " accuracy"
    timing, noise = paired_speedup(teacher_model, student_model, {"input_ids": held_out[:1]}, settings.bench_budget_s)
    metrics = {**size_metrics(teacher_model, student_model), **timing, **metrics, **_fit_metrics(result)}
    cell = {"mode": "corpus", "data": str(corpus), "layer_map": spec if isinstance(spec, str) else ",".join(map(str, spec)),
            "layers": kept, **({"student": settings.student} if settings.student else {}), "block_size": settings.block_size,
            "batch_size": settings.batch_size, "max_blocks": settings.max_blocks, "epochs": settings.epochs,
            "max_steps": settings.max_steps, "lr": settings.lr, "loss": weights_text(weights),
            "temperature": settings.temperature, "seed": settings.seed, "mixed_precision": settings.mixed_precision}
    details = {"student_dir": str(out), "quality_name": name, "held_out_blocks": settings.eval_blocks,
               "teacher_has_lm_head": not headless, "resumed_from_step": result.resumed_from_step,
               "first_loss": result.losses[0] if result.losses else None,
               "last_loss": result.losses[-1] if result.losses else None, "timing": noise,
               "bench_shape": [1, settings.block_size], "teacher_layers": config.num_hidden_layers,
               "student_layers": student_model.config.num_hidden_layers}
    return DistillResult([_record(ref.name, cell, metrics, details)], out)


def _cosine_scores(student, teacher, blocks: torch.Tensor) -> np.ndarray:
    """Per block, the mean cosine similarity of the student's last hidden states to the teacher's."""
    out = []
    with torch.inference_mode():
        for ids in blocks.split(8):
            s = student(input_ids=ids).last_hidden_state
            t = teacher(input_ids=ids).last_hidden_state
            out.extend(torch.nn.functional.cosine_similarity(s, t, dim=-1).mean(dim=1).tolist())
    return np.asarray(out)


def _token_accuracy(student, teacher, blocks: torch.Tensor, tokenizer, role: str, seed: int):
    """Per block, each model's accuracy on the same masked tokens (encoders) or next tokens (decoders)."""
    from tradeoff.distill.corpus import corpus_loader

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        batches = list(corpus_loader(blocks, tokenizer, role, batch_size=8, train=False))  # one fixed masking for both models
    scores = {"student": [], "teacher": []}
    with torch.inference_mode():
        for batch in batches:
            labels = batch["labels"]
            for name, model in (("student", student), ("teacher", teacher)):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                if role == "decoder":
                    logits, target = logits[:, :-1], labels[:, 1:]
                else:
                    target = labels
                scored = target != -100
                hits = (logits.argmax(-1) == target) & scored
                scores[name].extend((hits.sum(1) / scored.sum(1).clamp(min=1)).tolist())
    return np.asarray(scores["student"]), np.asarray(scores["teacher"])


# ---------------------------------------------------------------- task-specific


def distill_task(teacher: str, data: str, settings: Task = Task(), progress: bool = True) -> DistillResult:
    """Task-specific distillation from a fine-tuned teacher, then teacher, distilled student and (with
    `settings.ablation`) the same student trained on hard labels only, scored on the same test examples.

    A teacher without a trained classification head is fine-tuned first by tradeoff.evaluate (cached).
    Students train with the teacher's recipe: a seeded dev split held out for early stopping.
    """
    from tradeoff.distill.losses import TaskLoss
    from tradeoff.distill.student import layer_map as make_map, make_student, save_model
    from tradeoff.evaluate import classification as clf, inference
    from tradeoff.evaluate.data import (detect_task, load_classification, source_sha256, train_dev_split,
                                        train_test_split)
    from tradeoff.evaluate.settings import HyperParams
    from tradeoff.evaluate.metrics import compute, paired_difference, retained as retained_metric
    from tradeoff.models.load import load_pretrained, load_tokenizer
    from tradeoff.models.refs import parse_ref
    from tradeoff.models.weights import weights_revision

    ref, config, role = checked_ref(teacher, task=True)
    spec = settings.layer_map
    kept = make_map(spec, config.num_hidden_layers, settings.layers)
    weights = parse_weights(settings.loss, TASK_WEIGHTS)
    TaskLoss(None, settings.temperature, **weights)  # reject bad weights before any work

    regression = detect_task(settings.test or data, label_column=settings.label_column) == "regression"  # STS-B-style scores

    def load(source, split, names):
        return load_classification(source, split, settings.text_column, settings.label_column, names, regression=regression)

    # With --test the two are used as given; without it a folder's splits, or a held-out part of one file.
    rows = train_test_split(load, settings.test or data, data if settings.test else None, needs_train=True,
                            test_fraction=settings.test_fraction, limit=settings.test_limit,
                            train_limit=settings.train_limit)
    train, scored = rows.train, rows.test
    clf.check_labels_match(train, scored)
    hp = HyperParams(epochs=settings.epochs, batch_size=settings.batch_size, max_length=settings.max_length,
                     mixed_precision=settings.mixed_precision)

    out = Path(settings.out) if settings.out else _default_out(ref.name, "task", _layers_label(kept))
    if any(a.endswith("ForSequenceClassification") for a in (config.architectures or [])):
        scored = clf.in_checkpoint_labels(ref, scored)
        train = clf.in_checkpoint_labels(ref, train)
        teacher_pred, teacher_info = clf.evaluate_checkpoint(ref, scored, settings.batch_size, settings.max_length)
        teacher_ref = ref
    else:
        teacher_dir = out.with_name(out.name + ".teacher")
        teacher_pred, teacher_info = clf.finetune_and_predict(ref, train, scored, seed=settings.seed, hp=hp, progress=progress,
                                                              save_dir=teacher_dir)
        teacher_ref = parse_ref(str(teacher_dir))
    teacher_model = _freeze(load_pretrained(teacher_ref, task="sequence-classification"))
    tokenizer = load_tokenizer(teacher_ref)
    initial = make_student(teacher_model, kept)

    fit_idx, dev_idx = train_dev_split(len(train), seed=settings.seed)
    fit_part, dev = train.subset(fit_idx), train.subset(dev_idx)
    encodings = inference.encode(tokenizer, fit_part.inputs, settings.max_length)
    for enc, label in zip(encodings, fit_part.labels):
        enc["labels"] = label

    def dev_accuracy(model) -> float:
        return clf.dev_score(model, tokenizer, dev, settings.batch_size, settings.max_length)

    def train_student(task_loss, label: str, ckpt: Path | None):
        import copy

        from transformers import DataCollatorWithPadding

        from tradeoff.train import fit

        student = copy.deepcopy(initial)
        loader = torch.utils.data.DataLoader(encodings, batch_size=settings.batch_size, shuffle=True,
                                             collate_fn=DataCollatorWithPadding(tokenizer))
        result = fit(student, loader, task_loss, epochs=settings.epochs, max_steps=settings.max_steps, lr=settings.lr,
                     seed=settings.seed, grad_accum=settings.grad_accum, mixed_precision=settings.mixed_precision,
                     checkpoint_dir=ckpt if settings.checkpoint_every else None,
                     checkpoint_every=settings.checkpoint_every, resume=settings.resume, progress=progress, label=label,
                     eval_fn=dev_accuracy,
                     evals_per_epoch=hp.evals_per_epoch, patience=hp.patience)
        student = student.cpu().eval()
        return student, result, clf.predict(student, tokenizer, scored.inputs, settings.batch_size, settings.max_length)

    ckpt = Path(settings.checkpoint_dir) if settings.checkpoint_dir else out.with_name(out.name + ".checkpoints")
    student, result, student_pred = train_student(TaskLoss(teacher_model, settings.temperature, layers=kept, **weights),
                                                  f"distill {ref.name} -> {len(kept)} layers", ckpt / "distilled")
    provenance = {"teacher": str(teacher_ref.location), "mode": "task", "layers": kept, "loss": weights,
                  "temperature": settings.temperature, "data": train.source, "steps": result.steps, "seed": settings.seed}
    save_model(student, tokenizer, out, provenance)

    # GLUE's metric for the task: Pearson correlation for a regression head (STS-B), accuracy for classes.
    metric, truth, guess = ("pearson", "target", "prediction") if scored.is_regression else ("accuracy", "y_true", "y_pred")
    y_true = np.asarray(scored.labels)
    scores = {truth: y_true, guess: np.asarray(student_pred)}
    base = {truth: y_true, guess: np.asarray(teacher_pred)}
    bench_inputs = dict(tokenizer(" ".join(scored.texts[:64]), truncation=True, max_length=settings.max_length,
                                  return_tensors="pt"))
    timing, noise = paired_speedup(teacher_model, student, bench_inputs, settings.bench_budget_s)
    quality = {"quality": compute(metric, scores, settings.seed), "teacher_quality": compute(metric, base, settings.seed),
               "retained": retained_metric(metric, scores, base, settings.seed)}
    metrics = {**size_metrics(teacher_model, student), **timing, **quality, **_fit_metrics(result)}
    cell = {"mode": "task", "data": train.source, "test": scored.source, "train_limit": settings.train_limit,
            "test_limit": settings.test_limit, "test_fraction": settings.test_fraction,
            "data_sha256": source_sha256(data, settings.test),
            "layer_map": spec if isinstance(spec, str) else ",".join(map(str, spec)),
            "layers": kept, "max_length": settings.max_length, "batch_size": settings.batch_size, "epochs": settings.epochs,
            "max_steps": settings.max_steps,
            "lr": settings.lr, "loss": weights_text(weights), "temperature": settings.temperature, "seed": settings.seed,
            "mixed_precision": settings.mixed_precision}
    details = {"student_dir": str(out), "teacher_dir": str(teacher_ref.location),
               "quality_name": metric + (" (%)" if metric == "accuracy" else ""),
               "model_revision": weights_revision(ref),
               "teacher": teacher_info, "n_train": len(fit_part), "n_dev": len(dev), "n_test": len(scored),
               "train_sha256": train.sha256, "test_sha256": scored.sha256, "best_dev_accuracy": result.best_metric,
               **rows.details(), "dev_rows": dev.describe(listed=True), "fit_rows": fit_part.describe(),
               "resumed_from_step": result.resumed_from_step, "timing": noise,
               "bench_shape": list(bench_inputs["input_ids"].shape), "teacher_layers": config.num_hidden_layers,
               "student_layers": len(kept),
               "scores": {truth: y_true.tolist(), guess: scores[guess].tolist(), f"teacher_{guess}": base[guess].tolist()}}
    records = []
    if settings.ablation:
        hard, hard_result, hard_pred = train_student(TaskLoss(None, kl=0.0, ce=1.0), f"ablation: {len(kept)} layers, hard labels",
                                                     ckpt / "hard-labels")
        hard_scores = {truth: y_true, guess: np.asarray(hard_pred)}
        metrics["ablation_quality"] = compute(metric, hard_scores, settings.seed)
        metrics["distill_gain"] = paired_difference(metric, scores, hard_scores, settings.seed)
        hard_metrics = {**size_metrics(teacher_model, hard), "speedup": timing["speedup"], "latency_p50": timing["latency_p50"],
                        "teacher_latency_p50": timing["teacher_latency_p50"], "quality": metrics["ablation_quality"],
                        "teacher_quality": quality["teacher_quality"],
                        "retained": retained_metric(metric, hard_scores, base, settings.seed),
                        **_fit_metrics(hard_result)}
        hard_details = {**{k: v for k, v in details.items() if k != "scores"}, "student_dir": None,
                        "best_dev_accuracy": hard_result.best_metric, "resumed_from_step": hard_result.resumed_from_step,
                        "scores": {truth: y_true.tolist(), guess: hard_scores[guess].tolist()},
                        "note": "same student, same data and schedule, trained on hard labels only (no teacher)"}
        records.append(_record(ref.name, {**cell, "loss": "ce=1", "method": "hard-labels"}, hard_metrics, hard_details))
        # A study keeps one record per cell: the distilled one carries the ablation's predictions too, so paired
        # comparisons with the hard-label student (in any metric) need only it.
        details["scores"][f"hard_{guess}"] = hard_scores[guess].tolist()
    _clear(ckpt)
    records.insert(0, _record(ref.name, {**cell, "method": "distilled"}, metrics, details))
    return DistillResult(records, out)
