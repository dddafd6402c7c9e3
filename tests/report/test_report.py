"""The comparison table, claims check and HTML report built from stored records."""
import re
import shutil
from pathlib import Path

import pytest

from tradeoff.compare_plan import build_comparison
from tradeoff.decide import DecisionSettings
from tradeoff.report import to_markdown, write_html
from tradeoff.report.html import render_html
from tradeoff.report.table import recommendation_lines, summary_table

MODELS = ["bert-base-uncased", "distilbert-base-uncased", "all-mpnet-base-v2", "all-MiniLM-L6-v2"]


def comparison(records, **kw):
    return build_comparison(records, MODELS, "bert-base-uncased", quality_baseline="all-mpnet-base-v2", **kw)


def test_summary_table_rows(records):
    columns, rows = summary_table(comparison(records))
    table = {r[""]: r for r in rows}
    assert columns[1:] == MODELS
    assert table["parameters"]["distilbert-base-uncased"] == "66.4M (-39.4%)"
    assert table["speed-up vs bert-base-uncased [eager, 1x128]"]["distilbert-base-uncased"] == "1.92x [1.85, 1.99]"
    quality = "accuracy, fine_foods (400 rows), finetune"
    # 0.80 / 0.84, paired bootstrap on the same rows
    assert table[quality + ": retained"]["all-MiniLM-L6-v2"].startswith("95.2% [") and table[quality + ": retained"]["all-mpnet-base-v2"] == "baseline"
    assert table[quality]["all-mpnet-base-v2"] == "84.0% [82.0, 86.0]"
    assert "no real weights" in table[quality]["bert-base-uncased"]
    assert "lowest latency" in table["best use case"]["all-MiniLM-L6-v2"]


def test_claims_verdicts(records):
    verdicts = {c.id: c for c in comparison(records).claims}
    assert verdicts["C3"].verdict == "held" and verdicts["C3"].measured == "39.4%"
    assert verdicts["C5"].verdict == "held" and "1.92x" in verdicts["C5"].measured
    assert verdicts["C6"].verdict == "held"
    assert verdicts["C7"].verdict == "not measurable here" and "hf download" in verdicts["C7"].context


def test_inconclusive_when_interval_straddles(records):
    from report_records import speedup

    records = [r for r in records if not r.cell.get("baseline")] + [speedup("distilbert-base-uncased", "bert-base-uncased", 1.62, 1.50, 1.75)]
    assert {c.id: c.verdict for c in comparison(records).claims}["C5"] == "inconclusive"


def test_speed_claims_are_checked_on_eager_even_when_an_int8_ratio_comes_later(records):
    from report_records import speedup

    int8 = speedup("distilbert-base-uncased", "bert-base-uncased", 1.30, 1.20, 1.40, backend="onnx-int8")
    for order in ([*records, int8], [int8, *records]):
        c5 = {c.id: c for c in comparison(order).claims}["C5"]
        assert c5.verdict == "held" and "1.92x" in c5.measured and c5.context.startswith("eager")


def test_a_ratio_comes_from_the_run_whose_latencies_it_sits_beside(records):
    """A store with an older run at another thread count: the table's speed-up and C5 both read the ratio timed
    with the latest latencies (the table took the first ratio it found, C5 the last: 2.06x beside C5's 1.90x)."""
    from report_records import speedup

    def at(r, threads):
        return r.model_copy(update={"cell": {**r.cell, "threads": threads}})

    old = [at(r, 1) for r in records if r.kind == "bench"]
    old = [r.model_copy(update={"metrics": {**r.metrics, "speedup": r.metrics["speedup"].model_copy(update={"value": 1.55, "low": 1.5, "high": 1.6})}})
           if r.cell.get("baseline") else r for r in old]
    new = [at(r, 2).model_copy(update={"created": "2099-01-01T00:00:00+00:00"}) for r in records if r.kind == "bench"]
    evals = [r for r in records if r.kind != "bench"]
    for order in ([*old, *new, *evals], [*new, *old, *evals]):
        c = comparison(order)
        table = {r[""]: r for r in summary_table(c)[1]}
        assert table["speed-up vs bert-base-uncased [eager, 1x128]"]["distilbert-base-uncased"] == "1.92x [1.85, 1.99]"
        c5 = {x.id: x for x in c.claims}["C5"]
        assert c5.measured.startswith("1.92x") and c5.verdict == "held"


