"""Fuzzing the parsers users feed files to: data files and study files, arbitrary bytes in.

Each input either parses or raises a one-line TradeoffError; any other exception is a crash.
Bounded by example counts so it runs in CI in seconds.
"""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeoff.errors import TradeoffError
from tradeoff.evaluate.data import load_classification, read_rows
from tradeoff.study import load_study_file, parse_study, validate

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)


def outcome(fn, *args):
    try:
        return fn(*args)
    except TradeoffError as e:
        assert "\n" not in e.one_line()
        return e


@FUZZ
@given(raw=st.binary(max_size=400), suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".txt", ".parquet"]))
def test_data_files_of_arbitrary_bytes(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"data{suffix}"
    path.write_bytes(raw)
    outcome(read_rows, str(path))


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(["text", "label", "other"]), json_values, max_size=3), max_size=8))
def test_classification_rows_of_any_shape(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("fuzz") / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    outcome(load_classification, str(path))


@FUZZ
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".toml", ".yaml"]))
def test_study_files_of_arbitrary_bytes(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"study{suffix}"
    path.write_bytes(raw)
    loaded = outcome(load_study_file, str(path))
    if not isinstance(loaded, TradeoffError):
        outcome(parse_study, *loaded)


study_docs = st.fixed_dictionaries({}, optional={
    "name": json_values, "models": st.lists(st.sampled_from(["bert-base-uncased", "distilbert", "nope/x", "", "./missing"]), max_size=3) | json_values,
    "inspect": st.dictionaries(st.sampled_from(["seq_len", "models", "x"]), json_values | st.integers(-5, 600), max_size=2),
    "bench": st.dictionaries(st.sampled_from(["backend", "batch", "seq_len", "models"]), json_values, max_size=3),
})


@FUZZ
@given(doc=study_docs)
def test_study_documents_of_any_shape(doc):
    from tradeoff.study import _Locator

    study = outcome(parse_study, doc, _Locator("fuzz.toml", {}))
    if not isinstance(study, TradeoffError):
        outcome(validate, study)
