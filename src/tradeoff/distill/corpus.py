"""A plain text corpus turned into fixed-length token blocks for task-agnostic distillation.

Text is tokenized once, concatenated and cut into blocks of `block_size` tokens, each wrapped in
the tokenizer's own special tokens ([CLS] ... [SEP] for BERT, <s> for Llama). Encoders get MLM
masking (15%, the BERT/DistilBERT recipe), decoders next-token labels; both from transformers'
DataCollatorForLanguageModeling, drawing on the global RNG so a seeded, resumed run masks alike.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from tradeoff.errors import BadData, BadInput

_LINES_PER_CHUNK = 2000


class Blocks(Dataset):
    """Token blocks as feature dicts, the form the collator expects."""

    def __init__(self, blocks: torch.Tensor):
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict:
        ids = self.blocks[i]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def text_blocks(path: str | Path, tokenizer, block_size: int = 128, max_blocks: int | None = None,
                min_blocks: int = 1) -> torch.Tensor:
    """(n, block_size) token ids from a UTF-8 text file; reads only as much as `max_blocks` needs."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"corpus {path} does not exist or is not a file", "pass a plain UTF-8 text file")
    prefix, suffix = _special_wrap(tokenizer)
    body = block_size - len(prefix) - len(suffix)
    if body < 8:
        raise BadInput(f"--block-size {block_size} is too small", "use at least 16 tokens, e.g. 128")
    limit = tokenizer.model_max_length if tokenizer.model_max_length < 10**9 else None
    if limit is not None and block_size > limit:
        raise BadInput(f"--block-size {block_size} exceeds the model's {limit} positions", f"use at most {limit}")
    ids: list[int] = []
    wanted = None if max_blocks is None else max_blocks * body
    try:
        with path.open(encoding="utf-8") as f:
            lines: list[str] = []
            for line in f:
                if line.strip():
                    lines.append(line.strip())
                if len(lines) == _LINES_PER_CHUNK:
                    ids.extend(_tokenize(tokenizer, lines))
                    lines = []
                    if wanted is not None and len(ids) >= wanted:
                        break
            if lines:
                ids.extend(_tokenize(tokenizer, lines))
    except UnicodeDecodeError:
        raise BadData(f"corpus {path} is not UTF-8 text", "convert it to UTF-8 plain text") from None
    n = len(ids) // body
    if max_blocks is not None:
        n = min(n, max_blocks)
    if n < min_blocks:
        raise BadData(f"corpus {path} is too small: {len(ids):,} tokens make {n} block(s) of {block_size}, "
                      f"fewer than the {min_blocks} needed", "use a larger corpus, or a smaller --block-size / --batch-size")
    return torch.tensor([prefix + ids[i * body:(i + 1) * body] + suffix for i in range(n)], dtype=torch.long)


def _special_wrap(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after one sequence, found by encoding a word."""
    bare = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello")["input_ids"]
    start = next(i for i in range(len(full) - len(bare) + 1) if full[i:i + len(bare)] == bare)
    return full[:start], full[start + len(bare):]


def _tokenize(tokenizer, lines: list[str]) -> list[int]:
    out: list[int] = []
    for row in tokenizer(lines, add_special_tokens=False, verbose=False)["input_ids"]:
        out.extend(row)
    return out


def corpus_loader(blocks: torch.Tensor, tokenizer, role: str, batch_size: int = 8,
                  mlm_probability: float = 0.15, train: bool = True) -> DataLoader:
    """Batches with `labels`: masked tokens for encoders, next tokens for decoders; shuffled, in
    full batches only, when `train`.

    Order and masks come from the global RNG, which the training loop seeds per epoch and restores
    from a checkpoint, so runs repeat exactly and a resumed run carries on where it stopped."""
    from transformers import DataCollatorForLanguageModeling

    if role == "encoder" and tokenizer.mask_token is None:
        raise BadInput("the tokenizer has no mask token, so masked-LM distillation is impossible",
                       "use an encoder with a [MASK] token, or a decoder teacher (CLM)")
    if tokenizer.pad_token is None:  # blocks are full length; the collator only needs the id to exist
        tokenizer.pad_token = tokenizer.eos_token
    collate = DataCollatorForLanguageModeling(tokenizer, mlm=role == "encoder", mlm_probability=mlm_probability)
    return DataLoader(Blocks(blocks), batch_size=batch_size, shuffle=train, collate_fn=collate, drop_last=train)
