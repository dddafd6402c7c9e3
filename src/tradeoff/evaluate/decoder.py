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
# Sentence pairs (GLUE RTE, MRPC) need their own question; this neutral default names both texts.
DEFAULT_PAIR_TEMPLATE = "Sentence 1: {text}\nSentence 2: {text_pair}\nAnswer:"
CONTENT_FREE = "N/A"
# The longest prompt read by default, whatever the model's context: the batches of label_scores hold
# batch_size prompts of the longest length, and on CPU attention can take batch x heads x length^2 floats.
MAX_PROMPT_TOKENS = 4096


def _verbalisers(label_names: list[str], verbalisers: list[str] | None) -> list[str]:
    words = verbalisers or label_names
    if len(words) != len(label_names):
        raise BadInput(f"{len(words)} verbalisers for {len(label_names)} labels", "give one word per label, in label order")
    if any(w.strip().isdigit() for w in words):
        raise BadInput(f"label names {label_names} are numbers, which a language model cannot read as classes",
                       "pass words, e.g. --label-names negative,positive (or --verbalisers)")
    return [" " + w.strip() for w in words]


def _prompt(template: str, text: str, words: list[str], pair: str | None = None) -> str:
    choices = " or ".join(w.strip() for w in words)
    return template.format(text=text.strip(), text_pair=(pair or "").strip(), choices=choices)


def prompt_budget(model, max_length: int | None = None) -> int:
    """Tokens a prompt and its verbaliser may take: `max_length`, else the model's context (capped at
    MAX_PROMPT_TOKENS); a length beyond what the model reads is refused."""
    context = getattr(model.config, "max_position_embeddings", None)
    if max_length is None:
        return min(context or MAX_PROMPT_TOKENS, MAX_PROMPT_TOKENS)
    if context and max_length > context:
        raise BadInput(f"max_length {max_length} exceeds the model's context of {context}", f"use {context} or less")
    return max_length


def _encode(tokenizer, prompts: list[str], words: list[str], max_length: int):
    """(prompt ids, verbaliser ids, tokens each prompt lost): prompts longer than max_length minus the longest
    verbaliser lose tokens from the start (the first demonstrations), keeping a leading BOS and the question."""
    verb_ids = [tokenizer(w, add_special_tokens=False)["input_ids"] for w in words]
    keep = max_length - max(len(v) for v in verb_ids)
    if keep < 2:
        raise BadInput(f"max_length {max_length} leaves no room for a prompt before the verbalisers",
                       "raise max_length or use shorter verbalisers")
    prompt_ids, lost = [], []
    for prompt in prompts:
        ids = tokenizer(prompt)["input_ids"]
        lost.append(max(0, len(ids) - keep))
        if lost[-1]:
            head = ids[:1] if tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id else []
            ids = head + ids[len(ids) - keep + len(head):]
        prompt_ids.append(ids)
    return prompt_ids, verb_ids, lost


def label_scores(model, tokenizer, prompts: list[str], words: list[str], batch_size: int = 16,
                 max_length: int | None = None) -> np.ndarray:
    """log P(verbaliser | prompt) for every prompt and label: shape (n, labels).

    Prompts are read up to `max_length` tokens with the verbaliser (default: the model's context, see
    prompt_budget); longer ones lose their first tokens.
    """
    prompt_ids, verb_ids, _ = _encode(tokenizer, prompts, words, prompt_budget(model, max_length))
    return _score(model, tokenizer, prompt_ids, verb_ids, batch_size)


def _score(model, tokenizer, prompt_ids: list[list[int]], verb_ids: list[list[int]], batch_size: int) -> np.ndarray:
    """label_scores on token ids.

    Single-token verbalisers need one forward pass per prompt (the next-token distribution); longer ones
    score each prompt+verbaliser sequence. Batches are padded on the left (positions counted from each
    row's first real token), so every row ends at the same column and the vocabulary projection runs
    for the last few columns only, not for every token of a long review.
    """
    longest = max(len(v) for v in verb_ids)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    single = all(len(v) == 1 for v in verb_ids)
    seqs = prompt_ids if single else [p + v for p in prompt_ids for v in verb_ids]
    keep = 1 if single else longest + 1  # columns whose next-token distributions are read
    only_kept = {"logits_to_keep": keep} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    out = np.zeros((len(prompt_ids), len(verb_ids)))
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
                    example, label = divmod(i, len(verb_ids))
                    v = verb_ids[label]
                    out[example, label] = float(sum(logprobs[row, -1 - len(v) + j, t] for j, t in enumerate(v)))
    return out


