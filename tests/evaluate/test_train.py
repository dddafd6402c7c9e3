"""The shared training loop: it learns, it is seeded, and an interrupted run resumes to the same weights."""
from __future__ import annotations

import pytest
import torch

from tradeoff.models.load import load_pretrained, load_tokenizer
from tradeoff.train import fit


def _setup(folder, rows):
    tok = load_tokenizer(str(folder))
    enc = tok([r["text"] for r in rows], padding=True, return_tensors="pt")
    data = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": torch.tensor(r["label"])}
            for i, r in enumerate(rows)]
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
    return loader


def _loss(model, batch):
    return model(**batch).loss


def _model(folder):
    torch.manual_seed(0)  # the new classification head is drawn from the global RNG
    return load_pretrained(str(folder), task="sequence-classification", num_labels=2)


def test_fit_learns_and_is_seeded(tiny_bert, sentiment_rows):
    loader = _setup(tiny_bert, sentiment_rows(48))
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = _model(tiny_bert)
        result = fit(model, loader, _loss, epochs=12, lr=5e-3, seed=7, progress=False)
        runs.append((result, [p.detach().clone() for p in model.parameters()]))
        torch.manual_seed(999)  # fit must not depend on the caller's RNG state
    (r1, w1), (r2, w2) = runs
    assert r1.steps == 12 * len(loader) and r1.epochs_done == 12
    assert r1.losses == r2.losses
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))
    assert sum(r1.losses[-6:]) / 6 < 0.5 * sum(r1.losses[:6]) / 6
    assert r1.tokens > 0 and r1.tokens_per_s > 0


class _Crash(Exception):
    pass


@pytest.mark.parametrize("crash_at, checkpoint_step", [(11, 4), (15, 6)])  # mid-epoch; at an epoch boundary
def test_interrupted_run_resumes_to_the_same_weights(tiny_bert, sentiment_rows, tmp_path, crash_at, checkpoint_step):
    loader = _setup(tiny_bert, sentiment_rows(48))  # 6 batches, 3 optimizer steps per epoch
    kw = dict(epochs=3, lr=1e-3, seed=3, grad_accum=2, progress=False, checkpoint_every=2)
    reference = _model(tiny_bert)
    full = fit(reference, loader, _loss, **kw)

    calls = {"n": 0}

    def crashing_loss(model, batch):
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise _Crash
        return _loss(model, batch)

    with pytest.raises(_Crash):
        fit(_model(tiny_bert), loader, crashing_loss, checkpoint_dir=tmp_path, **kw)
    resumed_model = _model(tiny_bert)
    resumed = fit(resumed_model, loader, _loss, checkpoint_dir=tmp_path, **kw)
    assert resumed.resumed_from_step == checkpoint_step
    assert resumed.steps == full.steps
    assert resumed.losses == pytest.approx(full.losses, rel=1e-5)
    for a, b in zip(reference.parameters(), resumed_model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_early_stopping_keeps_the_best_weights(tiny_bert, sentiment_rows):
    loader = _setup(tiny_bert, sentiment_rows(48))
    scores = iter([0.5, 0.9, 0.4, 0.3, 0.2, 0.1])
    snapshots = []

    def eval_fn(model):
        snapshots.append([p.detach().clone() for p in model.parameters()])
        return next(scores)

    model = _model(tiny_bert)
    result = fit(model, loader, _loss, epochs=10, lr=1e-3, eval_fn=eval_fn, eval_every=2, patience=2, progress=False)
    assert result.best_metric == 0.9
    assert result.steps == 8  # evaluations at steps 2, 4, 6, 8; two without improvement after the best
    assert all(torch.equal(a, b) for a, b in zip(snapshots[1], model.parameters()))


def test_a_flat_start_does_not_stop_training_before_one_epoch(tiny_bert, sentiment_rows):
    loader = _setup(tiny_bert, sentiment_rows(48))
    result = fit(_model(tiny_bert), loader, _loss, epochs=3, lr=1e-3, eval_fn=lambda m: 0.5, eval_every=1, patience=1,
                 progress=False)
    assert result.steps == len(loader)  # stopped at the first evaluation allowed: the end of epoch 1


def test_bad_arguments_are_bad_input(tiny_bert, sentiment_rows):
    from tradeoff.errors import BadInput

    with pytest.raises(BadInput):
        fit(_model(tiny_bert), [], _loss, progress=False)
    with pytest.raises(BadInput):
        fit(_model(tiny_bert), _setup(tiny_bert, sentiment_rows(48)), _loss, mixed_precision="fp8", progress=False)
    with pytest.raises(BadInput):
        fit(_model(tiny_bert), _setup(tiny_bert, sentiment_rows(48)), _loss, patience=2, progress=False)
