"""Distillation losses, each usable on its own and combined into `loss_fn(model, batch)` objects
that plug into the one training loop (tradeoff.train.fit).

Task-agnostic (DistilBERT's triple loss): soft-target KL at temperature T scaled by T^2, the
student's own MLM (encoders) or CLM (decoders) loss, and a cosine loss aligning the last hidden
states. Task-specific: soft-target KL on the task logits + hard-label cross-entropy (+ optional
MSE between the student's layers and the teacher layers they were copied from).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from tradeoff.errors import BadInput


def soft_target_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
    """KL(teacher || student) on temperature-softened distributions, times T^2 (Hinton et al. 2015)
    so its gradients keep their size as T changes; averaged over the rows `mask` selects."""
    vocab = student_logits.size(-1)
    s = student_logits.reshape(-1, vocab)
    t = teacher_logits.reshape(-1, vocab)
    if mask is not None:
        keep = mask.reshape(-1).bool()
        s, t = s[keep], t[keep]
    log_p_student = F.log_softmax(s / temperature, dim=-1)
    log_p_teacher = F.log_softmax(t / temperature, dim=-1)
    return F.kl_div(log_p_student, log_p_teacher, log_target=True, reduction="batchmean") * temperature**2


def hidden_cosine(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean (1 - cosine similarity) between hidden vectors at the positions `mask` selects."""
    dim = student_hidden.size(-1)
    s = student_hidden.reshape(-1, dim)
    t = teacher_hidden.reshape(-1, dim)
    if mask is not None:
        keep = mask.reshape(-1).bool()
        s, t = s[keep], t[keep]
    return (1 - F.cosine_similarity(s, t, dim=-1)).mean()


def hidden_mse(student_states: Sequence[torch.Tensor], teacher_states: Sequence[torch.Tensor],
               layers: Sequence[int], mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error between each student layer's output and the teacher layer it was copied
    from (hidden_states[0] is the embeddings, so student layer j is state j+1)."""
    losses = []
    for j, i in enumerate(layers):
        s, t = student_states[j + 1], teacher_states[i + 1]
        if mask is not None:
            s, t = s[mask.bool()], t[mask.bool()]
        losses.append(F.mse_loss(s, t))
    return torch.stack(losses).mean()


def teacher_forward(teacher: torch.nn.Module, batch: dict, output_hidden_states: bool):
    """The frozen teacher on the student's batch: on the batch's device, without labels, and
    without inputs its forward does not take (a BERT teacher's token_type_ids for a DistilBERT
    student are fine, the reverse is dropped)."""
    accepted = inspect.signature(teacher.forward).parameters
    inputs = {k: v for k, v in batch.items() if k != "labels" and k in accepted}
    device = next(iter(inputs.values())).device
    with torch.no_grad():
        return teacher.to(device)(**inputs, output_hidden_states=output_hidden_states)


@dataclass
class TripleLoss:
    """DistilBERT's task-agnostic loss: kl * KL(T) + lm * MLM/CLM + cos * cosine(hidden).

    Defaults are the DistilBERT recipe (5.0, 2.0, 1.0, T=2). A zero weight skips its term; with
    kl and cos both zero the teacher is never run. Batches carry `labels` (-100 = not scored),
    as DataCollatorForLanguageModeling makes them; KL and cosine use every non-pad token.
    """

    teacher: torch.nn.Module
    temperature: float = 2.0
    kl: float = 5.0  # DistilBERT's alpha_ce: the soft-target term
    lm: float = 2.0
    cos: float = 1.0

    def __post_init__(self):
        if min(self.kl, self.lm, self.cos) < 0 or self.kl + self.lm + self.cos == 0:
            raise BadInput("distillation loss weights must be non-negative and not all zero", "e.g. kl=5,lm=2,cos=1")

    def __call__(self, model, batch) -> torch.Tensor:
        need_hidden = self.cos > 0
        inputs = batch if self.lm > 0 else {k: v for k, v in batch.items() if k != "labels"}
        out = model(**inputs, output_hidden_states=need_hidden)
        terms = [self.lm * out.loss] if self.lm > 0 else []
        if self.kl > 0 or self.cos > 0:
            ref = teacher_forward(self.teacher, batch, need_hidden)
            mask = batch.get("attention_mask")
            if self.kl > 0:
                terms.append(self.kl * soft_target_kl(out.logits, ref.logits, self.temperature, mask))
            if self.cos > 0:
                terms.append(self.cos * hidden_cosine(out.hidden_states[-1], ref.hidden_states[-1], mask))
        return sum(terms[1:], terms[0])


@dataclass
class TaskLoss:
    """Task-specific distillation: kl * KL(T) on the task logits + ce * hard-label cross-entropy
    (+ mse * intermediate-layer MSE against the teacher layers in `layers`).

    With kl = mse = 0 it is plain fine-tuning on hard labels (the ablation), and the teacher is
    not needed. Batches carry `labels` (class ids). A one-output regression head (STS-B) has no
    distribution to soften: its "kl" term is the squared error to the teacher's score and its "ce"
    term the squared error to the true score.
    """

    teacher: torch.nn.Module | None = None
    temperature: float = 2.0
    kl: float = 0.5
    ce: float = 0.5
    mse: float = 0.0
    layers: Sequence[int] = ()

    def __post_init__(self):
        if min(self.kl, self.ce, self.mse) < 0 or self.kl + self.ce + self.mse == 0:
            raise BadInput("task loss weights must be non-negative and not all zero", "e.g. kl 0.5, ce 0.5")

    def __call__(self, model, batch) -> torch.Tensor:
        need_hidden = self.mse > 0
        labels = batch["labels"]
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        out = model(**inputs, output_hidden_states=need_hidden)
        regression = out.logits.shape[-1] == 1
        hard = F.mse_loss(out.logits[:, 0], labels.float()) if regression else F.cross_entropy(out.logits, labels)
        terms = [self.ce * hard] if self.ce > 0 else []
        if self.kl > 0 or self.mse > 0:
            ref = teacher_forward(self.teacher, batch, need_hidden)
            if self.kl > 0:
                soft = (F.mse_loss(out.logits, ref.logits.to(out.logits.dtype)) if regression
                        else soft_target_kl(out.logits, ref.logits, self.temperature))
                terms.append(self.kl * soft)
            if self.mse > 0:
                terms.append(self.mse * hidden_mse(out.hidden_states, ref.hidden_states, self.layers,
                                                   inputs.get("attention_mask")))
        return sum(terms[1:], terms[0])
