"""The one training loop: fine-tuning for eval and distillation for distill both run through `fit`.

It knows nothing about models or tasks: the caller supplies batches and a loss function. It adds
what every run needs: AdamW with linear warm-up and decay, gradient accumulation and clipping,
accelerate for device placement and mixed precision, seeded and resumable checkpoints (model,
optimizer, scheduler, RNG, step), and early stopping on a caller-supplied dev metric.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch

from tradeoff.atomic import write_folder
from tradeoff.errors import BadInput

STATE_FILE = "trainer_state.json"
BEST_FILE = "best_model.safetensors"


@dataclass
class FitResult:
    steps: int  # optimizer steps taken in total (including those before a resume)
    epochs_done: float
    tokens: int  # non-pad input tokens seen
    seconds: float  # wall time of this call
    tokens_per_s: float
    losses: list[float] = field(default_factory=list)  # mean loss per optimizer step
    best_metric: float | None = None
    resumed_from_step: int | None = None


def _tokens_in(batch: dict) -> int:
    mask = batch.get("attention_mask")
    if mask is not None:
        return int(mask.sum())
    ids = batch.get("input_ids")
    return int(ids.numel()) if ids is not None else 0


def _param_groups(model, weight_decay: float):
    """No decay on biases and norm weights, as in BERT's recipe."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _latest_checkpoint(checkpoint_dir: Path | None) -> Path | None:
    if checkpoint_dir is None or not checkpoint_dir.is_dir():
        return None
    done = [p for p in checkpoint_dir.glob("step-*") if (p / STATE_FILE).is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1])) if done else None


def _new_accelerator(mixed_precision: str):
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    if mixed_precision not in ("no", "fp16", "bf16"):
        raise BadInput(f"unknown mixed precision {mixed_precision!r}", "use no, fp16 or bf16")
    AcceleratorState._reset_state(reset_partial_state=True)  # each fit may pick its own precision
    return Accelerator(mixed_precision=mixed_precision, cpu=not torch.cuda.is_available())