def test_recommendation_under_budget(records):
    c = comparison(records, decision=DecisionSettings(max_latency_ms=100, min_retained=0.95))
    assert c.recommendation.best.model == "all-MiniLM-L6-v2"
    lines = recommendation_lines(c)
    assert any("bert-base-uncased [eager]" in l and "quality not measured" in l for l in lines)


def test_serving_capacity_reaches_the_table_the_recommendation_and_the_report(records, tmp_path):
    from report_records import capacity

    served = [*records, capacity("all-MiniLM-L6-v2", "eager", 150.0, 140.0, 165.0), capacity("all-mpnet-base-v2", "eager", 30.0, 27.0, 33.0)]
    c = comparison(served, decision=DecisionSettings(qps=50, p99_ms=100))
    table = {r[""]: r for r in summary_table(c)[1]}
    row = table["max QPS at p99 <= 100 ms [eager, max batch 8]"]
    assert row["all-MiniLM-L6-v2"] == "150 [140, 165] queries/s" and row["bert-base-uncased"] == "-"
    assert c.recommendation.best.model == "all-MiniLM-L6-v2"
    lines = "\n".join(recommendation_lines(c))
    assert "cannot serve 50 queries/s within p99 100 ms: its capacity is 30 [27, 33] queries/s" in lines
    assert "3.00x headroom" in lines
    html = write_html(c, tmp_path / "r.html").read_text()
    assert "fig-load" in html and "Latency vs load" in html
    from tradeoff.report.plots import write_pngs

    assert "load.png" in [p.name for p in write_pngs(c, tmp_path / "png")]


def test_a_store_with_only_capacity_searches_still_recommends_under_a_load():
    from report_records import capacity

    served = [capacity("bert-base-uncased", "eager", 9.9, 9.9, 10.8, p99_ms=1000),
              capacity("distilbert-base-uncased", "eager", 28.2, 25.9, 30.7, p99_ms=1000)]
    c = build_comparison(served, ["bert-base-uncased", "distilbert-base-uncased"], "bert-base-uncased",
                         decision=DecisionSettings(qps=20, p99_ms=1000))
    assert c.recommendation.best.model == "distilbert-base-uncased"
    other = build_comparison(served, ["bert-base-uncased", "distilbert-base-uncased"], "bert-base-uncased",
                             decision=DecisionSettings(qps=20, p99_ms=100))  # searched at another bound: named, not trusted
    assert other.recommendation.best is None and "at p99 <= 100 ms not measured" in other.recommendation.summary()


def test_a_decoder_is_judged_on_its_ttft_and_tpot_capacity_at_its_output_length(tmp_path):
    import random

    from report_records import capacity, token_capacity

    served = [capacity("bert-base-uncased", "eager", 9.9, 9.9, 10.8, p99_ms=1000),
              token_capacity("SmolLM2-135M", "eager", 3.0, 2.5, 3.6, output_tokens=8),
              token_capacity("SmolLM2-135M", "eager", 0.5, 0.2, 0.8, output_tokens=32)]  # a longer reply: less capacity
    refs = ["bert-base-uncased", "smollm2-135m"]
    c = build_comparison(served, refs, "bert-base-uncased", decision=DecisionSettings(qps=2, p99_ms=1000, output_tokens=8))
    lines = "\n".join(recommendation_lines(c))
    assert "serves 2 queries/s within TTFT p99 2000 ms and TPOT p99 200 ms at 8 output tokens with confidence" in lines
    assert "serves 2 queries/s within p99 1000 ms with confidence" in lines
    longer = build_comparison(served, refs, "bert-base-uncased", decision=DecisionSettings(qps=2, p99_ms=1000, output_tokens=32))
    why = "\n".join(recommendation_lines(longer))
    assert "cannot serve 2 queries/s within TTFT p99 2000 ms and TPOT p99 200 ms at 32 output tokens" in why
    unmeasured = build_comparison(served, refs, "bert-base-uncased", decision=DecisionSettings(qps=2, p99_ms=1000, output_tokens=16))
    assert ("serving capacity at TTFT p99 <= 2000 ms and TPOT p99 <= 200 ms (16 output tokens) not measured (run "
            "`tradeoff bench SmolLM2-135M --backend eager --workload server --ttft-ms 2000 --tpot-ms 200 --output-tokens 16`)"
            in "\n".join(recommendation_lines(unmeasured)))
    for seed in range(3):  # the store's order decides nothing
        shuffled = served[:]
        random.Random(seed).shuffle(shuffled)
        again = build_comparison(shuffled, refs, "bert-base-uncased", decision=DecisionSettings(qps=2, p99_ms=1000, output_tokens=8))
        assert recommendation_lines(again) == recommendation_lines(c)
    table = {r[""]: r for r in summary_table(c)[1]}
    row = table["max QPS at TTFT p99 <= 2000 ms, TPOT p99 <= 200 ms, 8 output tokens [eager, max batch 8]"]
    assert row["SmolLM2-135M"] == "3 [2.5, 3.6] queries/s" and row["bert-base-uncased"] == "-"
    from tradeoff.report.plots import _load_bounds, _load_curves

    curves = _load_curves(c)
    assert {"SmolLM2-135M [eager] TTFT p99", "SmolLM2-135M [eager] TPOT p99", "bert-base-uncased [eager]"} <= set(curves)
    assert [t for _, t in _load_bounds(c)] == ["TPOT bound 200 ms", "p99 bound 1000 ms", "TTFT bound 2000 ms"]
    assert "TTFT p99" in write_html(c, tmp_path / "r.html").read_text()


