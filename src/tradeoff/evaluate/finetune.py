"""Fine-tune a task head (and the whole encoder) through the shared `tradeoff.train.fit` loop.

The result is cached under the cache dir, keyed by model, the training examples' content, seed and every
hyper-parameter, so re-scoring a model (or using it as a distillation teacher) costs nothing the
second time. The saved folder is an ordinary checkpoint: `from_pretrained` loads it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from tradeoff.atomic import write_folder
from tradeoff.evaluate.settings import HyperParams
from tradeoff.models.load import load_pretrained, load_tokenizer
from tradeoff.models.refs import ModelRef
from tradeoff.paths import cache_dir

INFO_FILE = "tradeoff_finetune.json"


def cache_key(ref: ModelRef, weights: Path, task: str, train, seed: int, hp: HyperParams) -> str:
    """Everything that changes the trained model: model, weights (a folder's by their content, so a folder trained
    again in place gets a new head), task, the training examples' content (texts, labels, label names: so another
    column or an edited file is another model), seed and hyper-parameters."""
    ident = {"model": ref.name, "weights": ref.digest or str(weights), "task": task, "train": train.content_sha256(),
             "seed": seed, "hp": asdict(hp)}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def finetune(ref: ModelRef, task: str, labels: list[str], train: list[dict], dev_score: Callable[[object, object], float],
             *, key: str, seed: int, hp: HyperParams, progress: bool = True, use_cache: bool = True):
    """(model, tokenizer, info): train on `train` encodings (input_ids, attention_mask, labels).

    dev_score(model, tokenizer) -> higher-is-better metric on the dev split, for early stopping.
    """
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding

    from tradeoff.train import fit

    folder = cache_dir() / "finetuned" / key
    tokenizer = load_tokenizer(ref)
    if use_cache and (folder / INFO_FILE).is_file():
        model = load_pretrained(str(folder), task=task)
        return model, tokenizer, {**json.loads((folder / INFO_FILE).read_text()), "cached": True}

    torch.manual_seed(seed)  # the new head's initial weights
    # No label names: one output trained with MSE (a regression head, STS-B); else one logit per class.
    head = ({"num_labels": len(labels), "id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)}}
            if labels else {"num_labels": 1, "problem_type": "regression"})
    model = load_pretrained(ref, task=task, **head)
    collate = (DataCollatorForTokenClassification(tokenizer) if task == "token-classification"
               else DataCollatorWithPadding(tokenizer))
    loader = torch.utils.data.DataLoader(train, batch_size=hp.batch_size, shuffle=True, collate_fn=collate)
    result = fit(model, loader, lambda m, b: m(**b).loss, epochs=hp.epochs, lr=hp.lr, weight_decay=hp.weight_decay,
                 warmup_ratio=hp.warmup_ratio, seed=seed, eval_fn=lambda m: dev_score(m, tokenizer),
                 evals_per_epoch=hp.evals_per_epoch, patience=hp.patience, mixed_precision=hp.mixed_precision,
                 progress=progress, label=f"fine-tune {ref.name}")
    info = {"steps": result.steps, "epochs_done": result.epochs_done, "train_seconds": round(result.seconds, 1),
            "train_tokens_per_s": round(result.tokens_per_s, 1), "dev_metric": result.best_metric,
            "final_loss": result.losses[-1] if result.losses else None, "n_train": len(train)}
    save(model, tokenizer, folder, info)
    return model, tokenizer, {**info, "cached": False}


def save(model, tokenizer, folder: str | Path, info: dict | None = None) -> Path:
    """Write an ordinary checkpoint folder atomically: a crash never leaves a half-saved model to load later."""
    folder = Path(folder).expanduser()
    with write_folder(folder) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if info is not None:
            (tmp / INFO_FILE).write_text(json.dumps(info, indent=2))
    return folder
