"""Task quality on real data: classification (checkpoint, fine-tune, probe, zero/k-shot), NER and perplexity,
each with a bootstrap interval, and performance retained against a baseline."""
from tradeoff.evaluate.cell import run_cell, validate_cell

__all__ = ["run_cell", "validate_cell"]