def test_markdown(records):
    md = to_markdown(comparison(records))
    assert "## Claimed vs measured" in md and "| layers |" in md
    assert md.index("## Decision") < md.index("## Summary")  # the answer first
    assert "| candidate | latency p50 | memory | quality | verdict |" in md


def test_html_is_self_contained_and_atomic(records, tmp_path):
    out = write_html(comparison(records), tmp_path / "report.html")
    html = out.read_text()
    assert "<script src=" not in html and "Plotly.newPlot" in html
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def xss_records(records, tmp_path):
    """A model folder and a data name carrying markup, as a user could supply them."""
    import json

    from report_records import bench, evaluation

    folder = tmp_path / "<img src=x onerror=alert(1)>"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
                                                    "num_attention_heads": 4, "intermediate_size": 64, "vocab_size": 100}))
    name = folder.name
    evil = evaluation(name, 0.7, data="/data/</script><script>alert('data')<\\script>.jsonl")
    return [*records, bench(name, "eager", 5.0, 100.0), evil], [*MODELS, str(folder)], name


def test_html_escapes_user_strings(records, tmp_path):
    recs, models, name = xss_records(records, tmp_path)
    html = render_html(build_comparison(recs, models, "bert-base-uncased",
                                        quality_baseline="all-mpnet-base-v2"))
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(" not in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_report_renders_in_headless_chromium(records, tmp_path):
    from playwright.sync_api import sync_playwright

    recs, models, name = xss_records(records, tmp_path)
    comp = build_comparison(recs, models, "bert-base-uncased", quality_baseline="all-mpnet-base-v2")
    path = write_html(comp, tmp_path / "report.html")
    errors, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_selector("#fig-pareto .main-svg", timeout=20000)
        assert page.locator(".fig .main-svg").count() >= 4  # pareto, latency, memory, claims
        assert name in page.inner_text("#summary")
        assert page.inner_text("#decision-head").startswith("Decision (") and page.locator("#candidates tr").count() >= 3
        assert page.locator("#claims .verdict").count() >= 5
        browser.close()
    assert errors == [] and dialogs == []


def test_cannot_serve_is_read_from_the_trial_that_failed_not_only_from_the_bracket():
    """The search's top is the lowest rate that surely failed, or, when none did, one that failed at the p99's point
    estimate only (its lower limit within the bound). That one shows nothing: 'not settled', never 'cannot serve'."""
    from report_records import capacity

    def at_top(overloaded, p99_low_ms):
        r = capacity("distilbert-base-uncased", "eager", 20.0, 20.0, 40.0)
        trials = [*r.details["trials"][:2], {"rate": 40.0, "p99_ms": 110.0, "p99_low_ms": p99_low_ms, "p99_high_ms": 130.0,
                                             "overloaded": overloaded}]
        return r.model_copy(update={"details": {**r.details, "trials": trials}})

    def reason(r):
        c = build_comparison([r], ["distilbert-base-uncased"], "distilbert-base-uncased", decision=DecisionSettings(qps=50, p99_ms=100))
        return c.recommendation.verdicts[0].reasons[0]

    assert reason(at_top(False, 95.0)).startswith("not settled whether it serves 50 queries/s")
    assert reason(at_top(False, 104.0)).startswith("cannot serve 50 queries/s")
    assert reason(at_top(True, None)).startswith("cannot serve 50 queries/s")
