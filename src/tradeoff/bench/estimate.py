"""A latency estimate for a model too heavy to run here, as a stage (contract 1): its exact forward FLOPs over the
FLOP/s real runs reached on this machine. Labelled weights="estimate": a compute-bound lower bound, honest about
being one, that never wins a decision on its bound."""
from __future__ import annotations

from tradeoff.record import Metric, Record

MB = 1e6


def run_cell(model: str, cell: dict, weights: str = "estimate", *, flops_per_s: float | None = None,
             how: str | None = None) -> Record:
    """`flops_per_s`: the best a real model reached in this run (default: this machine's matmul peak, optimistic)."""
    from tradeoff.anatomy import inspect_ref
    from tradeoff.env import environment
    from tradeoff.models.refs import parse_ref

    if flops_per_s is None:
        from tradeoff.bench.hardware import peak_flops

        flops_per_s, how = peak_flops(cell.get("device", "cpu")), "this machine's matmul peak (an optimistic bound)"
    a = inspect_ref(parse_ref(model), seq_len=cell["seq_len"])
    flops = a.flops_per_token * cell["batch"] * cell["seq_len"]
    return Record(kind="bench", model=a.model, weights="estimate", cell=cell, env=environment(),
                  metrics={"latency_p50_ms": Metric(value=flops / flops_per_s * 1e3, unit="ms"),
                           "weight_mb": Metric(value=a.weight_bytes["bf16"] / MB, unit="MB")},
                  details={"how": f"forward FLOPs ({flops:.3g}) / {flops_per_s:.3g} FLOP/s, {how}; memory = bf16 weights only"})
