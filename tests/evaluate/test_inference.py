"""Length-bucketed, dynamically padded inference gives the same answers as one example at a time."""
from __future__ import annotations

import numpy as np
import torch

from tradeoff.evaluate import inference
from tradeoff.evaluate.decoder import perplexity_windows
from tradeoff.models.load import load_pretrained, load_tokenizer


def test_buckets_cover_every_index_once_longest_first():
    lengths = [3, 9, 1, 7, 7, 2]
    batches = list(inference.length_buckets(lengths, 4))
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert batches[0] == [1, 3, 4, 0]


def test_batched_logits_equal_one_by_one(tiny_bert, sentiment_rows):
    torch.manual_seed(0)
    model = load_pretrained(str(tiny_bert), task="sequence-classification", num_labels=2)
    tok = load_tokenizer(str(tiny_bert))
    texts = [r["text"] for r in sentiment_rows(20)] + ["good", "the movie was very very good film"]
    batched = inference.logits(model, tok, texts, batch_size=8)
    single = np.concatenate([inference.logits(model, tok, [t], batch_size=1) for t in texts])
    assert np.allclose(batched, single, atol=1e-5)


def test_mean_pooling_ignores_padding(tiny_bert):
    model, tok = load_pretrained(str(tiny_bert)), load_tokenizer(str(tiny_bert))
    alone = inference.embeddings(model, tok, ["good film"])
    with_long = inference.embeddings(model, tok, ["good film", "the movie was very good a film"])
    assert np.allclose(alone[0], with_long[0], atol=1e-5)


def test_sliding_window_scores_every_token_once_and_matches_full_context(tiny_llama):
    model, tok = load_pretrained(str(tiny_llama), task="causal-lm"), load_tokenizer(str(tiny_llama))
    text = " ".join(["the movie was good", "a film is bad", "john went to paris"] * 6)
    n = len(tok(text, add_special_tokens=False)["input_ids"])
    full, info = perplexity_windows(model, tok, text, window=128, stride=128)
    assert info["windows"] == 1 and sum(full["tokens"]) == n - 1
    ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        loss = model(input_ids=ids, labels=ids).loss
    assert np.exp(sum(full["nll"]) / sum(full["tokens"])) == __import__("pytest").approx(float(torch.exp(loss)), rel=1e-4)
    windowed, info = perplexity_windows(model, tok, text, window=16, stride=8)
    assert sum(windowed["tokens"]) == n - 1 and info["windows"] > 1


def test_short_texts_share_a_batch_up_to_the_first_batchs_padded_size():
    lengths = [40, 40, 10, 10, 10, 10, 10, 10, 10, 10, 5]
    batches = list(inference.length_buckets(lengths, 2))
    assert batches[0] == [0, 1]  # 2 x 40 = 80 tokens: the budget
    assert batches[1] == [2, 3, 4, 5, 6, 7, 8, 9]  # 8 x 10 = 80
    assert all(len(b) * max(lengths[i] for i in b) <= 80 for b in batches)
    assert list(inference.length_buckets([], 4)) == []


def test_first_token_shortcut_gives_the_full_models_logits(tiny_bert):
    torch.manual_seed(0)
    model = load_pretrained(str(tiny_bert), task="sequence-classification", num_labels=3).eval()
    tok = load_tokenizer(str(tiny_bert))
    assert inference._reads_first_token_only(model)
    batch = inference.pad_batch(tok, inference.encode(tok, ["good film", "the movie was very very bad", "a"]))
    with torch.inference_mode():
        full = model(**batch).logits
        short = inference.classify_logits(model, batch)
        again = model(**batch).logits  # the shortcut is undone afterwards
    assert torch.allclose(full, short, atol=1e-5) and torch.equal(full, again)


def _reference_scores(model, tok, prompt: str, words: list[str]) -> list[float]:
    """log P(word | prompt) from one unpadded sequence per (prompt, word): the definition."""
    out = []
    for w in words:
        p_ids, w_ids = tok(prompt)["input_ids"], tok(w, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p_ids + w_ids])
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
        out.append(sum(float(logprobs[len(p_ids) - 1 + j, t]) for j, t in enumerate(w_ids)))
    return out


def test_label_scores_left_padded_last_columns_equal_unpadded_scoring(tiny_llama):
    from tradeoff.evaluate.decoder import label_scores

    model, tok = load_pretrained(str(tiny_llama), task="causal-lm"), load_tokenizer(str(tiny_llama))
    prompts = ["the movie was good . sentiment :", "bad", "john went to paris and the film was very very bad . review :"]
    for words in ([" positive", " negative"], [" very good", " bad"]):  # single- and multi-token verbalisers
        batched = label_scores(model, tok, prompts, words, batch_size=8)
        expected = np.array([_reference_scores(model, tok, p, words) for p in prompts])
        assert np.allclose(batched, expected, atol=1e-4), (words, batched, expected)
