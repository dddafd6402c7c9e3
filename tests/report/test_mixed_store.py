"""Issue 13, What 4: any mix of tasks, modes, backends, shapes and failures in a store never crashes
compare, report or recommend."""
import numpy as np
from hypothesis import HealthCheck, example, given, settings, strategies as st
from report_records import ENV, bench, estimate, evaluation, ner_evaluation, speedup

from tradeoff.decide import DecisionSettings
from tradeoff.record import Metric, Record
from tradeoff.report.table import recommendation_lines, summary_table

MINI, MPNET, SMOL, LLAMA = "all-MiniLM-L6-v2", "all-mpnet-base-v2", "SmolLM2-135M", "llama-2-7b"


def _perplexity(model):
    nll = np.random.default_rng(0).uniform(2, 4, 50)
    return Record(kind="eval", model=model, weights="pretrained", env=ENV, cell={"task": "perplexity", "data": "austen"},
                  metrics={"perplexity": Metric(value=float(np.exp(nll.mean())), low=20.0, high=30.0)},
                  details={"task": "perplexity", "mode": "perplexity", "seed": 0, "n": 50, "data": "austen.txt", "sha256": "ab",
                           "scores": {"nll": (nll * 128).tolist(), "tokens": [128] * 50}})


def _failed(kind, model, status):
    return Record(kind=kind, model=model, weights="random" if kind == "bench" else "pretrained", env=ENV, status=status,
                  error="boom", cell={"backend": "eager", "batch": 1, "seq_len": 128, "workload": "fixed", "mode": "probe"})


no_scores = evaluation(MPNET, 0.7, mode="probe")
no_scores = no_scores.model_copy(update={"details": {k: v for k, v in no_scores.details.items() if k != "scores"}})
no_scores_seed = no_scores.model_copy(update={"details": {**no_scores.details, "seed": 1}})
legacy = evaluation(MINI, 0.75, mode="probe", data="sst2", n=872)  # made before records named their test rows
legacy = legacy.model_copy(update={"details": {**{k: v for k, v in legacy.details.items() if k != "test_rows"}, "sha256": "cd"}})
POOL = [
    bench(MINI, "eager", 20.0, 300.0), bench(MINI, "onnx-int8", 8.0, 200.0), bench(MINI, "eager", 90.0, 400.0, batch=8),
    bench(MPNET, "eager", 95.0, 900.0, batch=8), bench(MPNET, "eager-bf16", 40.0, 700.0), bench(SMOL, "eager", 200.0, 700.0, workload="generate"),
    speedup(MPNET, MINI, 0.2, 0.19, 0.21), speedup(MINI, MPNET, 2.0, 1.9, 2.1, backend="onnx-int8", batch=8),
    estimate(LLAMA, 9000.0, 13476.0), estimate(LLAMA, 90000.0, 13476.0, batch=8), _failed("bench", MINI, "oom"),
    evaluation(MINI, 0.8, mode="probe"), evaluation(MINI, 0.81, mode="probe", seed=1, errors="random"),
    evaluation(MINI, 0.6, mode="probe", backend="onnx-int8"), evaluation(MPNET, 0.84, mode="finetune"),
    evaluation(SMOL, 0.7, mode="zero-shot", errors="random"), evaluation(SMOL, 0.72, mode="k-shot", data="sst2", n=872),
    ner_evaluation(MINI), ner_evaluation(MPNET, hits=0.6), _perplexity(SMOL), _failed("eval", MPNET, "error"),
    no_scores, no_scores_seed, legacy, evaluation(MINI, 0.7, data="sst2", n=100),
]
CONSTRAINTS = [{}, {"prefer": "latency"}, {"prefer": "memory", "max_memory_mb": 500},
               {"max_latency_ms": 50, "min_retained": 0.9}, {"min_retained": 0.99}]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(POOL), max_size=10), st.sampled_from(CONSTRAINTS))
@example(POOL, CONSTRAINTS[3])
def test_any_mix_of_records_builds_a_table_a_recommendation_and_reports(records, constraints):
    from tradeoff.compare_plan import build_comparison
    from tradeoff.report import to_markdown
    from tradeoff.report.html import render_html

    c = build_comparison(records, [MINI, MPNET, SMOL, LLAMA], MINI, decision=DecisionSettings(**constraints))
    columns, rows = summary_table(c)
    assert columns[1:] == [MINI, MPNET, SMOL, LLAMA] and rows
    assert recommendation_lines(c)
    assert "## Decision" in to_markdown(c) and "## Every candidate's reasons" in to_markdown(c)
    assert "<table" in render_html(c)