def _fitted(a: int, b: int, limit: int) -> tuple[int, int]:
    """Token counts of a text pair cut to `limit` in all, the longer first, as an encoder's tokenizer cuts a pair."""
    excess = a + b - limit
    if excess <= 0:
        return a, b
    longer, shorter = max(a, b), min(a, b)
    kept = (longer - excess, shorter) if longer - excess >= shorter else (limit - limit // 2, limit // 2)
    return kept if a >= b else kept[::-1]


def _clipped(tokenizer, texts: list[str], pairs: list[str] | None, limit: int | None):
    """(texts, pairs, whether each row was cut): every row's text (with its pair) cut to its first `limit` tokens, so a
    decoder reads the same text an encoder given that max length reads, whatever the prompt adds around it."""
    if not limit or not texts:
        return texts, pairs, [False] * len(texts)

    def encoded(strings: list[str]) -> list[tuple[list[int], list | None]]:
        enc = tokenizer(strings, add_special_tokens=False, return_offsets_mapping=tokenizer.is_fast)
        return [(ids, enc["offset_mapping"][i] if tokenizer.is_fast else None) for i, ids in enumerate(enc["input_ids"])]

    def head(text: str, ids: list[int], offsets, n: int) -> str:
        if n == len(ids):
            return text
        if not n:
            return ""
        return text[:offsets[n - 1][1]] if offsets is not None else tokenizer.decode(ids[:n])

    firsts = encoded(texts)
    seconds = encoded(pairs) if pairs is not None else [([], None)] * len(texts)
    out_texts, out_pairs, cut = [], [], []
    for i, ((a, a_off), (b, b_off)) in enumerate(zip(firsts, seconds)):
        keep_a, keep_b = _fitted(len(a), len(b), limit)
        out_texts.append(head(texts[i], a, a_off, keep_a))
        if pairs is not None:
            out_pairs.append(head(pairs[i], b, b_off, keep_b))
        cut.append((keep_a, keep_b) != (len(a), len(b)))
    return out_texts, out_pairs if pairs is not None else None, cut


def classify(model, tokenizer, data: Classification, *, train: Classification | None = None, k: int = 0,
             seed: int = 0, template: str = DEFAULT_TEMPLATE, verbalisers: list[str] | None = None,
             calibrate: bool = False, batch_size: int = 16, max_length: int | None = None, text_tokens: int | None = None):
    """Predicted labels and details for zero-shot (k=0) or k-shot classification by label likelihood.

    Each row's text (demonstrations' too) is read up to `text_tokens` tokens (the comparison's max length, the
    same for every model), and whole prompts up to `max_length` (default: the model's context, see prompt_budget).
    The details count the rows that did not read their whole text (`truncated_rows`), and the prompts cut to fit
    (`truncated_prompts`, which lost their first demonstrations, or with `truncated_into_text` all of them and
    the start of their own text) with the tokens lost.
    """
    words = _verbalisers(data.label_names, verbalisers)
    if "{text}" not in template:
        raise BadInput("the prompt template has no {text} slot", "e.g. --template '{text}\\nSentiment:'")
    if data.pairs is not None and "{text_pair}" not in template:
        raise BadInput("the data holds text pairs but the prompt template has no {text_pair} slot",
                       "e.g. --template '{text}\\nQuestion: {text_pair} True or False?\\nAnswer:'")
    context = ""
    shots: list[int] = []
    if k:
        if train is None:
            raise BadInput("k-shot needs training examples to draw demonstrations from", "pass --train PATH")
        shots = random.Random(seed).sample(range(len(train)), min(k, len(train)))
        texts, pairs, _ = _clipped(tokenizer, [train.texts[i] for i in shots],
                                   [train.pairs[i] for i in shots] if train.pairs is not None else None, text_tokens)
        context = "".join(_prompt(template, t, words, pairs[j] if pairs is not None else None) + words[train.labels[i]] + "\n\n"
                          for j, (i, t) in enumerate(zip(shots, texts)))
    texts, pairs, cut = _clipped(tokenizer, data.texts, data.pairs, text_tokens)
    prompts = [context + _prompt(template, t, words, pairs[i] if pairs is not None else None) for i, t in enumerate(texts)]
    budget = prompt_budget(model, max_length)
    prompt_ids, verb_ids, lost = _encode(tokenizer, prompts, words, budget)
    scores = _score(model, tokenizer, prompt_ids, verb_ids, batch_size)
    context_tokens = len(tokenizer(context, add_special_tokens=False)["input_ids"]) if context else 0
    details = {"template": template, "verbalisers": [w.strip() for w in words], "k": k, "k_used": len(shots),
               "calibrated": calibrate, "demonstrations": shots, "max_length": budget, "text_tokens": text_tokens,
               "truncated_rows": sum(c or n > context_tokens for c, n in zip(cut, lost)),
               "truncated_prompts": sum(n > 0 for n in lost), "truncated_tokens": sum(lost),
               "truncated_into_text": sum(n > context_tokens for n in lost),
               "prompt_tokens": int(np.median([len(ids) for ids in prompt_ids]))}
    if calibrate:  # Zhao et al. 2021: divide out the label prior the prompt alone induces
        cf = label_scores(model, tokenizer, [context + _prompt(template, CONTENT_FREE, words, CONTENT_FREE if data.pairs is not None else None)], words, 1, budget)[0]
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
