"""Loss values on hand-made inputs, checked against the formulas written out by hand."""
import math

import pytest
import torch
import torch.nn.functional as F

from tradeoff.distill.losses import TaskLoss, TripleLoss, hidden_cosine, hidden_mse, soft_target_kl


def kl_by_hand(student, teacher, t):
    p = [math.exp(x / t) for x in teacher]
    q = [math.exp(x / t) for x in student]
    p = [x / sum(p) for x in p]
    q = [x / sum(q) for x in q]
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q)) * t * t


@pytest.mark.parametrize("t", [1.0, 2.0, 4.0])
def test_soft_target_kl_by_hand(t):
    s, te = [0.0, 0.0, 1.0], [math.log(3), 0.0, -1.0]
    got = soft_target_kl(torch.tensor([s]), torch.tensor([te]), t)
    assert got.item() == pytest.approx(kl_by_hand(s, te, t), rel=1e-5)
    assert soft_target_kl(torch.tensor([te]), torch.tensor([te]), t).item() == pytest.approx(0.0, abs=1e-7)


def test_soft_target_kl_averages_kept_rows():
    rows_s = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [9.0, -9.0]]])  # (batch 1, 3 positions, vocab 2)
    rows_t = torch.tensor([[[1.0, 0.0], [0.0, 0.0], [-9.0, 9.0]]])
    mask = torch.tensor([[1, 1, 0]])  # the third position is padding: it must not count
    want = (kl_by_hand([0, 0], [1, 0], 2.0) + kl_by_hand([2, 0], [0, 0], 2.0)) / 2
    assert soft_target_kl(rows_s, rows_t, 2.0, mask).item() == pytest.approx(want, rel=1e-5)


def test_hidden_cosine():
    a = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]])
    b = torch.tensor([[[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]]])  # parallel, orthogonal, opposite
    assert hidden_cosine(a, b).item() == pytest.approx((0 + 1 + 2) / 3)
    assert hidden_cosine(a, b, torch.tensor([[1, 1, 0]])).item() == pytest.approx(0.5)


def test_hidden_mse_pairs_copied_layers():
    student = [torch.zeros(1, 2, 2), torch.ones(1, 2, 2), torch.full((1, 2, 2), 2.0)]  # embeddings, layer 0, layer 1
    teacher = [torch.zeros(1, 2, 2)] + [torch.full((1, 2, 2), float(i)) for i in range(4)]  # layer i outputs i
    assert hidden_mse(student, teacher, [1, 2]).item() == pytest.approx(0.0)
    assert hidden_mse(student, teacher, [0, 3]).item() == pytest.approx((1 + 1) / 2)


def test_triple_loss_combines_terms(tiny):
    teacher, student = tiny("bert", layers=2, seed=0), tiny("bert", layers=2, seed=1).train()
    torch.manual_seed(0)
    batch = {"input_ids": torch.randint(1000, 2000, (2, 8)), "attention_mask": torch.ones(2, 8, dtype=torch.long)}
    batch["labels"] = torch.where(torch.rand(2, 8) < 0.3, batch["input_ids"], -100)
    batch["labels"][0, 0] = batch["input_ids"][0, 0]
    student.eval()  # no dropout, so the terms can be recomputed exactly
    with torch.no_grad():
        out = student(**batch, output_hidden_states=True)
        ref = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        want = (5 * soft_target_kl(out.logits, ref.logits, 2.0, batch["attention_mask"]) + 2 * out.loss
                + 1 * hidden_cosine(out.hidden_states[-1], ref.hidden_states[-1]))
        got = TripleLoss(teacher)(student, batch)
        assert got.item() == pytest.approx(want.item(), rel=1e-5)
        assert TripleLoss(None, kl=0, cos=0, lm=1)(student, batch).item() == pytest.approx(out.loss.item(), rel=1e-5)


def test_triple_loss_without_lm_head(tiny):
    """Head-less teachers (sentence encoders): cosine on hidden states only, on base models."""
    teacher, student = tiny("bert", layers=2, seed=0).bert, tiny("bert", layers=2, seed=1).bert
    batch = {"input_ids": torch.randint(1000, 2000, (2, 8)), "attention_mask": torch.ones(2, 8, dtype=torch.long),
             "labels": torch.full((2, 8), -100)}
    with torch.no_grad():
        want = hidden_cosine(student(batch["input_ids"]).last_hidden_state, teacher(batch["input_ids"]).last_hidden_state)
        assert TripleLoss(teacher, kl=0, lm=0, cos=1)(student, batch).item() == pytest.approx(want.item(), rel=1e-5)


def test_task_loss(tiny):
    teacher, student = tiny("bert", "classify", 4, seed=0), tiny("bert", "classify", 2, seed=1)
    batch = {"input_ids": torch.randint(1000, 2000, (3, 6)), "attention_mask": torch.ones(3, 6, dtype=torch.long),
             "labels": torch.tensor([0, 1, 1])}
    with torch.no_grad():
        s = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        t = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        ce = F.cross_entropy(s.logits, batch["labels"])
        kl = soft_target_kl(s.logits, t.logits, 3.0)
        mse = hidden_mse(s.hidden_states, t.hidden_states, [1, 3])
        assert TaskLoss(None, kl=0, ce=1)(student, batch).item() == pytest.approx(ce.item(), rel=1e-5)
        got = TaskLoss(teacher, temperature=3.0, kl=0.7, ce=0.3, mse=2.0, layers=[1, 3])(student, batch)
        assert got.item() == pytest.approx((0.7 * kl + 0.3 * ce + 2.0 * mse).item(), rel=1e-5)
