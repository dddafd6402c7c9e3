"""Task quality on real data: classification (checkpoint, fine-tune, probe, zero/k-shot), NER and perplexity,
each with a bootstrap interval, and performance retained against a baseline."""

__all__ = ["identified", "run_cell", "validate_cell"]


def __getattr__(name: str):
    """The study runner's contract, imported on first use so that reading `evaluate.data` stays light (no torch)."""
    if name in __all__:
        from tradeoff.evaluate import cell

        return getattr(cell, name)
    raise AttributeError(f"module 'tradeoff.evaluate' has no attribute {name!r}")
