"""One evaluation cell: (model, task, data, mode, seed, hyper-parameters) -> a Record with intervals.

The record keeps the per-example arrays a metric is computed from (`details.scores`), so any two
records on the same data can later be compared pairwise (retained %, McNemar) without re-running.
"""
from __future__ import annotations

import time
from pathlib import Path

from tradeoff.env import environment
from tradeoff.errors import BadInput
from tradeoff.evaluate import backend
from tradeoff.evaluate import data as data_mod
from tradeoff.evaluate.metrics import PRIMARY, metric_names, task_metrics
from tradeoff.evaluate.settings import DEFAULTS, MAX_LENGTH, HyperParams, check_names
from tradeoff.models.refs import ModelRef, context_length, parse_ref
from tradeoff.models.weights import availability, install_hint, weights_revision
from tradeoff.paths import usable_path
from tradeoff.record import Record

TASKS = ("classification", "regression", "ner", "perplexity")
ENCODER_MODES = ("checkpoint", "finetune", "probe")
DECODER_MODES = ("zero-shot", "k-shot")


def settings(cell: dict) -> dict:
    check_names(cell)
    s = {**DEFAULTS, **{k: v for k, v in cell.items() if v is not None}}
    for name in ("label_names", "verbalisers"):  # a study file may write a list as "a,b"
        if isinstance(s[name], str):
            s[name] = [x.strip() for x in s[name].split(",") if x.strip()]
    if not s["data"]:
        raise BadInput("no evaluation data given", "pass --data PATH (JSONL/CSV/Parquet, a folder of splits, a .txt, or fine-foods)")
    for name in ("data", "train"):
        if s[name]:
            usable_path(s[name], f"--{name}", "pass a shorter path to the data")
    for name in ("limit", "train_limit", "max_tokens", "max_length"):
        if s[name] is not None and int(s[name]) < 1:
            raise BadInput(f"{name} must be at least 1, got {s[name]}", "drop it to use all the data")
    data_mod.check_test_fraction(float(s["test_fraction"]))
    if s["data_sha256"] is not None and s["data_sha256"] != data_mod.source_sha256(s["data"], s["train"]):
        raise BadInput(f"{s['data']} changed since this cell was planned (its content hash differs)",
                       "plan it again (re-run the command) so the new content gets its own result")
    if s["task"] == "auto":
        s["task"] = data_mod.detect_task(s["data"], s["tokens_column"], s["label_column"])
    if s["task"] not in TASKS:
        raise BadInput(f"unknown task {s['task']!r}", f"use one of {', '.join(TASKS)}")
    if s["label_range"] is not None:
        if s["task"] != "regression":
            raise BadInput("--label-range applies to regression (real-valued scores)", "drop it, or use --task regression")
        s["label_range"] = _range(s["label_range"])
    names = metric_names(s["task"], 2)
    if s["metric"] != "auto" and s["metric"] not in names:
        raise BadInput(f"metric {s['metric']!r} is not reported for {s['task']}", f"use one of {', '.join(names)}")
    backend.check(s["backend"])
    return s


def _range(value) -> tuple[float, float]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        low, high = (float(x) for x in parts)
    except (TypeError, ValueError):
        raise BadInput(f"--label-range must be LOW,HIGH, got {value!r}", "e.g. --label-range 0,5 for STS-B") from None
    if not low < high:
        raise BadInput(f"--label-range {value!r} is empty", "LOW must be below HIGH, e.g. 0,5")
    return low, high


def resolve_mode(s: dict, role: str) -> str:
    """The mode a model runs in; auto picks fine-tuning for encoders and zero-shot for decoders."""
    mode, task = s["mode"], s["task"]
    if s.get("backend", "eager") != "eager" and (task != "classification" or role == "decoder"):
        raise BadInput(f"--backend {s['backend']} applies to encoder classification only",
                       "drop --backend (eager) for NER, perplexity and decoders")
    if task == "perplexity":
        if role != "decoder":
            raise BadInput("perplexity needs a decoder (causal LM)", "score encoders on classification or NER")
        return "perplexity"
    if role == "decoder":
        if task in ("ner", "regression"):
            raise BadInput(f"{task} is scored for encoders only", "use an encoder (BERT-like) model, or a classification task")
        mode = {"auto": "zero-shot"}.get(mode, mode)
        if mode not in DECODER_MODES:
            raise BadInput(f"mode {mode!r} does not apply to a decoder", f"use one of {', '.join(DECODER_MODES)}")
        return mode
    mode = {"auto": "finetune"}.get(mode, mode)
    if mode not in ENCODER_MODES or (task == "ner" and mode != "finetune"):
        allowed = ("finetune",) if task == "ner" else ENCODER_MODES
        raise BadInput(f"mode {mode!r} does not apply to an encoder on {task}", f"use one of {', '.join(allowed)}")
    return mode


