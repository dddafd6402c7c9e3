"""Tiny model folders (2 layers, hidden 32) and a private cache, so bench tests are fast and hermetic."""
import pytest
from transformers import BertConfig, DistilBertConfig, LlamaConfig


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-models")
    configs = {
        "tiny-bert": BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                vocab_size=100, max_position_embeddings=64),
        "tiny-distil": DistilBertConfig(dim=32, n_layers=1, n_heads=4, hidden_dim=64, vocab_size=100, max_position_embeddings=64),
        "tiny-llama": LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                  intermediate_size=64, vocab_size=100, max_position_embeddings=64),
    }
    paths = {}
    for name, config in configs.items():
        config.save_pretrained(root / name)
        paths[name] = str(root / name)
    return paths


@pytest.fixture(scope="session")
def names(tiny):
    """The name each folder's records carry: its basename and a hash of its files."""
    from tradeoff.models import parse_ref

    return {name: parse_ref(path).name for name, path in tiny.items()}


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADEOFF_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


FAST = {"budget_s": 0.3, "warmup_s": 0.05, "min_rounds": 3}
