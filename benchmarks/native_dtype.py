"""Native dtype: scoring SST-2 validation in fp32 vs this machine's native low-precision path.

Which path: eager bf16 where bf16 has hardware support (AMX-BF16, AVX512-BF16), else ONNX Runtime
int8 where int8 has (VNNI, AMX-INT8), else bf16 anyway, labelled emulated (it runs, converted to
fp32 inside each kernel, so it is usually slower). `tradeoff.bench.hardware.native_dtypes` decides.

The model is all-MiniLM-L6-v2 with a logistic-regression probe on mean-pooled embeddings, trained
on fp32 embeddings of SST-2 train rows (train in fp32, serve in the low dtype: the deployment
question); or pass `--model DIR`, a classifier saved by `tradeoff eval --save`, to use its own
head. Passes alternate (fp32, low, low, fp32, ...) so machine noise hits both alike; the script
prints the median speed ratio with a bootstrap interval over repeats, and how often the low
dtype's predictions agree with fp32's (and each one's accuracy).

    .venv/bin/python benchmarks/native_dtype.py [--model DIR] [--data PATH] [--repeats 3] [--limit N] [--backend NAME]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def pick_backend() -> tuple[str, str]:
    """(eval backend, why) for the native low-precision path here."""
    from tradeoff.bench.hardware import native_dtypes

    native = native_dtypes()
    if native["bf16"][0]:
        return "eager-bf16", f"bf16 native ({native['bf16'][1]})"
    if native["int8"][0]:
        return "onnx-int8", f"int8 native ({native['int8'][1]}); bf16 not ({native['bf16'][1]})"
    return "eager-bf16", f"bf16 emulated ({native['bf16'][1]}); int8 not native either ({native['int8'][1]})"


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    from tradeoff.evaluate import inference
    from tradeoff.evaluate.backend import check, forward_fn
    from tradeoff.evaluate.data import load_classification
    from tradeoff.models.load import load_pretrained, load_tokenizer
    from tradeoff.models.refs import parse_ref
    from tradeoff.stats import bootstrap

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="a sentence encoder (probed) or a saved classifier folder")
    p.add_argument("--data", default="../shared/data/sst2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--limit", type=int, default=None, help="validation rows (default: all 872)")
    p.add_argument("--train-limit", type=int, default=2000, help="train rows for the probe")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--backend", default=None, help="eager-bf16 or onnx-int8 (default: this machine's native one)")
    args = p.parse_args()

    backend, why = (check(args.backend), "chosen with --backend") if args.backend else pick_backend()
    data = load_classification(args.data, "eval")
    texts, labels = data.texts[:args.limit], np.asarray(data.labels[:args.limit])
    tokenizer = load_tokenizer(args.model)
    architectures = parse_ref(args.model).config().architectures or []
    if not any("Classification" in a for a in architectures):  # a sentence encoder: a probe fitted on fp32 embeddings
        model = load_pretrained(args.model, task="base").eval()
        train = load_classification(args.data, "train")
        rng = np.random.default_rng(0)
        rows = rng.choice(len(train.texts), size=min(args.train_limit, len(train.texts)), replace=False)
        with torch.inference_mode():
            x = inference.embeddings(model, tokenizer, [train.texts[i] for i in rows], args.batch_size, 512)
        head = LogisticRegression(max_iter=2000).fit(x, np.asarray(train.labels)[rows])
        score = lambda forward: head.predict(inference.embeddings(model, tokenizer, texts, args.batch_size, 512, forward=forward))  # noqa: E731
        what = f"probe on mean-pooled embeddings ({len(rows)} train rows, fp32)"
    else:
        model = load_pretrained(args.model, task="sequence-classification").eval()
        score = lambda forward: inference.logits(model, tokenizer, texts, args.batch_size, 512, forward=forward).argmax(-1)  # noqa: E731
        what = "the saved classification head"
    low = forward_fn(model, backend)
    passes = {"fp32": lambda: score(None), backend: lambda: score(low)}
    with torch.inference_mode():
        for fn in passes.values():  # warm-up: first-call allocations, thread pools, an ONNX export
            fn()
        times = {name: [] for name in passes}
        preds = {}
        for r in range(args.repeats):
            for name in (list(passes) if r % 2 == 0 else list(passes)[::-1]):
                start = time.perf_counter()
                preds[name] = np.asarray(passes[name]())
                times[name].append(time.perf_counter() - start)
    t32, tlow = np.array(times["fp32"]), np.array(times[backend])
    ratio, lo, hi = bootstrap(lambda a, b: np.median(a / b), t32, tlow, paired=True, n_boot=1000)
    agree = float(np.mean(preds["fp32"] == preds[backend]))
    n = len(texts)
    print(f"model {args.model} ({what}), {n} examples of {data.source}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, {args.repeats} alternating repeats")
    print(f"low-precision path: {backend} ({why})")
    for name, t in (("fp32", t32), (backend, tlow)):
        acc = float(np.mean(preds[name] == labels))
        print(f"{name:>10}: median {np.median(t):.2f} s  ({n / np.median(t):.0f} examples/s), accuracy {acc:.1%}")
    print(f"speed ratio (fp32 time / {backend} time): {ratio:.2f}x  [bootstrap over repeats: {lo:.2f}, {hi:.2f}]")
    print(f"agreement with fp32 predictions: {agree:.2%} ({int(round(agree * n))}/{n})")


if __name__ == "__main__":
    main()