def fit(model, batches: Iterable[dict], loss_fn: Callable[[torch.nn.Module, dict], torch.Tensor], *,
        epochs: int = 1, max_steps: int | None = None, lr: float = 5e-5, weight_decay: float = 0.01,
        warmup_ratio: float = 0.06, grad_accum: int = 1, seed: int = 0, mixed_precision: str = "no",
        checkpoint_dir: str | Path | None = None, checkpoint_every: int = 0, resume: bool = True,
        eval_fn: Callable[[torch.nn.Module], float] | None = None, eval_every: int = 0, evals_per_epoch: int = 0,
        patience: int | None = None, progress: bool = True, label: str = "train",
        max_grad_norm: float | None = 1.0) -> FitResult:
    """Train `model` in place; returns what happened. With eval_fn, the best weights are kept.

    Each epoch starts from `seed + epoch`, so a shuffling DataLoader draws the same order on a resumed
    run; the checkpoint's RNG state then takes over, making a resumed run match an uninterrupted one.
    Dev checks (eval_fn) are counted in optimizer steps, never micro-batches: every `eval_every` steps, or
    `evals_per_epoch` times an epoch (at even fractions, the last at the epoch's end; once when both are 0),
    and once more at the end of training when the last step was not checked, so restoring the best weights
    never throws away the steps after the last scheduled check. `patience` checks without improvement stop
    training, once at least one epoch is done.
    """
    from accelerate.utils import set_seed
    from safetensors.torch import load_file, save_file
    from transformers import get_linear_schedule_with_warmup

    if grad_accum < 1 or epochs < 1 or (max_steps is not None and max_steps < 1):
        raise BadInput("epochs, grad_accum and max_steps must be at least 1", "pass positive values")
    if eval_fn is None and (patience is not None or eval_every or evals_per_epoch):
        raise BadInput("early stopping needs an eval_fn", "pass eval_fn, or drop patience/eval_every/evals_per_epoch")
    if eval_every < 0 or evals_per_epoch < 0 or (eval_every and evals_per_epoch):
        raise BadInput("dev checks are scheduled by eval_every or evals_per_epoch, not both", "pass one non-negative value")
    try:
        micro_per_epoch = len(batches)  # type: ignore[arg-type]
    except TypeError:
        micro_per_epoch = None
    if micro_per_epoch == 0:
        raise BadInput("no training batches", "give fit() a non-empty data set")
    if micro_per_epoch is None and max_steps is None:
        raise BadInput("batches has no length", "pass max_steps, or batches with a length (a DataLoader)")
    steps_per_epoch = math.ceil(micro_per_epoch / grad_accum) if micro_per_epoch else max_steps
    total = min(max_steps or steps_per_epoch * epochs, steps_per_epoch * epochs)
    check_in_epoch = {math.ceil(j * steps_per_epoch / (evals_per_epoch or 1)) for j in range(1, (evals_per_epoch or 1) + 1)}

    def check_due(at: int) -> bool:
        return at % eval_every == 0 if eval_every else (at - 1) % steps_per_epoch + 1 in check_in_epoch

    set_seed(seed)
    accelerator = _new_accelerator(mixed_precision)
    optimizer = torch.optim.AdamW(_param_groups(model, weight_decay), lr=lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total), total)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    device = accelerator.device
    ckpt_root = Path(checkpoint_dir) if checkpoint_dir else None

    step, tokens, losses = 0, 0, []
    best_metric, best_state, bad_evals, checked_at = None, None, 0, None
    resumed_from = None
    latest = _latest_checkpoint(ckpt_root) if resume else None
    if latest is not None:
        state = json.loads((latest / STATE_FILE).read_text())
        step, tokens, losses = state["step"], state["tokens"], state["losses"]
        best_metric, bad_evals, checked_at = state["best_metric"], state["bad_evals"], state.get("checked_at")
        if (latest / BEST_FILE).is_file():
            best_state = load_file(str(latest / BEST_FILE))
        resumed_from = step

    def save_checkpoint():
        final = ckpt_root / f"step-{step}"
        with write_folder(final) as tmp:  # a crash mid-save leaves the previous checkpoint to resume from
            accelerator.save_state(str(tmp))
            if best_state is not None:
                save_file(best_state, str(tmp / BEST_FILE))
            (tmp / STATE_FILE).write_text(json.dumps({"step": step, "tokens": tokens, "losses": losses,
                                                      "best_metric": best_metric, "bad_evals": bad_evals,
                                                      "checked_at": checked_at}))
        for old in ckpt_root.glob("step-*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)

    def evaluate() -> bool:
        """Run eval_fn; True when patience is exhausted."""
        nonlocal best_metric, best_state, bad_evals, checked_at
        value = float(eval_fn(accelerator.unwrap_model(model)))
        checked_at = step
        model.train()
        if best_metric is None or value > best_metric:
            best_metric, bad_evals = value, 0
            best_state = {k: v.detach().to("cpu", copy=True).contiguous()
                          for k, v in accelerator.unwrap_model(model).state_dict().items()}
        else:
            bad_evals += 1
        # Never before one full epoch: a dev metric often sits at the majority-class rate for the first
        # steps (MiniLM on 900 fine-food reviews stopped at step 42 of 87, still predicting one class).
        return patience is not None and bad_evals >= patience and step >= steps_per_epoch

    def after_step() -> bool:
        """Progress, the dev check and the checkpoint due at this optimizer step; True when training should stop."""
        bar.advance(losses[-1], (tokens - tokens_before) / max(time.perf_counter() - started, 1e-9))
        stop_now = eval_fn is not None and check_due(step) and evaluate()
        if ckpt_root is not None and checkpoint_every and step % checkpoint_every == 0:
            save_checkpoint()
        return stop_now or step >= total

    bar = _progress(progress, label, total)
    tokens_before = tokens
    started = time.perf_counter()
    stop = step >= total
    model.train()
    epoch = step // steps_per_epoch
    while not stop and epoch < epochs:
        done_in_epoch = step - epoch * steps_per_epoch
        if latest is not None and not done_in_epoch:  # resuming at an epoch boundary
            accelerator.load_state(str(latest))
            latest = None
        set_seed(seed + epoch)
        micro = iter(batches)
        # Replay the batches done before the checkpoint: samplers draw the epoch's order lazily and collators
        # may draw (MLM masks), so only after the replay does the restored RNG match an uninterrupted run's.
        for _ in range(done_in_epoch * grad_accum):
            next(micro, None)
        if latest is not None:  # mid-epoch resume: restore model/optimizer/scheduler/RNG after the replay
            accelerator.load_state(str(latest))
            latest = None
        pending, running = 0, 0.0
        for batch in micro:
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            with accelerator.autocast():
                loss = loss_fn(model, batch)
            accelerator.backward(loss / grad_accum)
            running += float(loss.detach())
            tokens += _tokens_in(batch)
            pending += 1
            if pending < grad_accum:
                continue
            _optimizer_step(accelerator, model, optimizer, scheduler, max_grad_norm)
            step += 1
            losses.append(running / pending)
            pending, running = 0, 0.0
            if after_step():
                stop = True
                break
        if pending and not stop:  # the epoch's last, shorter accumulation group
            _optimizer_step(accelerator, model, optimizer, scheduler, max_grad_norm)
            step += 1
            losses.append(running / pending)
            stop = after_step()
        epoch += 1
    bar.close()
    if latest is not None:  # resumed a run that had already finished: its weights are the checkpoint's
        accelerator.load_state(str(latest))
    if eval_fn is not None and checked_at != step:  # the steps after the last scheduled check count too
        evaluate()
    seconds = time.perf_counter() - started
    unwrapped = accelerator.unwrap_model(model)
    if best_state is not None:
        unwrapped.load_state_dict(best_state)
    unwrapped.eval()
    return FitResult(steps=step, epochs_done=round(step / steps_per_epoch, 3), tokens=tokens, seconds=seconds,
                     tokens_per_s=(tokens - tokens_before) / seconds if seconds > 0 else 0.0, losses=losses,
                     best_metric=best_metric, resumed_from_step=resumed_from)


def _optimizer_step(accelerator, model, optimizer, scheduler, max_grad_norm) -> None:
    """One optimizer step; a non-finite gradient (an fp16 overflow) skips the update but not the schedule."""
    norm = accelerator.clip_grad_norm_(model.parameters(), max_grad_norm) if max_grad_norm else None
    if norm is None or torch.isfinite(torch.as_tensor(norm)):
        optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


class _progress:
    """A rich progress bar on stderr (or nothing), showing the running loss and tokens/s."""

    def __init__(self, enabled: bool, label: str, total: int):
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from tradeoff.render import STDERR

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[tps]:,.0f} tokens/s"),
                                TimeRemainingColumn(),
                                console=STDERR, transient=True)
            self.task = self.bar.add_task(label, total=total, loss=float("nan"), tps=0.0)
            self.bar.start()

    def advance(self, loss: float, tokens_per_s: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, loss=loss, tps=tokens_per_s)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
