"""Sliding-window perplexity scores every token after the first exactly once, whatever the window and stride,
and says how many tokens it scored."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tradeoff.evaluate.decoder import perplexity_windows
from tradeoff.models.load import load_pretrained, load_tokenizer

TEXT = " ".join(["the movie was good", "a film is bad", "john went to paris"] * 6)
SHAPES = [(16, 16), (16, 8), (16, 15), (16, 1), (8, 8), (2, 2), (2, 1), (128, 128), (128, 64)]


class _TargetOnly(torch.nn.Module):
    """A fake language model whose loss on a token depends only on that token (never on its context), so the
    summed NLL says exactly which tokens were scored, and how often."""

    def __init__(self, vocab: int, context: int):
        super().__init__()
        self.config = type("Config", (), {"max_position_embeddings": context})()
        self.log_weights = torch.nn.Parameter(torch.randn(vocab, generator=torch.Generator().manual_seed(0)))

    def forward(self, input_ids):
        logits = self.log_weights.expand(*input_ids.shape, -1)
        return type("Output", (), {"logits": logits})()

    def loss_of(self, ids) -> float:
        return float(-torch.log_softmax(self.log_weights.detach(), -1)[ids].sum())


@pytest.fixture(scope="module")
def llama(tiny_llama):
    return load_pretrained(str(tiny_llama), task="causal-lm"), load_tokenizer(str(tiny_llama))


@pytest.mark.parametrize("window, stride", SHAPES)
def test_every_token_after_the_first_is_scored_exactly_once(llama, window, stride):
    _, tok = llama
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    fake = _TargetOnly(len(tok), 128)
    scores, info = perplexity_windows(fake, tok, TEXT, window=window, stride=stride)
    assert sum(scores["tokens"]) == len(ids) - 1
    assert info["n_tokens_scored"] == len(ids) - 1
    assert info["n_tokens"] == len(ids) and info["windows"] == len(scores["tokens"])
    assert sum(scores["nll"]) == pytest.approx(fake.loss_of(ids[1:]), rel=1e-5)  # the same tokens, each once


@pytest.mark.parametrize("window, stride", [(16, 16), (16, 5), (8, 8)])
def test_a_real_model_scores_as_many_tokens_as_it_reports(llama, window, stride):
    model, tok = llama
    scores, info = perplexity_windows(model, tok, TEXT, window=window, stride=stride)
    n = len(tok(TEXT, add_special_tokens=False)["input_ids"])
    assert info["windows"] > 1 and sum(scores["tokens"]) == n - 1
    assert info["n_tokens_scored"] == n - 1


@pytest.mark.parametrize("stride", [128, 64, 1])
def test_a_text_that_fits_one_window_gives_the_one_pass_perplexity(llama, stride):
    model, tok = llama
    ids = torch.tensor([tok(TEXT, add_special_tokens=False)["input_ids"]])
    scores, info = perplexity_windows(model, tok, TEXT, window=128, stride=stride)
    with torch.inference_mode():
        loss = model(input_ids=ids, labels=ids).loss
    assert info["windows"] == 1 and info["n_tokens_scored"] == ids.shape[1] - 1
    assert sum(scores["nll"]) / sum(scores["tokens"]) == pytest.approx(float(loss), rel=1e-5)


def test_a_window_needs_two_tokens(llama):
    from tradeoff.errors import BadInput

    model, tok = llama
    with pytest.raises(BadInput, match="window"):
        perplexity_windows(model, tok, TEXT, window=1, stride=1)
