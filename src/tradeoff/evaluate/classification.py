"""Sequence classification (and regression, for STS-B-style scores) three ways: score an already fine-tuned
checkpoint, fine-tune a head on the training split (early stopping on a held-out dev split), or fit a linear
probe on frozen embeddings. Text pairs are read as pairs throughout (`Classification.inputs`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from tradeoff.errors import BadInput
from tradeoff.evaluate import backend as backend_mod
from tradeoff.evaluate import inference
from tradeoff.evaluate.data import Classification, train_dev_split
from tradeoff.evaluate.finetune import cache_key, finetune
from tradeoff.evaluate.settings import HyperParams
from tradeoff.models.load import load_pretrained, load_tokenizer
from tradeoff.models.refs import ModelRef
from tradeoff.models.weights import require_weights


def _decide(logits: np.ndarray) -> np.ndarray:
    """The predicted class, or the predicted score of a one-output regression head."""
    return logits[:, 0] if logits.shape[-1] == 1 else logits.argmax(-1)


def predict(model, tokenizer, inputs: list, batch_size: int = 32, max_length: int | None = None) -> np.ndarray:
    return _decide(inference.logits(model, tokenizer, inputs, batch_size, max_length))


def predict_through(model, tokenizer, inputs: list, batch_size: int = 32, max_length: int | None = None,
                    backend: str = "eager") -> tuple[np.ndarray, dict]:
    """Predicted labels through `backend`, and (unless eager) how often they agree with eager's."""
    eager = predict(model, tokenizer, inputs, batch_size, max_length)
    if backend == "eager":
        return eager, {}
    forward = backend_mod.forward_fn(model, backend)
    ours = _decide(inference.logits(model, tokenizer, inputs, batch_size, max_length, forward=forward))
    return ours, {"backend": backend, **backend_mod.agreement(ours, eager)}


def dev_score(model, tokenizer, data: Classification, batch_size: int, max_length: int | None) -> float:
    """Early stopping's higher-is-better score: accuracy, or Pearson correlation for regression."""
    from tradeoff.evaluate.metrics import STATISTICS

    pred, true = predict(model, tokenizer, data.inputs, batch_size, max_length), np.asarray(data.labels)
    return STATISTICS["pearson"].fn(true, pred) if data.is_regression else float(np.mean(pred == true))


def evaluate_checkpoint(ref: ModelRef, data: Classification, batch_size: int = 32, max_length: int | None = None,
                        backend: str = "eager"):
    """Score a model whose classification head is already trained (e.g. a folder saved by --save)."""
    config = ref.config()
    trained = any(a.endswith("ForSequenceClassification") for a in (getattr(config, "architectures", None) or []))
    if not trained:
        raise BadInput(f"{ref.name} has no trained classification head",
                       "use --mode finetune (train one) or --mode probe (linear probe on embeddings)")
    outputs = 1 if data.is_regression else len(data.label_names)
    if config.num_labels != outputs:
        what = "a regression score" if data.is_regression else f"{len(data.label_names)} classes"
        raise BadInput(f"{ref.name} predicts {config.num_labels} output(s) but the data needs {what}",
                       "score it on data with the labels it was trained on")
    model = load_pretrained(ref, task="sequence-classification")
    return predict_through(model, load_tokenizer(ref), data.inputs, batch_size, max_length, backend)


def finetune_and_predict(ref: ModelRef, train: Classification, data: Classification, *, seed: int, hp: HyperParams,
                         progress: bool = True, save_dir=None, backend: str = "eager"):
    """Fine-tune on train (minus a seeded dev split for early stopping), then predict `data`."""
    from tradeoff.evaluate.finetune import save

    train_idx, dev_idx = train_dev_split(len(train), seed=seed)
    fit_part, dev = train.subset(train_idx), train.subset(dev_idx)
    tokenizer = load_tokenizer(ref)
    encodings = inference.encode(tokenizer, fit_part.inputs, hp.max_length)
    for enc, label in zip(encodings, fit_part.labels):
        enc["labels"] = label
    key = cache_key(ref, require_weights(ref), "sequence-classification", fit_part, seed, hp)
    model, tokenizer, info = finetune(ref, "sequence-classification", train.label_names, encodings,
                                      lambda m, tok: dev_score(m, tok, dev, hp.batch_size, hp.max_length), key=key, seed=seed,
                                      hp=hp, progress=progress)
    if save_dir is not None:
        save(model, tokenizer, save_dir, info)
        info = {**info, "saved_to": str(save_dir)}
    pred, scored = predict_through(model, tokenizer, data.inputs, hp.batch_size, hp.max_length, backend)
    return pred, {**info, **scored, "n_dev": len(dev), "dev_rows": dev.describe(listed=True), "fit_rows": fit_part.describe(),
                  "cache_key": key}


def probe(ref: ModelRef, train: Classification, data: Classification, *, seed: int, batch_size: int = 32,
          max_length: int | None = 128, C: float = 1.0, backend: str = "eager"):
    """Logistic regression (ridge regression for real-valued scores) on frozen mean-pooled embeddings: what the
    pretrained features know, in seconds.

    Through another backend the probe is trained and scored on that backend's embeddings (as it
    would be deployed), and compared with the eager probe's predictions."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model, tokenizer = load_pretrained(ref, task="base"), load_tokenizer(ref)

    def fit_predict(forward=None):
        x_train = inference.embeddings(model, tokenizer, train.inputs, batch_size, max_length, forward)
        x_test = inference.embeddings(model, tokenizer, data.inputs, batch_size, max_length, forward)
        head = Ridge(alpha=1 / C) if data.is_regression else LogisticRegression(C=C, max_iter=2000, random_state=seed)
        clf = make_pipeline(StandardScaler(), head)
        return clf.fit(x_train, train.labels).predict(x_test)

    info = {"n_train": len(train), "C": C, "embedding": "mean-pooled last hidden state" + (" of the pair" if data.pairs else "")}
    eager = fit_predict()
    if backend == "eager":
        return eager, info
    ours = fit_predict(backend_mod.forward_fn(model, backend))
    return ours, {**info, "backend": backend, **backend_mod.agreement(ours, eager)}


def in_checkpoint_labels(ref: ModelRef, data: Classification) -> Classification:
    """The data's labels renumbered into the checkpoint's own label ids (its `label2id`), so "great" is scored as the
    class the checkpoint calls "great", not as whatever sorted order gives. Integer labels (names "0", "1", ...) are
    taken as the checkpoint's ids; generic checkpoint names (LABEL_0, ...) name no classes. Names that differ are refused."""
    config = ref.config()
    names = [str(config.id2label[i]) for i in range(config.num_labels)] if getattr(config, "id2label", None) else []
    generic = all(n == f"LABEL_{i}" for i, n in enumerate(names))
    numbered = data.label_names == [str(i) for i in range(len(data.label_names))]
    if generic or numbered or names == data.label_names:
        return data
    if sorted(names) != sorted(data.label_names):
        raise BadInput(f"{ref.name} predicts classes {names} but the data's labels are {data.label_names}",
                       "score it on data with the labels it was trained on (or name them with --label-names)")
    relabel = [names.index(n) for n in data.label_names]
    return replace(data, labels=[relabel[y] for y in data.labels], label_names=names)


def check_labels_match(train: Classification, data: Classification) -> None:
    if train.label_names != data.label_names:
        raise BadInput(f"training labels {train.label_names} differ from evaluation labels {data.label_names}",
                       "use the same --label-names for both splits")


