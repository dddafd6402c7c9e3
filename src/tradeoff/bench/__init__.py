"""`bench`: latency, throughput and memory per backend, device and workload, with intervals and
paired speed-ups that hold up on a noisy machine. Heavy imports happen only when work starts."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads backend names from this package at start-up: keep pydantic out of it
    from tradeoff.record import Record


def validate_cell(model: str, cell: dict, weights: str = "random"):
    """Check a contract-style cell (and the model) without doing any work; raise BadInput if wrong."""
    from tradeoff.bench.source import Source
    from tradeoff.bench.spec import Cell, Settings, check_seq_len

    parsed = Cell.from_dict(cell)
    source = Source(model, weights)
    extra = int(parsed.extra.get("new_tokens", Settings.new_tokens)) if parsed.workload == "generate" and source.role == "decoder" else 0
    check_seq_len(source.name, parsed.seq_len, source.max_positions(), extra)
    return parsed


def run_cell(model: str, cell: dict, weights: str = "random") -> Record:
    """Contract 1: measure one model in one cell, in this process; failures come back as records."""
    import torch

    from tradeoff.bench.runner import run_group
    from tradeoff.bench.spec import TIMING_KEYS, Group, Settings, default_threads

    parsed = validate_cell(model, cell, weights)
    threads = torch.get_num_threads()
    records: list[Record] = []
    try:
        settings = {k: cell[k] for k in TIMING_KEYS if k in cell}
        Settings(**settings).check()
        run_group(Group(models=[model], backend=parsed.backend, device=parsed.device, cells=[cell], weights=weights,
                        threads=parsed.threads or default_threads(), settings=settings), records.append)
    finally:
        torch.set_num_threads(threads)
    return records[0]
