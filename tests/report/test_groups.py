"""Quality groups that mean what they say: only seeds of one configuration are averaged, with an interval that
holds the seeds' spread; folder models with one basename stay apart; what a model did not read is shown."""
import json
import re

import numpy as np
import pytest
from report_records import bench, evaluation

from tradeoff.compare import _seed_bootstrap, scored_groups
from tradeoff.compare_plan import build_comparison
from tradeoff.models import parse_ref
from tradeoff.report.table import recommendation_lines, summary_table

MINI, SMOL = "all-MiniLM-L6-v2", "SmolLM2-135M"


def table(comparison) -> dict[str, dict]:
    return {r[""]: r for r in summary_table(comparison)[1]}


def _configured(record, seed=0, **cell):
    return record.model_copy(update={"cell": {**record.cell, "seed": seed, **cell},
                                     "details": {**record.details, "seed": seed}})


def test_runs_with_other_settings_are_not_averaged_as_seeds():
    small = _configured(evaluation(MINI, 0.60), train="/data/small.jsonl", epochs=1)
    big = _configured(evaluation(MINI, 0.90), seed=1, train="/data/big.jsonl", epochs=3)
    t = table(build_comparison([bench(MINI, "eager", 20.0, 300.0), small, big], [MINI], MINI))
    cells = {label: r[MINI] for label, r in t.items() if label.startswith("accuracy")}
    assert not any("seeds" in v for v in cells.values()), cells
    assert cells["accuracy, fine_foods (400 rows), finetune, epochs 1, train small.jsonl"].startswith("60.0%")
    assert cells["accuracy, fine_foods (400 rows), finetune, epochs 3, train big.jsonl"].startswith("90.0%")
    # A setting left at its default is that setting: these two are seeds of one configuration.
    implicit = evaluation(MINI, 0.70, mode="probe", errors="random")
    explicit = _configured(evaluation(MINI, 0.74, mode="probe", errors="random"), seed=1, epochs=3, k=4)
    [s] = scored_groups([implicit, explicit])
    assert len(s.records) == 2


def test_the_seeds_interval_holds_their_spread():
    runs = [_configured(evaluation(MINI, acc, mode="probe", seed=seed, errors="random"), seed=seed)
            for seed, acc in enumerate((0.60, 0.75, 0.90))]
    [s] = scored_groups(runs)
    # Three seeds 15 points apart: Student's t on 2 degrees of freedom, not the rows' +-4 points.
    assert s.value.value == pytest.approx(75.0)
    assert s.value.low < 60 and s.value.high > 90


def _simulated_seeds(rng, n_seeds: int, n_rows: int, mu: float, seed_sd: float, noise_sd: float) -> list[dict]:
    """A model right on a row when its ease u + the seed's luck a + noise e > 0: rows and seeds both vary."""
    ease = rng.normal(mu, 1.0, n_rows)
    luck = rng.normal(0.0, seed_sd, n_seeds)
    right = ease[None, :] + luck[:, None] + rng.normal(0.0, noise_sd, (n_seeds, n_rows)) > 0
    return [{"y_true": [1] * n_rows, "y_pred": row.astype(int).tolist()} for row in right]


def test_the_seed_mean_interval_covers_the_true_accuracy_95_percent_of_the_time():
    """Ten seeds whose spread is as large as the rows' error: resampling rows alone covered the truth 85% of the
    time. (Fewer bootstrap resamples than the default keep this quick; they only estimate the rows' variance.)"""
    from scipy.stats import norm

    mu, seed_sd, noise_sd = 0.8, 0.3, 0.5
    truth = norm.cdf(mu / np.sqrt(1 + seed_sd ** 2 + noise_sd ** 2))  # P(u + a + e > 0) over rows and seeds
    rng = np.random.default_rng(0)
    covered = []
    for i in range(400):
        seeds = _simulated_seeds(rng, 10, 150, mu, seed_sd, noise_sd)
        _, low, high = _seed_bootstrap("accuracy", [seeds], lambda m: m, seed=i, n_boot=300)
        covered.append(low <= truth <= high)
    assert np.mean(covered) >= 0.94, np.mean(covered)


def _folder(path, layers):
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": 384, "num_hidden_layers": layers, "num_attention_heads": 12,
        "intermediate_size": 1536, "vocab_size": 30522, "max_position_embeddings": 512}))
    return str(path)


def test_two_folders_with_one_basename_get_their_own_columns(tmp_path):
    a, b = _folder(tmp_path / "run-a" / "student", 3), _folder(tmp_path / "run-b" / "student", 6)
    na, nb = parse_ref(a).name, parse_ref(b).name
    records = [bench(na, "eager", 10.0, 200.0), bench(nb, "eager", 20.0, 300.0)]
    columns, rows = summary_table(build_comparison(records, [a, b], a))
    assert columns[1:] == [na, nb]
    layers = next(r for r in rows if r[""] == "layers")
    assert (layers[na], layers[nb]) == (3, 6)
    alone = build_comparison(records, [a, MINI], a)
    assert alone.models == ["student", MINI] and recommendation_lines(alone)[0].startswith("use ")


def test_rows_cut_to_the_max_length_are_counted_in_the_cell():
    cut = evaluation(MINI, 0.8, mode="probe")
    cut = cut.model_copy(update={"details": {**cut.details, "truncated_rows": 37, "text_tokens": 64}})
    t = table(build_comparison([bench(MINI, "eager", 20.0, 300.0), cut], [MINI], MINI))
    assert "37 of 400 rows cut at 64 tokens" in t["accuracy, fine_foods (400 rows), probe"][MINI]


def test_a_k_shot_latency_timed_on_shorter_inputs_says_so():
    shots = evaluation(SMOL, 0.8, mode="k-shot", errors="random")
    shots = shots.model_copy(update={"details": {**shots.details, "prompt_tokens": 610}})
    c = build_comparison([bench(SMOL, "eager", 213.0, 700.0, workload="generate"), shots], [SMOL], SMOL)
    [candidate] = c.candidates
    assert any(re.match(r"latency timed at 128 tokens, but its k-shot prompts hold 610", n) for n in candidate.notes)
