"""Property-based checks: parsers never crash on arbitrary input, and intervals mean what they say."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeoff.errors import TradeoffError
from tradeoff.models import parse_ref
from tradeoff.stats import bootstrap


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_ref_parsing_never_crashes(text):
    """Any string is either a ref or a one-line TradeoffError: never another exception."""
    try:
        ref = parse_ref(text)
    except TradeoffError as e:
        assert "\n" not in e.one_line()
        return
    assert ref.kind in ("catalog", "hub", "folder", "gguf") and ref.name


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["bert-base-uncased", "BERT-BASE-UNCASED", " distilbert ", "meta-llama/Llama-2-7b-hf", "Llama-2-70B"]))
def test_catalog_aliases_resolve_case_and_space_insensitively(name):
    assert parse_ref(name).kind == "catalog"


@pytest.mark.parametrize("statistic,draw,truth", [
    (np.median, lambda rng, n: rng.lognormal(0.0, 0.3, n), 1.0),  # latency-like: skewed, true median e^0 = 1
    (np.mean, lambda rng, n: rng.binomial(1, 0.85, n), 0.85),     # accuracy-like: Bernoulli(0.85)
])
def test_bootstrap_intervals_cover_at_nominal_rate(statistic, draw, truth):
    """Over 200 synthetic experiments the 95% interval holds the true value 90-99% of the time."""
    rng = np.random.default_rng(0)
    hits = 0
    trials = 200
    for t in range(trials):
        low, high = bootstrap(statistic, draw(rng, 200), n_boot=400, seed=t)[1:]
        hits += low <= truth <= high
    assert 0.90 <= hits / trials <= 0.99, hits / trials


def test_paired_ratio_interval_covers_true_speedup():
    """A/B timings sharing per-round machine noise: the paired ratio interval covers the true 1.6x."""
    rng = np.random.default_rng(1)
    hits = 0
    for t in range(100):
        noise = rng.lognormal(0, 0.4, 60)  # the machine's load, shared by A and B within a round
        a = 1.6 * noise * rng.lognormal(0, 0.02, 60)
        b = 1.0 * noise * rng.lognormal(0, 0.02, 60)
        low, high = bootstrap(lambda x, y: np.median(x / y), a, b, n_boot=400, seed=t)[1:]
        hits += low <= 1.6 <= high
    assert hits >= 88


@pytest.mark.parametrize("rounds", [3, 4, 5, 6, 8])
def test_few_rounds_get_intervals_that_still_cover_at_95_percent(rounds):
    """A 32x128 call of BERT-base takes seconds, so a budget may allow only 3 rounds; the bootstrap of 3 timings is
    their [min, max] (75% coverage). The latency median and the paired speed-up must still cover 93%+."""
    from tradeoff.bench.paired import speedup
    from tradeoff.bench.timing import latency_metrics

    rng = np.random.default_rng(rounds)
    hits_p50 = hits_ratio = 0
    trials = 400
    for _ in range(trials):
        shared = rng.lognormal(0, 0.1, rounds)  # a round's machine state, shared by both calls
        base = 2.0 * shared * rng.lognormal(0, 0.05, rounds)
        model = 1.0 * shared * rng.lognormal(0, 0.05, rounds)
        p50 = latency_metrics(base, unit_scale=1.0)["latency_p50_ms"]
        hits_p50 += p50.low <= 2.0 <= p50.high
        r = speedup(base, model)
        hits_ratio += r.low <= 2.0 <= r.high
    assert hits_p50 / trials >= 0.93 and hits_ratio / trials >= 0.93, (hits_p50 / trials, hits_ratio / trials)
