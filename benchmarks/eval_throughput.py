"""Eval throughput: tradeoff's scorer vs `transformers.pipeline(..., batch_size=32)` on SST-2 validation.

Same model, same fp32 weights, same texts; the predictions must be identical (the class
probabilities are compared too). tradeoff's scorer sorts texts by length and pads each batch to its
own longest text (half the tokens of the pipeline's random batches on SST-2), and skips the last
layer's work on tokens a BERT classifier never reads. Runs alternate
(tradeoff, pipeline, tradeoff, ...) so machine noise hits both alike, and the script prints the ratio
of median times with a bootstrap interval over the repeats.

    .venv/bin/python benchmarks/eval_throughput.py [--model DIR] [--data PATH] [--repeats 3] [--limit N]

Without --model it uses all-MiniLM-L6-v2 with a seeded (untrained) classification head: the speed and
the agreement check are the same as for a fine-tuned head; pass a folder saved by `tradeoff eval --save`
to use a trained one.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    from transformers import pipeline

    from tradeoff.evaluate import inference
    from tradeoff.evaluate.data import load_classification
    from tradeoff.models.load import load_pretrained, load_tokenizer
    from tradeoff.stats import bootstrap

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--data", default="../shared/data/sst2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()

    data = load_classification(args.data, limit=args.limit)
    torch.manual_seed(0)
    model = load_pretrained(args.model, task="sequence-classification", num_labels=len(data.label_names))
    tokenizer = load_tokenizer(args.model)
    clf = pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)
    label_ids = model.config.label2id

    def ours():
        logits = inference.logits(model, tokenizer, data.texts, batch_size=args.batch_size, max_length=512)
        return torch.softmax(torch.from_numpy(logits), -1).numpy()

    def theirs():
        out = clf(data.texts, batch_size=args.batch_size, truncation=True, max_length=512, top_k=None)
        probs = np.zeros((len(out), len(label_ids)))
        for row, scores in zip(probs, out):
            for s in scores:
                row[label_ids[s["label"]]] = s["score"]
        return probs

    ours(), theirs()  # warm-up: first-call allocations, thread pools
    times = {"tradeoff": [], "pipeline": []}
    preds = {}
    for _ in range(args.repeats):
        for name, fn in (("tradeoff", ours), ("pipeline", theirs)):
            start = time.perf_counter()
            preds[name] = fn()
            times[name].append(time.perf_counter() - start)
    agree = float(np.mean(preds["tradeoff"].argmax(-1) == preds["pipeline"].argmax(-1)))
    prob_diff = float(np.abs(preds["tradeoff"] - preds["pipeline"]).max())
    mix = np.bincount(preds["tradeoff"].argmax(-1), minlength=len(label_ids))
    t_ours, t_pipe = np.array(times["tradeoff"]), np.array(times["pipeline"])
    ratio, low, high = bootstrap(lambda a, b: np.median(b) / np.median(a), t_ours, t_pipe, paired=True, n_boot=1000)
    n = len(data)
    print(f"model {args.model}, {n} examples of {data.source}, batch {args.batch_size}, fp32, "
          f"{torch.get_num_threads()} threads, {args.repeats} alternating repeats")
    print(f"tradeoff : median {np.median(t_ours):.2f} s  ({n / np.median(t_ours):.0f} examples/s)")
    print(f"pipeline : median {np.median(t_pipe):.2f} s  ({n / np.median(t_pipe):.0f} examples/s)")
    print(f"identical predictions: {agree:.2%} (predicted classes {mix.tolist()}); "
          f"largest probability difference {prob_diff:.1e}")
    print(f"speed-up (pipeline time / tradeoff time): {ratio:.2f}x  [bootstrap over repeats: {low:.2f}, {high:.2f}]  "
          f"(target: at least 2x, {'met' if ratio >= 2 else 'NOT met'})")
    if agree < 1.0:
        raise SystemExit("predictions differ")


if __name__ == "__main__":
    main()
