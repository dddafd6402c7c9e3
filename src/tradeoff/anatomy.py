"""Exact architecture and size facts from a config alone.

The model is instantiated on the meta device, so parameter counts are exact (whatever the family)
and Llama-2-70B costs no memory. FLOPs are analytic: every matmul in one forward pass, which tests
cross-check against `torch.utils.flop_counter`.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tradeoff.models.refs import ModelRef, context_length, model_role

BYTES_PER_PARAM = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "int4": 0.5}
PARTS = ("embeddings", "attention", "ffn", "norms", "head", "other")


class Anatomy(BaseModel):
    model: str
    source: str  # catalog | hub | folder | gguf
    model_type: str
    role: Literal["encoder", "decoder"]
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    hidden: int
    ffn: int
    vocab: int
    max_context: int
    attention: str  # e.g. "bidirectional MHA", "causal GQA (8 KV heads)"
    attention_sparse: bool
    sliding_window: int | None
    positions: str
    norm: str
    activation: str
    tied_embeddings: bool
    parameters: int
    parameters_by_part: dict[str, int]
    parameters_per_layer: int
    seq_len: int
    flops_per_token: float  # forward pass, at seq_len
    weight_bytes: dict[str, float]  # per dtype
    kv_cache_bytes_per_token: float | None  # fp16, decoders only
    kv_cache_bytes_full_context: float | None
    claims: list[dict] = []

    def fact(self, quantity: str):
        """Uniform access for claim checks (e.g. `weight_gb_int4`)."""
        if quantity.startswith("weight_gb_"):
            return self.weight_bytes[quantity.removeprefix("weight_gb_")] / 1e9
        if quantity == "num_layers":
            return self.layers
        return getattr(self, quantity)


def _first(config, *names, default=None):
    for n in names:
        v = getattr(config, n, None)
        if v is not None:
            return v
    return default


def _part_of(name: str, module) -> str:
    cls = type(module).__name__
    lname = name.lower()
    if "norm" in cls.lower() or lname.endswith(("layernorm", "layer_norm", "ln")):
        return "norms"
    if any(k in lname for k in ("pooler", "lm_head", "classifier", "vocab_projector", "vocab_transform", "score")):
        return "head"
    if any(k in lname for k in ("attention", "attn")):
        return "attention"
    if cls == "Embedding":
        return "embeddings"
    if any(k in lname for k in ("layer.", "layers.", "h.", "blocks.")):
        return "ffn"
    return "other"


def _positions(config) -> str:
    if getattr(config, "rope_parameters", None) or getattr(config, "rope_theta", None) or config.model_type in ("llama", "mistral", "qwen2", "gemma"):
        return "RoPE"
    if getattr(config, "sinusoidal_pos_embds", False):
        return "sinusoidal"
    if config.model_type == "mpnet":
        return "learned absolute + relative bias"
    return "learned absolute"


def _attention_kind(role: str, heads: int, kv_heads: int, window: int | None) -> str:
    kind = "MHA" if kv_heads == heads else ("MQA" if kv_heads == 1 else f"GQA ({kv_heads} KV heads)")
    base = f"{'causal' if role == 'decoder' else 'bidirectional'} {kind}"
    return base + (f", sliding window {window}" if window else "")


def inspect_ref(ref: ModelRef, seq_len: int | None = None, trust_remote_code: bool = False) -> Anatomy:
    config = ref.config(trust_remote_code=trust_remote_code)
    return anatomy_of(config, name=ref.name, source=ref.kind, seq_len=seq_len,
                      claims=[c.model_dump() for c in ref.entry.claims] if ref.entry else [])


def anatomy_of(config, name: str, source: str = "config", seq_len: int | None = None, claims=()) -> Anatomy:
    import torch

    from tradeoff.models.load import build_meta  # torch loads here, not when the CLI starts

    role = model_role(config)
    model = build_meta(config, role)
    hidden = config.hidden_size
    heads = config.num_attention_heads
    kv_heads = _first(config, "num_key_value_heads", default=heads)
    head_dim = _first(config, "head_dim", default=hidden // heads)
    layers = config.num_hidden_layers
    max_pos = context_length(config) or 0
    seq_len = seq_len or min(max_pos, 128 if role == "encoder" else 2048) or 128
    window = getattr(config, "sliding_window", None) or None

    by_part = dict.fromkeys(PARTS, 0)
    seen = set()
    linear_flops, per_seq_flops = 0, 0
    for mname, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if id(p) not in seen]
        for p in own:
            seen.add(id(p))
            by_part[_part_of(mname, module)] += p.numel()
        if isinstance(module, torch.nn.Linear):
            f = 2 * module.in_features * module.out_features
            if "pooler" in mname:
                per_seq_flops += f  # the pooler sees only the first token
            else:
                linear_flops += f
    total = sum(p.numel() for p in model.parameters())
    assert total == sum(by_part.values())
    layer_params = sum(p.numel() for p in _layer_stack(model)[0].parameters())
    attn_span = min(seq_len, window) if window else seq_len
    attn_flops = 4 * layers * attn_span * heads * head_dim  # QK^T and AV, per query token
    flops_per_token = linear_flops + attn_flops + per_seq_flops / seq_len

    kv_tok = kv_full = None
    if role == "decoder":
        kv_tok = 2 * layers * kv_heads * head_dim * BYTES_PER_PARAM["fp16"]
        kv_full = kv_tok * (min(max_pos, window) if window else max_pos)
    return Anatomy(
        model=name, source=source, model_type=config.model_type, role=role, layers=layers, heads=heads,
        kv_heads=kv_heads, head_dim=head_dim, hidden=hidden,
        ffn=_first(config, "intermediate_size", "hidden_dim", "n_inner", default=4 * hidden),
        vocab=config.vocab_size, max_context=max_pos,
        attention=_attention_kind(role, heads, kv_heads, window), attention_sparse=False, sliding_window=window,
        positions=_positions(config), norm="RMSNorm" if hasattr(config, "rms_norm_eps") else "LayerNorm",
        activation=str(_first(config, "hidden_act", "activation", default="?")),
        tied_embeddings=bool(getattr(config, "tie_word_embeddings", False)) and role == "decoder",
        parameters=total, parameters_by_part=by_part, parameters_per_layer=layer_params, seq_len=seq_len,
        flops_per_token=float(flops_per_token),
        weight_bytes={d: total * b for d, b in BYTES_PER_PARAM.items()},
        kv_cache_bytes_per_token=kv_tok, kv_cache_bytes_full_context=kv_full, claims=list(claims),
    )


def _layer_stack(model):
    """The repeated block list (encoder.layer, transformer.layer, model.layers, ...)."""
    import torch

    stacks = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m) > 0]
    return max(stacks, key=lambda m: sum(p.numel() for p in m.parameters()))


CELL_AXES = {"seq_len"}


def validate_cell(model: str, cell: dict, weights: str = "random") -> None:
    """Raise BadInput for an inspect cell that cannot run, before any cell of a study runs."""
    from tradeoff.errors import BadInput
    from tradeoff.models.refs import parse_ref

    unknown = set(cell) - CELL_AXES
    if unknown:
        raise BadInput(f"inspect cells take only {', '.join(sorted(CELL_AXES))}, got {', '.join(sorted(unknown))}",
                       "remove the other fields from the inspect grid")
    seq_len = cell.get("seq_len")
    if seq_len is not None and (isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len <= 0):
        raise BadInput(f"inspect seq_len must be a positive integer, got {seq_len!r}", "e.g. seq_len = [128, 512]")
    parse_ref(model).config()


def run_cell(model: str, cell: dict, weights: str = "random") -> "Record":
    """One study cell of kind "inspect": the anatomy of `model` at `cell["seq_len"]`, as a Record."""
    from tradeoff.env import environment
    from tradeoff.models.refs import parse_ref
    from tradeoff.record import Metric, Record

    validate_cell(model, cell, weights)
    a = inspect_ref(parse_ref(model), seq_len=cell.get("seq_len"))
    metrics = {"parameters": Metric(value=a.parameters, unit="params"),
               "flops_per_token": Metric(value=a.flops_per_token, unit="FLOP"),
               **{f"weight_bytes_{d}": Metric(value=b, unit="B") for d, b in a.weight_bytes.items()}}
    if a.kv_cache_bytes_per_token is not None:
        metrics["kv_cache_bytes_per_token"] = Metric(value=a.kv_cache_bytes_per_token, unit="B")
    return Record(kind="inspect", model=a.model, weights=weights, cell=dict(cell), metrics=metrics,
                  details=a.model_dump(exclude={"claims"}), env=environment())
