"""Token classification (NER with BIO tags): fine-tune, predict per word, and count entities per sentence.

Sub-word alignment: a word's tag trains and predicts on its first sub-token only; its other sub-tokens
and the special tokens get the ignore index (-100). Words cut off by truncation are predicted "O" and
counted in the details, so a too-short max_length shows up instead of silently inflating precision.
"""
from __future__ import annotations

import numpy as np
import torch

from tradeoff.evaluate import inference
from tradeoff.evaluate.data import Tagging, train_dev_split
from tradeoff.evaluate.finetune import cache_key, finetune, save
from tradeoff.evaluate.settings import HyperParams
from tradeoff.models.load import load_tokenizer
from tradeoff.models.refs import ModelRef
from tradeoff.models.weights import require_weights

IGNORE = -100


def align(tokenizer, sentences: list[list[str]], tags: list[list[int]] | None, max_length: int) -> tuple[list[dict], list[list[int | None]]]:
    """Encodings with word-aligned labels, and for each sentence the first sub-token position of every word."""
    enc = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=max_length)
    encodings, firsts = [], []
    for i in range(len(sentences)):
        word_ids = enc.word_ids(i)
        first = [None] * len(sentences[i])
        labels = []
        for pos, w in enumerate(word_ids):
            is_first = w is not None and (pos == 0 or word_ids[pos - 1] != w)
            if is_first:
                first[w] = pos
            labels.append(tags[i][w] if is_first and tags is not None else IGNORE)
        item = {k: enc[k][i] for k in enc.keys()}
        if tags is not None:
            item["labels"] = labels
        encodings.append(item)
        firsts.append(first)
    return encodings, firsts


def predict_tags(model, tokenizer, data: Tagging, hp: HyperParams) -> tuple[list[list[str]], int]:
    """Predicted tag names per word, and how many words truncation cut off (predicted O)."""
    encodings, firsts = align(tokenizer, data.tokens, None, hp.max_length)
    # Pad per-token logits to a common width so the batches stack.
    width = max(len(e["input_ids"]) for e in encodings)

    def per_token(m, batch):
        out = m(**batch).logits.argmax(-1)
        return torch.nn.functional.pad(out, (0, width - out.shape[1]), value=0)

    ids = inference.run_batches(model, tokenizer, encodings, per_token, hp.batch_size).astype(int)
    names = data.tag_names
    truncated = 0
    predicted = []
    for row, first in zip(ids, firsts):
        truncated += sum(p is None for p in first)
        predicted.append([names[row[p]] if p is not None else "O" for p in first])
    return predicted, truncated


def entity_counts(true: list[list[str]], pred: list[list[str]]) -> dict[str, list[int]]:
    """Per-sentence true positives, false positives and false negatives at the entity level (exact span + type)."""
    from seqeval.metrics.sequence_labeling import get_entities

    tp, fp, fn = [], [], []
    for t, p in zip(true, pred):
        te, pe = set(get_entities(t)), set(get_entities(p))
        hit = len(te & pe)
        tp.append(hit)
        fp.append(len(pe) - hit)
        fn.append(len(te) - hit)
    return {"tp": tp, "fp": fp, "fn": fn}


def _f1(counts: dict) -> float:
    tp, fp, fn = (np.sum(counts[k]) for k in ("tp", "fp", "fn"))
    return float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0


def finetune_and_predict(ref: ModelRef, train: Tagging, data: Tagging, *, seed: int, hp: HyperParams,
                         progress: bool = True, save_dir=None):
    train_idx, dev_idx = train_dev_split(len(train), seed=seed)
    fit_part, dev = train.subset(train_idx), train.subset(dev_idx)
    tokenizer = load_tokenizer(ref)
    if not getattr(tokenizer, "is_fast", False):
        from tradeoff.errors import BadInput

        raise BadInput(f"{ref.name}'s tokenizer cannot map sub-words to words", "NER needs a fast (tokenizers) tokenizer")
    encodings, _ = align(tokenizer, fit_part.tokens, fit_part.tags, hp.max_length)
    dev_true = [[dev.tag_names[t] for t in seq] for seq in dev.tags]

    def dev_f1(model, tok):
        return _f1(entity_counts(dev_true, predict_tags(model, tok, dev, hp)[0]))

    key = cache_key(ref, require_weights(ref), "token-classification", fit_part, seed, hp)
    model, tokenizer, info = finetune(ref, "token-classification", train.tag_names, encodings, dev_f1,
                                      key=key, seed=seed, hp=hp, progress=progress)
    if save_dir is not None:
        save(model, tokenizer, save_dir, info)
        info = {**info, "saved_to": str(save_dir)}
    predicted, truncated = predict_tags(model, tokenizer, data, hp)
    true = [[data.tag_names[t] for t in seq] for seq in data.tags]
    return entity_counts(true, predicted), {**info, "n_dev": len(dev), "dev_rows": dev.describe(listed=True), "fit_rows": fit_part.describe(),
                                            "cache_key": key, "truncated_words": truncated}