def applicable(role: str, task: str, mode: str) -> bool:
    try:
        resolve_mode({"task": task, "mode": mode}, role)
        return True
    except BadInput:
        return False


def check_weights(ref: ModelRef, weights: str) -> None:
    """Honest labels: quality is only ever measured on real pretrained weights."""
    if weights != "pretrained":
        raise BadInput(f"task quality of {ref.name} with {weights} weights would be meaningless",
                       "evaluate real pretrained weights (weights='pretrained'); random weights are for speed and memory")
    state, hint = availability(ref)
    if state == "missing":
        raise BadInput(f"no pretrained weights for {ref.name} on this machine, so no accuracy can be measured "
                       "(random weights would give a meaningless number)", hint or install_hint(ref))


def validate_cell(model: str, cell: dict, weights: str = "pretrained") -> tuple[ModelRef, dict, str]:
    """Raise BadInput for an eval cell that cannot run, before any cell of a study runs.

    Returns the model's ref, the cell's full settings and the mode it runs in."""
    ref = parse_ref(model)
    s = settings(cell)
    mode = resolve_mode(s, ref.role())
    check_weights(ref, weights)
    return ref, s, mode


def max_length_for(models: list[str], asked: int | None = None) -> int:
    """The one length every model compared reads a text to, so all read the same text: `asked`, else the shortest
    context among them, at most MAX_LENGTH. A length some model cannot read is refused."""
    contexts = {ref.display: context_length(ref.config()) for ref in map(parse_ref, models)}
    if asked is None:
        return min([MAX_LENGTH, *filter(None, contexts.values())])
    over = {name: c for name, c in contexts.items() if c and int(asked) > c}
    if over:
        name, c = next(iter(over.items()))
        raise BadInput(f"--max-length {asked} exceeds {name}'s context of {c} tokens", f"use {min(over.values())} or less")
    return int(asked)


def identified(cell: dict) -> dict:
    """The cell with the content hash of its data, so a stored result is reused only for the same bytes."""
    if cell.get("data_sha256") or not cell.get("data"):
        return cell
    return {**cell, "data_sha256": data_mod.source_sha256(cell["data"], cell.get("train"))}


def run_cell(model: str, cell: dict, weights: str = "pretrained", *, save_dir: str | Path | None = None,
             progress: bool = False) -> Record:
    """Score `model` on the cell's task and data; bad input raises before any work (a crash while scoring is turned
    into the cell's error record by the executor, tradeoff.executors.run_here, like every unit's)."""
    ref, s, mode = validate_cell(model, cell, weights)
    if save_dir is not None and mode != "finetune":
        raise BadInput("--save keeps a fine-tuned model; this run does not fine-tune", "use --mode finetune with --save")
    check_save_dir(save_dir)
    hp = HyperParams(epochs=int(s["epochs"]), lr=float(s["lr"]), batch_size=int(s["batch_size"]),
                     max_length=max_length_for([model], s["max_length"]), patience=int(s["patience"]))
    record = Record(kind="eval", model=ref.name, weights="pretrained", cell=dict(cell), env=environment())
    started = time.perf_counter()
    scores, details = _run(ref, s, mode, hp, save_dir, progress)
    classes = len(details.get("label_names") or []) or None
    primary = PRIMARY[s["task"]] if s["metric"] == "auto" else s["metric"]
    details.update({"task": s["task"], "mode": mode, "seed": s["seed"], "seconds": round(time.perf_counter() - started, 1),
                    "primary_metric": primary, "model_revision": weights_revision(ref), "scores": scores})
    if mode == "finetune":
        details["hyper_parameters"] = {"epochs": hp.epochs, "lr": hp.lr, "batch_size": hp.batch_size,
                                       "max_length": hp.max_length, "patience": hp.patience,
                                       "weight_decay": hp.weight_decay, "warmup_ratio": hp.warmup_ratio}
    metrics = task_metrics(s["task"], scores, seed=int(s["seed"]), n_classes=classes)
    if primary not in metrics:
        raise BadInput(f"metric {primary!r} needs two classes; this data has {classes}", "drop --metric, or use accuracy")
    return record.model_copy(update={"metrics": metrics, "details": details})


