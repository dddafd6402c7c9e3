"""Decoders in the same table as encoders: classification by label log-likelihood (zero-shot or k-shot,
with optional contextual calibration), and perplexity on a text corpus with a sliding window.
"""
from __future__ import annotations

import inspect
import random

import numpy as np
import torch

from tradeoff.errors import BadInput
from tradeoff.evaluate.data import Classification
from tradeoff.evaluate.inference import length_buckets

# A sentiment prompt: SmolLM2-135M scored 82.5% with it on 200 SST-2 validation examples, where
# "{text}\nQuestion: is this text {choices}?\nAnswer:" scored 46% (always "negative"). Other tasks
# should pass their own --template.
DEFAULT_TEMPLATE = "Text: {text}\nSentiment:"
CONTENT_FREE = "N/A"


def _verbalisers(label_names: list[str], verbalisers: list[str] | None) -> list[str]:
    words = verbalisers or label_names
    if len(words) != len(label_names):
        raise BadInput(f"{len(words)} verbalisers for {len(label_names)} labels", "give one word per label, in label order")
    if any(w.strip().isdigit() for w in words):
        raise BadInput(f"label names {label_names} are numbers, which a language model cannot read as classes",
                       "pass words, e.g. --label-names negative,positive (or --verbalisers)")
    return [" " + w.strip() for w in words]


def _prompt(template: str, text: str, words: list[str]) -> str:
    choices = " or ".join(w.strip() for w in words)
    return template.format(text=text.strip(), choices=choices)


def label_scores(model, tokenizer, prompts: list[str], words: list[str], batch_size: int = 16,
                 max_length: int = 512) -> np.ndarray:
    """log P(verbaliser | prompt) for every prompt and label: shape (n, labels).

    Single-token verbalisers need one forward pass per prompt (the next-token distribution); longer ones
    score each prompt+verbaliser sequence. Batches are padded on the left (positions counted from each
    row's first real token), so every row ends at the same column and the vocabulary projection runs
    for the last few columns only, not for every token of a long review.
    """
    verb_ids = [tokenizer(w, add_special_tokens=False)["input_ids"] for w in words]
    prompt_ids = [tokenizer(p)["input_ids"] for p in prompts]
    longest = max(len(v) for v in verb_ids)
    prompt_ids = [ids[-(max_length - longest):] for ids in prompt_ids]  # keep the question at the end
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    single = all(len(v) == 1 for v in verb_ids)
    seqs = prompt_ids if single else [p + v for p in prompt_ids for v in verb_ids]
    keep = 1 if single else longest + 1  # columns whose next-token distributions are read
    only_kept = {"logits_to_keep": keep} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    out = np.zeros((len(prompts), len(words)))
    model.eval()
    with torch.inference_mode():
        for idx in length_buckets([len(s) for s in seqs], batch_size):
            width = max(len(seqs[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, width - len(seqs[i]):] = torch.tensor(seqs[i])
                mask[row, width - len(seqs[i]):] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                           **only_kept).logits
            logprobs = torch.log_softmax(logits[:, -keep:].float(), -1)
            for row, i in enumerate(idx):
                if single:
                    out[i] = [float(logprobs[row, -1, v[0]]) for v in verb_ids]
                else:  # column -1 predicts nothing we read; -1-len(v)+j predicts the verbaliser's token j
                    example, label = divmod(i, len(words))
                    v = verb_ids[label]
                    out[example, label] = float(sum(logprobs[row, -1 - len(v) + j, t] for j, t in enumerate(v)))
    return out


def classify(model, tokenizer, data: Classification, *, train: Classification | None = None, k: int = 0,
             seed: int = 0, template: str = DEFAULT_TEMPLATE, verbalisers: list[str] | None = None,
             calibrate: bool = False, batch_size: int = 16, max_length: int = 512):
    """Predicted labels and details for zero-shot (k=0) or k-shot classification by label likelihood."""
    words = _verbalisers(data.label_names, verbalisers)
    if "{text}" not in template:
        raise BadInput("the prompt template has no {text} slot", "e.g. --template '{text}\\nSentiment:'")
    context = ""
    shots: list[int] = []
    if k:
        if train is None:
            raise BadInput("k-shot needs training examples to draw demonstrations from", "pass --train PATH")
        shots = random.Random(seed).sample(range(len(train)), min(k, len(train)))
        context = "".join(_prompt(template, train.texts[i], words) + words[train.labels[i]] + "\n\n" for i in shots)
    prompts = [context + _prompt(template, t, words) for t in data.texts]
    scores = label_scores(model, tokenizer, prompts, words, batch_size, max_length)
    details = {"template": template, "verbalisers": [w.strip() for w in words], "k": k, "calibrated": calibrate,
               "demonstrations": shots}
    if calibrate:  # Zhao et al. 2021: divide out the label prior the prompt alone induces
        cf = label_scores(model, tokenizer, [context + _prompt(template, CONTENT_FREE, words)], words, 1, max_length)[0]
        prior = cf - np.logaddexp.reduce(cf)
        scores = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True) - prior
        details["content_free_prior"] = np.exp(prior).round(4).tolist()
    return scores.argmax(1), details


def perplexity_windows(model, tokenizer, text: str, *, window: int = 1024, stride: int = 512,
                       max_tokens: int | None = None) -> tuple[dict, dict]:
    """Per-window summed negative log-likelihood and token counts for a sliding-window perplexity.

    Every token but the first (which has no context) is scored exactly once. The first window scores its
    tokens 2..window; each later one scores the next min(stride, window - 1) tokens and reads the
    `window` tokens ending with them, so a scored token always has at least window - stride tokens of
    left context, and at least one (the previous window's last) when stride == window.
    """
    if window < 2:
        raise BadInput(f"window {window} is too short: a token needs one token of context", "e.g. --window 1024")
    if stride < 1 or stride > window:
        raise BadInput(f"stride {stride} must be between 1 and the window {window}", "e.g. --window 1024 --stride 512")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if max_tokens:
        ids = ids[:max_tokens]
    if len(ids) < 2:
        raise BadInput("the text has fewer than two tokens", "perplexity needs more text")
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and window > limit:
        raise BadInput(f"window {window} exceeds the model's context of {limit}", f"use --window {limit} or less")
    ids_t = torch.tensor(ids)
    device = next(model.parameters()).device
    nll, counts = [], []
    scored_to = 1  # tokens [1, scored_to) are scored
    model.eval()
    with torch.inference_mode():
        while scored_to < len(ids):
            end = min(len(ids), window if scored_to == 1 else scored_to + min(stride, window - 1))
            chunk = ids_t[max(0, end - window):end].unsqueeze(0).to(device)
            logits = model(input_ids=chunk).logits[0, :-1].float()
            token_nll = torch.nn.functional.cross_entropy(logits, chunk[0, 1:], reduction="none")
            new = end - scored_to
            nll.append(float(token_nll[-new:].sum()))
            counts.append(new)
            scored_to = end
    return {"nll": nll, "tokens": counts}, {"n_tokens": len(ids), "n_tokens_scored": sum(counts), "window": window,
                                            "stride": stride, "windows": len(counts), "max_tokens": max_tokens}
