"""Every model of a comparison reads the same text: one max length for all (encoders and decoders alike), and
each record counts the rows cut to fit it."""
from __future__ import annotations

import pytest

from tradeoff.errors import BadInput
from tradeoff.evaluate import decoder, run_cell
from tradeoff.evaluate.suite import EvalResult, plan
from tradeoff.models.load import load_tokenizer

LABELS = ["negative", "positive"]
LONG = "the movie was very good and john went to paris the film was very bad"  # 15 words, one token each


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def reviews(tmp_path, write_jsonl, sentiment_rows):
    """Short rows, and every fourth test row a long one."""
    folder = tmp_path / "reviews"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", sentiment_rows(40, seed=1))
    test = sentiment_rows(20, seed=2)
    for row in test[::4]:
        row["text"] = f"{row['text']} {LONG}"
    write_jsonl(folder / "validation.jsonl", test)
    return folder


def test_the_default_length_is_the_shortest_context_at_most_512(tiny_bert, tiny_llama):
    from tradeoff.evaluate.cell import max_length_for

    assert max_length_for([str(tiny_bert), str(tiny_llama)]) == 64  # the tiny BERT's 64 positions
    assert max_length_for(["SmolLM2-135M"]) == 512  # 8,192 positions: capped
    assert max_length_for(["all-mpnet-base-v2", "SmolLM2-135M"]) == 512  # MPNet's 514 less its padding offset
    assert max_length_for([str(tiny_bert), str(tiny_llama)], 32) == 32
    with pytest.raises(BadInput, match="exceeds .*context of 64"):
        max_length_for([str(tiny_bert), str(tiny_llama)], 100)


def test_every_planned_cell_holds_the_same_length(tiny_bert, tiny_llama, reviews):
    cells = plan([str(tiny_bert), str(tiny_llama)], {"data": str(reviews), "label_names": LABELS}, ["probe", "zero-shot"])
    assert [c["mode"] for _, c in cells] == ["probe", "zero-shot"]
    assert [c["max_length"] for _, c in cells] == [64, 64]


def test_a_decoder_reads_each_text_only_as_far_as_the_max_length(tiny_llama):
    tok = load_tokenizer(str(tiny_llama))
    texts, _, cut = decoder._clipped(tok, ["good film", LONG], None, 4)
    assert texts == ["good film", "the movie was very"] and cut == [False, True]
    pairs = decoder._clipped(tok, ["good film", LONG], ["bad", LONG], 6)
    assert pairs == (["good film", "the movie was"], ["bad", "the movie was"], [False, True])


@pytest.mark.parametrize("mode", ["probe", "zero-shot"])
def test_records_count_the_rows_cut_to_fit(tiny_bert, tiny_llama, reviews, mode):
    model = tiny_bert if mode == "probe" else tiny_llama
    cell = {"data": str(reviews), "label_names": LABELS, "mode": mode, "max_length": 8}
    record = run_cell(str(model), cell)
    assert record.status == "ok", record.error
    assert record.details["text_tokens"] == 8 and record.details["truncated_rows"] == 5  # the five long rows
    assert EvalResult.of([record], None).table()[1][0]["test rows"] == "20 (5 cut at 8 tokens)"
    fits = run_cell(str(model), {**cell, "max_length": 32})
    assert fits.details["truncated_rows"] == 0
