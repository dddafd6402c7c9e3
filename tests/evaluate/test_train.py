"""The shared training loop: it learns, it is seeded, and an interrupted run resumes to the same weights."""
from __future__ import annotations

import pytest
import torch

from tradeoff.models.load import load_pretrained, load_tokenizer
from tradeoff.train import fit


def _setup(folder, rows, batch_size=8):
    tok = load_tokenizer(str(folder))
    enc = tok([r["text"] for r in rows], padding=True, return_tensors="pt")
    data = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": torch.tensor(r["label"])}
            for i, r in enumerate(rows)]
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
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


class _DevLog:
    """Counts micro-batches through the loss and logs, at each dev check, the optimizer step it came after
    and the weights it saw; the dev metric is read from `values` in turn."""

    def __init__(self, grad_accum: int, values: list[float], micro_per_epoch: int = 0):
        self.grad_accum, self.values, self.micro, self.per_epoch = grad_accum, values, 0, micro_per_epoch
        self.steps, self.weights = [], []

    def step(self) -> int:
        """Optimizer steps so far; an epoch's last accumulation group may be shorter."""
        if not self.per_epoch:
            return self.micro // self.grad_accum
        epochs, rest = divmod(self.micro, self.per_epoch)
        return epochs * -(-self.per_epoch // self.grad_accum) + -(-rest // self.grad_accum)

    def loss(self, model, batch):
        self.micro += 1
        return _loss(model, batch)

    def eval_fn(self, model):
        self.steps.append(self.step())
        self.weights.append([p.detach().clone() for p in model.parameters()])
        return self.values[len(self.steps) - 1]


@pytest.mark.parametrize("grad_accum", [4, 8])
def test_dev_checks_are_counted_in_optimizer_steps_and_the_last_steps_are_kept(tiny_bert, sentiment_rows, grad_accum):
    loader = _setup(tiny_bert, sentiment_rows(64), batch_size=2)  # 32 micro-batches per epoch
    per_epoch = 32 // grad_accum  # optimizer steps per epoch: 8, or 4
    log = _DevLog(grad_accum, [0.5, 0.7, 0.6, 0.6, 0.65, 0.8])  # the final check is the best
    model = _model(tiny_bert)
    result = fit(model, loader, log.loss, epochs=3, lr=1e-3, grad_accum=grad_accum, eval_fn=log.eval_fn,
                 evals_per_epoch=2, progress=False)
    assert result.steps == 3 * per_epoch
    assert log.steps == [per_epoch // 2 * i for i in range(1, 7)]  # twice per epoch, the last at the end of training
    assert result.best_metric == 0.8
    assert all(torch.equal(a, b) for a, b in zip(log.weights[-1], model.parameters()))  # nothing thrown away


def test_a_final_dev_check_follows_the_last_scheduled_one(tiny_bert, sentiment_rows):
    loader = _setup(tiny_bert, sentiment_rows(48))  # 6 optimizer steps per epoch, 12 in all
    log = _DevLog(1, [0.5, 0.6, 0.9])
    model = _model(tiny_bert)
    result = fit(model, loader, log.loss, epochs=2, lr=1e-3, eval_fn=log.eval_fn, eval_every=5, progress=False)
    assert log.steps == [5, 10, 12]
    assert result.best_metric == 0.9
    assert all(torch.equal(a, b) for a, b in zip(log.weights[-1], model.parameters()))


def test_dev_checks_split_an_uneven_epoch_and_the_best_is_restored(tiny_bert, sentiment_rows):
    loader = _setup(tiny_bert, sentiment_rows(40), batch_size=4)  # 10 micro-batches: 4 steps with grad_accum 3
    log = _DevLog(3, [0.5, 0.9, 0.4, 0.3, 0.2, 0.1], micro_per_epoch=10)
    model = _model(tiny_bert)
    result = fit(model, loader, log.loss, epochs=3, lr=1e-3, grad_accum=3, eval_fn=log.eval_fn, evals_per_epoch=2,
                 progress=False)
    assert result.steps == 12  # each epoch ends on a one-batch accumulation group
    assert log.steps == [2, 4, 6, 8, 10, 12]  # step 4 is the epoch's end: 3 full groups and the last micro-batch
    assert result.best_metric == 0.9
    assert all(torch.equal(a, b) for a, b in zip(log.weights[1], model.parameters()))


def test_finetune_checks_the_dev_split_in_optimizer_steps_up_to_the_end(tiny_bert, sentiment_rows, monkeypatch, tmp_path):
    import tradeoff.train
    from tradeoff.evaluate.finetune import HyperParams, finetune
    from tradeoff.models.refs import parse_ref

    monkeypatch.setenv("TRADEOFF_CACHE", str(tmp_path))
    tok = load_tokenizer(str(tiny_bert))
    rows = sentiment_rows(44)  # 11 batches of 4: 11 optimizer steps
    train = [{**tok(r["text"]), "labels": r["label"]} for r in rows]
    real_fit, log = tradeoff.train.fit, _DevLog(1, [0.5, 0.6, 0.7, 0.8])

    def spy(model, batches, loss_fn, *, eval_fn, **kw):
        def counted(m, b):
            log.micro += 1
            return loss_fn(m, b)
        return real_fit(model, batches, counted, eval_fn=lambda m: (eval_fn(m), log.eval_fn(m))[1], **kw)

    monkeypatch.setattr(tradeoff.train, "fit", spy)
    hp = HyperParams(epochs=1, batch_size=4, patience=2, evals_per_epoch=2)
    _, _, info = finetune(parse_ref(str(tiny_bert)), "sequence-classification", ["neg", "pos"], train,
                          lambda m, t: 0.0, key="k", seed=0, hp=hp, progress=False, use_cache=False)
    assert info["steps"] == 11
    assert log.steps == [6, 11]  # the middle (rounded up) and the end, not every 11 // 2 = 5 micro-batches


def test_resuming_a_finished_run_returns_its_trained_weights(tiny_bert, sentiment_rows, tmp_path):
    loader = _setup(tiny_bert, sentiment_rows(48))  # 6 steps per epoch; the last checkpoint is the final step
    kw = dict(epochs=2, lr=1e-3, seed=3, progress=False, checkpoint_every=6, checkpoint_dir=tmp_path)
    trained = _model(tiny_bert)
    fit(trained, loader, _loss, **kw)
    again = _model(tiny_bert)
    result = fit(again, loader, _loss, **kw)
    assert result.resumed_from_step == 12 and result.steps == 12
    assert all(torch.equal(a, b) for a, b in zip(trained.parameters(), again.parameters()))