def check_save_dir(save_dir) -> None:
    from tradeoff.evaluate.finetune import INFO_FILE

    if save_dir is None:
        return
    path = Path(save_dir).expanduser()
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not (path / INFO_FILE).is_file())):
        raise BadInput(f"--save {save_dir} exists and is not a tradeoff checkpoint folder", "pick a new folder name")


def _data_details(d, prefix: str = "") -> dict:
    return {f"{prefix}data": d.source, f"{prefix}sha256": d.sha256, f"{prefix}n": len(d)}


def _run(ref: ModelRef, s: dict, mode: str, hp, save_dir, progress: bool) -> tuple[dict, dict]:
    from tradeoff.evaluate import classification, decoder, inference, ner
    from tradeoff.models.load import load_pretrained, load_tokenizer

    seed = int(s["seed"])
    if s["task"] == "perplexity":
        corpus = data_mod.load_corpus(s["data"])
        model, tokenizer = load_pretrained(ref, task="causal-lm"), load_tokenizer(ref)
        scores, info = decoder.perplexity_windows(model, tokenizer, corpus.text, window=int(s["window"]),
                                                  stride=int(s["stride"]), max_tokens=s["max_tokens"])
        return scores, {"data": corpus.source, "sha256": corpus.sha256, "n": info["n_tokens_scored"], **info}

    needs_train = mode in ("finetune", "probe", "k-shot")
    rows = dict(needs_train=needs_train, test_fraction=float(s["test_fraction"]), limit=s["limit"],
                train_limit=s["train_limit"])
    if s["task"] == "ner":
        def load(source, split, names):
            return data_mod.load_tagging(source, split, s["tokens_column"], s["tags_column"], s["label_names"] or names)

        split = data_mod.train_test_split(load, s["data"], s["train"], **rows)
        train, test = split.train, split.test
        if train.tag_names != test.tag_names:
            raise BadInput("training and evaluation tag sets differ", "pass --label-names with the full tag list")
        scores, info = ner.finetune_and_predict(ref, train, test, seed=seed, hp=hp, progress=progress, save_dir=save_dir)
        return scores, {**_data_details(test), **_data_details(train, "train_"), **split.details(), **info}

    regression = s["task"] == "regression"

    def load(source, split, names):
        data = data_mod.load_classification(source, split, s["text_column"], s["label_column"], s["label_names"] or names,
                                            s["text_pair_column"], regression)
        if s["label_range"]:
            data_mod.check_range(data, *s["label_range"])
        return data

    split = data_mod.train_test_split(load, s["data"], s["train"], **rows)
    train, test = split.train, split.test
    if train is not None:
        classification.check_labels_match(train, test)
    if mode == "checkpoint":
        test = classification.in_checkpoint_labels(ref, test)
        pred, info = classification.evaluate_checkpoint(ref, test, hp.batch_size, hp.max_length, s["backend"])
    elif mode == "finetune":
        pred, info = classification.finetune_and_predict(ref, train, test, seed=seed, hp=hp, progress=progress,
                                                         save_dir=save_dir, backend=s["backend"])
    elif mode == "probe":
        pred, info = classification.probe(ref, train, test, seed=seed, batch_size=hp.batch_size, max_length=hp.max_length,
                                          backend=s["backend"])
    else:
        model, tokenizer = load_pretrained(ref, task="causal-lm"), load_tokenizer(ref)
        pred, info = decoder.classify(model, tokenizer, test, train=train, k=int(s["k"]) if mode == "k-shot" else 0, seed=seed,
                                      template=s["template"] or (decoder.DEFAULT_PAIR_TEMPLATE if test.pairs else decoder.DEFAULT_TEMPLATE), verbalisers=s["verbalisers"],
                                      calibrate=bool(s["calibrate"]), batch_size=max(1, hp.batch_size // 2), text_tokens=hp.max_length)
        if info.get("demonstrations"):  # name demonstrations by their source rows, like every other row set
            info["demonstration_rows"] = [train.rows[i] for i in info["demonstrations"]]
    if mode in ENCODER_MODES:  # a decoder counts its own, prompts cut to fit its context included
        info = {**info, "text_tokens": hp.max_length,
                "truncated_rows": inference.truncated_rows(load_tokenizer(ref), test.inputs, hp.max_length)}
    details = {**_data_details(test), "label_names": test.label_names, "pairs": test.pairs is not None, **split.details(), **info}
    if train is not None:
        details.update(_data_details(train, "train_"))
    if regression:
        return {"target": [float(y) for y in test.labels], "prediction": [float(p) for p in pred]}, details
    return {"y_true": list(map(int, test.labels)), "y_pred": [int(p) for p in pred]}, details
