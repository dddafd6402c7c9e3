"""Plain text to token blocks, MLM/CLM batches, and the corpus-too-small error."""
import pytest
import torch

from tradeoff.distill.corpus import corpus_loader, text_blocks
from tradeoff.errors import BadData, BadInput
from tradeoff.paths import shared_data

AUSTEN = str(shared_data() / "austen/validation.txt")


def test_blocks_are_wrapped_and_contiguous(tmp_path, tokenizer):
    text = tmp_path / "t.txt"
    text.write_text("one two three four five six seven eight nine ten\n\n" * 20)
    blocks = text_blocks(text, tokenizer, block_size=16)
    assert blocks.shape == (14, 16)  # 200 words, 14 per block
    assert (blocks[:, 0] == tokenizer.cls_token_id).all() and (blocks[:, -1] == tokenizer.sep_token_id).all()
    assert tokenizer.decode(blocks[0, 1:-1]) == "one two three four five six seven eight nine ten one two three four"
    assert tokenizer.decode(blocks[1, 1:3]) == "five six"
    assert len(text_blocks(text, tokenizer, block_size=16, max_blocks=3)) == 3


def test_corpus_too_small(tmp_path, tokenizer):
    text = tmp_path / "t.txt"
    text.write_text("far too short\n")
    with pytest.raises(BadData, match="too small: 3 tokens make 0 block"):
        text_blocks(text, tokenizer, block_size=32)
    with pytest.raises(BadData, match="fewer than the 8 needed"):
        text_blocks(text, tokenizer, block_size=16, min_blocks=8)


def test_bad_corpus_files(tmp_path, tokenizer):
    with pytest.raises(BadInput, match="does not exist"):
        text_blocks(tmp_path / "missing.txt", tokenizer)
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00abc" * 100)
    with pytest.raises(BadData, match="not UTF-8"):
        text_blocks(binary, tokenizer)
    with pytest.raises(BadInput, match="exceeds the model's 512"):
        text_blocks(AUSTEN, tokenizer, block_size=1024)


def test_mlm_batches_are_seeded(tokenizer):
    blocks = text_blocks(AUSTEN, tokenizer, block_size=32, max_blocks=16)
    loader = corpus_loader(blocks, tokenizer, "encoder", batch_size=4)

    def first_batch(seed):
        torch.manual_seed(seed)
        return next(iter(loader))

    a, b, c = first_batch(1), first_batch(1), first_batch(2)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])
    assert not torch.equal(a["labels"], c["labels"])
    scored = a["labels"] != -100
    assert 0 < scored.float().mean() < 0.4  # about 15% of tokens are scored
    assert (a["input_ids"][scored] == tokenizer.mask_token_id).float().mean() > 0.5  # most of them masked (80/10/10)
    assert len(loader) == 4


def test_clm_batches_label_every_token(tokenizer):
    blocks = text_blocks(AUSTEN, tokenizer, block_size=32, max_blocks=8)
    batch = next(iter(corpus_loader(blocks, tokenizer, "decoder", batch_size=2)))
    assert torch.equal(batch["labels"], batch["input_ids"])
