"""What a model is (refs, catalog) and how to get it in memory (load)."""
from tradeoff.models.refs import ModelRef, parse_ref

__all__ = ["ModelRef", "parse_ref"]
