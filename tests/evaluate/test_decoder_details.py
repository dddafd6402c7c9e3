"""Decoder prompts are read up to the model's context (not a fixed 512 tokens), and every prompt cut to fit
is counted in the details, with how much it lost."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from tradeoff.errors import BadInput
from tradeoff.evaluate import decoder
from tradeoff.models.load import load_tokenizer

WORDS = [" negative", " positive"]


@dataclass
class _Rows:
    """The fields classify reads from a Classification."""

    texts: list[str]
    labels: list[int] = field(default_factory=list)
    label_names: list[str] = field(default_factory=lambda: ["negative", "positive"])
    pairs: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)


def _llama(tok, context: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=context,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def tok(tiny_llama):
    return load_tokenizer(str(tiny_llama))


def _lost(tok, prompt: str, budget: int) -> int:
    return max(0, len(tok(prompt)["input_ids"]) - (budget - 1))  # one token left for the verbaliser


def test_k_shot_prompts_longer_than_the_context_are_counted_as_truncated(tok):
    model = _llama(tok, 32)
    train = _Rows(["the movie was good", "a film is bad", "the film was very poor", "great movie"], [1, 0, 0, 1])
    test = _Rows(["good film", "the movie was very very bad", " ".join(["the film was very good"] * 8)], [1, 0, 1])
    pred, details = decoder.classify(model, tok, test, train=train, k=4)
    context = "".join(decoder._prompt(decoder.DEFAULT_TEMPLATE, train.texts[i], WORDS) + WORDS[train.labels[i]] + "\n\n"
                      for i in details["demonstrations"])
    prompts = [context + decoder._prompt(decoder.DEFAULT_TEMPLATE, t, WORDS) for t in test.texts]
    lost = [_lost(tok, p, 32) for p in prompts]
    assert all(lost), lost  # four demonstrations never fit in 32 tokens
    assert details["max_length"] == 32 and details["k"] == 4 and details["k_used"] == 4
    assert details["truncated_prompts"] == 3 and details["truncated_tokens"] == sum(lost)
    context_tokens = len(tok(context, add_special_tokens=False)["input_ids"])
    assert details["truncated_into_text"] == sum(n > context_tokens for n in lost) == 1  # the long review lost its start
    assert len(pred) == 3


def test_prompts_that_fit_are_not_counted(tok):
    model = _llama(tok, 64)
    pred, details = decoder.classify(model, tok, _Rows(["good film", "bad movie"], [1, 0]), calibrate=True)
    assert (details["truncated_prompts"], details["truncated_tokens"], details["truncated_into_text"]) == (0, 0, 0)
    assert details["k_used"] == 0 and details["max_length"] == 64


def test_prompts_past_512_tokens_are_read_whole_when_the_model_reads_them(tok):
    model = _llama(tok, 1024)
    prompt = " ".join(["the movie was very good and john went to paris"] * 70) + " . sentiment :"
    p_ids = tok(prompt)["input_ids"]
    assert 512 < len(p_ids) < 1023
    with torch.inference_mode():
        full = torch.log_softmax(model(input_ids=torch.tensor([p_ids])).logits[0, -1].float(), -1)
    expected = [float(full[tok(w, add_special_tokens=False)["input_ids"][0]]) for w in WORDS]
    assert np.allclose(decoder.label_scores(model, tok, [prompt], WORDS), [expected], atol=1e-5)


def test_the_default_length_is_the_context_capped_for_memory(tok):
    _, details = decoder.classify(_llama(tok, 1_000_000), tok, _Rows(["good film"], [1]))
    assert details["max_length"] == decoder.MAX_PROMPT_TOKENS


def test_a_length_beyond_the_context_or_too_short_for_the_answer_is_refused(tok):
    model = _llama(tok, 32)
    with pytest.raises(BadInput, match="context"):
        decoder.classify(model, tok, _Rows(["good film"], [1]), max_length=64)
    with pytest.raises(BadInput, match="max_length"):
        decoder.label_scores(model, tok, ["good film"], [" very good", " bad"], max_length=2)
