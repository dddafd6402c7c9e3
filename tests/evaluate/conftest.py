"""Tiny models (2 layers, hidden 32) saved as real local folders, with a tokenizer built from a word list."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

WORDS = ["good", "great", "fine", "bad", "awful", "poor", "movie", "film", "the", "a", "was", "is", "very",
         "john", "paris", "went", "to", "london", "acme", "corp", "play", "##s", "##ing", "terrible", "positive", "negative",
         "review", ":", "sentiment", "."]


def _bert_tokenizer(folder: Path):
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tok.save_pretrained(folder)
    return tok


def _word_tokenizer(folder: Path):
    """A word-level tokenizer for a tiny Llama: every word is one token, spaces are dropped."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<s>", "</s>", "<unk>", *[w for w in WORDS if not w.startswith("##")]])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tok.save_pretrained(folder)
    return tok


def save_tiny_bert(folder: Path, layers: int = 2) -> Path:
    """A random hidden-32 BERT with weights and tokenizer in `folder` (a stand-in for a real checkpoint)."""
    from transformers import BertConfig, BertModel

    tok = _bert_tokenizer(folder)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def save_tiny_llama(folder: Path) -> Path:
    """A random 2-layer Llama with a word-level tokenizer in `folder`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _word_tokenizer(folder)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=128,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny_llama"))


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def write_jsonl():
    return _write_jsonl


@pytest.fixture(scope="session")
def sentiment_rows():
    return _sentiment_rows


def _sentiment_rows(n: int, seed: int = 0) -> list[dict]:
    """A learnable toy sentiment task: the label is carried by one word."""
    import random

    rng = random.Random(seed)
    pos, neg, filler = ["good", "great", "fine"], ["bad", "awful", "poor"], ["the", "movie", "film", "was", "very", "a"]
    rows = []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = rng.sample(filler, 3) + [rng.choice(pos if label else neg)]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    return rows
