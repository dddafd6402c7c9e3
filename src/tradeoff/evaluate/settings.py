"""Every setting of an eval cell, declared once in `EvalSettings`: each field's default and help text live here;
`tradeoff eval`'s options are generated from it (tradeoff.options), the Python API takes it, and study cells are
checked against its fields. Nothing heavy is imported, so the CLI can read these at start-up."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tradeoff.bench.backends import EVAL_NAMES
from tradeoff.evaluate.data import TEST_FRACTION
from tradeoff.options import check_names as check_fields, setting


@dataclass(frozen=True)
class HyperParams:
    """Fine-tuning (eval's finetune mode, and a distillation teacher without a trained head)."""

    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int | None = None  # tokens of a text read; None: the comparison's length (cell.max_length_for)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    patience: int = 2
    evals_per_epoch: int = 2
    mixed_precision: str = "no"  # no | fp16 | bf16: the matmuls' precision while training (weights stay fp32)


# The longest text read without --max-length, where every model's context is longer: one length for every model
# compared, so all read the same text (see cell.max_length_for).
MAX_LENGTH = 512
MAX_LENGTH_HELP = ("the tokens of each text every model reads, the same for all (decoders: of the text inside the prompt); "
                   f"default the shortest context among them, at most {MAX_LENGTH}.")
TEST_FRACTION_HELP = ("With one labelled file and no separate training or test data: "
                      "the share of its rows held out (stratified, fixed seed) as test rows, never trained on.")


@dataclass(frozen=True)
class EvalSettings:
    """One eval cell's settings; a cell's missing (or None) ones take these defaults."""

    data: str | None = setting(None, "Evaluation data: JSONL/CSV/Parquet, a folder of splits, a .txt (perplexity), or fine-foods[:train|test].",
                               flags=("--data", "-d"), required=True)
    task: str = setting("auto", "classification | regression | ner | perplexity (auto: from the data; real-valued labels are regression).")
    mode: str = setting("auto", "Comma list of checkpoint, finetune, probe (encoders), zero-shot, k-shot (decoders); each model runs the ones that apply.",
                        flags=("--mode", "-m"))
    metric: str = setting("auto", "The metric rows are judged and retained on: accuracy, macro_f1, f1 (two classes), mcc; pearson, spearman, mse (regression). auto: accuracy / pearson / entity_f1 / perplexity.")
    train: str | None = setting(None, "Training data (default: a folder's train split, or the rows of --data not held out as test rows).")
    test_fraction: float = setting(TEST_FRACTION, TEST_FRACTION_HELP)
    limit: int | None = setting(None, "Score a seeded subset of this many examples.")
    train_limit: int | None = setting(None, "Train on a seeded subset of this many examples.")
    seed: int = setting(0)
    epochs: int = setting(HyperParams.epochs, "Fine-tuning epochs.")
    lr: float = setting(HyperParams.lr)
    batch_size: int = setting(HyperParams.batch_size)
    max_length: int | None = setting(HyperParams.max_length, MAX_LENGTH_HELP.capitalize())
    patience: int = setting(HyperParams.patience, "Dev evaluations without improvement before stopping.")
    k: int = setting(4, "Demonstrations for k-shot.")
    calibrate: bool = setting(False, "Decoders: contextual calibration with a content-free input.")
    template: str | None = setting(None, "Decoder prompt with {text} (and optionally {choices}); default 'Text: {text}\\nSentiment:', for sentiment.")
    label_names: list[str] | None = setting(None, "Comma list of names for labels 0..K-1 (or the tag list for NER).", parse="csv")
    verbalisers: list[str] | None = setting(None, "Comma list of words a decoder scores per label.", parse="csv")
    text_column: str = setting("text")
    text_pair_column: str | None = setting(None, "Second text of a sentence pair (default: a text_pair column, if the data has one).")
    label_column: str = setting("label")
    label_range: str | None = setting(None, "Regression: LOW,HIGH the scores must lie in (e.g. 0,5 for STS-B).")
    tokens_column: str = setting("tokens")
    tags_column: str = setting("tags")
    window: int = setting(1024, "Perplexity: tokens per window.")
    stride: int = setting(512, "Perplexity: new tokens per window.")
    max_tokens: int | None = setting(None, "Perplexity: score only the first N tokens.")
    backend: str = setting("eager", f"Comma list for encoder classification: {', '.join(EVAL_NAMES)} (each reports its agreement with eager).",
                           parse="csv")
    data_sha256: str | None = setting(None, cli=False)  # set when a cell is planned: the data's content hash


def check_names(names) -> None:
    """An eval cell or call names EvalSettings' fields only: a typo is an error with its close matches."""
    check_fields(EvalSettings, names, "eval setting")


# Every setting an eval cell may hold, with its default: read from EvalSettings, declared nowhere else.
DEFAULTS = {f.name: f.default for f in dataclasses.fields(EvalSettings)}
