"""Task data: labelled examples, tagged sentences and text corpora read through `tradeoff.datasets` (JSONL, CSV/TSV,
Parquet, a `datasets.save_to_disk` folder, or the built-in offline fine-food reviews), validated up front so a bad
file fails in one line before any work, and split into train and test rows that cannot leak into each other.

Every data set carries the sha256 of what it was read from, so records say exactly which data scored them.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from tradeoff.datasets import (FINE_FOODS, FINE_FOODS_LABELS, fine_foods_file, is_datasets_dir, read_rows, read_text,
                               sha256_of, split_file)
from tradeoff.errors import BadData, BadInput


@dataclass
class Rows:
    """Examples read from one source, remembering which source rows they are, so every quality record can name
    its train, dev and test rows exactly (and a reviewer can check that they never overlap)."""

    source: str
    sha256: str
    rows: list[int]  # row numbers in the source (0-based), one per example
    split: str  # how these rows were chosen, in words

    fields: ClassVar[tuple[str, ...]] = ()

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, indices, split: str | None = None):
        idx = list(indices)
        picked = {f: [getattr(self, f)[i] for i in idx] for f in self.fields if getattr(self, f) is not None}
        return replace(self, **picked, rows=[self.rows[i] for i in idx], split=split or self.split)

    def without(self, indices, split: str):
        drop = set(indices)
        return self.subset([i for i in range(len(self)) if i not in drop], split)

    def describe(self, listed: bool = False) -> dict:
        """What a record says about these rows: source, content hash, count, how chosen, a hash of the exact rows and,
        when `listed` (test and dev sets, small enough to keep), the row numbers themselves."""
        ident = json.dumps([self.sha256, self.rows]).encode()
        out = {"source": self.source, "sha256": self.sha256, "n": len(self), "split": self.split,
               "rows_sha256": hashlib.sha256(ident).hexdigest()[:16]}
        return {**out, "rows": list(self.rows)} if listed else out

    def content_sha256(self) -> str:
        """Hash of the examples themselves (text and labels), for caches that must change when the content does."""
        payload = json.dumps([getattr(self, f) for f in self.fields] + [self.names], default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def normalised(self) -> list[str]:
        """Each example's text, case- and space-folded: equal strings are the same example for leak checks."""
        raise NotImplementedError

    @property
    def names(self) -> list[str]:
        raise NotImplementedError


@dataclass
class Classification(Rows):
    """Labelled texts (or text pairs, GLUE-style): class ids with their names or, with no names, real-valued
    scores for regression (STS-B)."""

    texts: list[str] = field(default_factory=list)
    labels: list = field(default_factory=list)  # class ids, or floats for regression
    label_names: list[str] = field(default_factory=list)  # empty for regression
    pairs: list[str] | None = None  # the second text of each pair

    fields: ClassVar[tuple[str, ...]] = ("texts", "pairs", "labels")

    @property
    def is_regression(self) -> bool:
        return not self.label_names

    @property
    def inputs(self) -> list:
        """What an encoder reads per example: a text, or a (text, text_pair) pair it tokenises as a pair."""
        return self.texts if self.pairs is None else list(zip(self.texts, self.pairs))

    def normalised(self) -> list[str]:
        if self.pairs is None:
            return [_fold(t) for t in self.texts]
        return [_fold(t) + " || " + _fold(p) for t, p in zip(self.texts, self.pairs)]

    @property
    def names(self) -> list[str]:
        return self.label_names


@dataclass
class Tagging(Rows):
    tokens: list[list[str]] = field(default_factory=list)
    tags: list[list[int]] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)

    fields: ClassVar[tuple[str, ...]] = ("tokens", "tags")

    def normalised(self) -> list[str]:
        return [_fold(" ".join(t)) for t in self.tokens]

    @property
    def names(self) -> list[str]:
        return self.tag_names


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class Corpus:
    text: str
    source: str
    sha256: str = ""
    meta: dict = field(default_factory=dict)


def source_sha256(*sources: str | Path | None) -> str:
    """Content hash of every file a cell reads, so an edited file at the same path makes a new cell, not a stale hit."""
    h = hashlib.sha256()
    for source in sources:
        if source is None:
            continue
        text = str(source)
        if text.startswith(FINE_FOODS):
            split = text.partition(":")[2]
            paths = [fine_foods_file(split)] if split else [fine_foods_file("train"), fine_foods_file("test")]
        else:
            path = Path(source).expanduser()
            if not path.exists():
                raise BadData(f"no such data file or folder: {source}", "check the path (JSONL, CSV, Parquet or a data folder)")
            paths = [path]
        for path in paths:
            h.update(sha256_of(path).encode())
    return h.hexdigest()[:16]


def _column(rows: list[dict], column: str, source: str) -> list:
    missing = [i for i, r in enumerate(rows) if column not in r]
    if missing:
        have = ", ".join(sorted(rows[missing[0]].keys())) or "none"
        raise BadData(f"{source}: row {missing[0] + 1} has no column {column!r} (columns: {have})",
                      "map your columns with --text-column / --label-column (or --tokens-column / --tags-column)")
    return [r[column] for r in rows]


def _label_index(values: list, label_names: list[str] | None, source: str) -> tuple[list[int], list[str]]:
    """Integer labels in range, and their names; string labels map through names (given or sorted)."""
    if all(isinstance(v, str) and not v.strip().lstrip("-").isdigit() for v in values):
        names = list(label_names) if label_names else sorted(set(values))
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise BadData(f"{source}: labels {unknown[:5]} are not among the label names {names}", "fix --label-names or the data")
        index = {n: i for i, n in enumerate(names)}
        return [index[v] for v in values], names
    try:
        ints = [int(v) for v in values]
        if any(float(v) != i for v, i in zip(values, ints)):
            raise ValueError
    except (TypeError, ValueError):
        raise BadData(f"{source}: labels must be integers or names, got e.g. {values[0]!r}", "use 0..K-1 or label strings; real-valued scores (e.g. STS-B) need --task regression") from None
    k = len(label_names) if label_names else max(ints) + 1
    bad = [v for v in ints if not 0 <= v < k]
    if bad:
        raise BadData(f"{source}: label {bad[0]} is out of range 0..{k - 1}",
                      "labels must be 0..K-1 where K is the number of --label-names")
    if k < 2:
        raise BadData(f"{source}: only one class ({k})", "a classification set needs at least two labels")
    return ints, list(label_names) if label_names else [str(i) for i in range(k)]


PAIR_COLUMN = "text_pair"  # read as the second text whenever a file has it (GLUE pair tasks)


def load_classification(source: str | Path, split: str = "eval", text_column: str = "text",
                        label_column: str = "label", label_names: list[str] | None = None,
                        pair_column: str | None = None, regression: bool = False) -> Classification:
    """Every row's text (and second text, from `pair_column` or a `text_pair` column) and its label: integer or
    string classes (names given or sorted), or with `regression` a real-valued score."""
    rows, resolved, sha = read_rows(source, split)
    if str(source).startswith(FINE_FOODS) and label_names is None:
        label_names = FINE_FOODS_LABELS
    texts = _texts(rows, text_column, resolved)
    column = pair_column or (PAIR_COLUMN if PAIR_COLUMN in rows[0] else None)
    pairs = _texts(rows, column, resolved) if column else None
    values = _column(rows, label_column, resolved)
    if regression:
        labels, names = _scores(values, resolved), []
    else:
        labels, names = _label_index(values, label_names, resolved)
    return Classification(resolved, sha, list(range(len(texts))), f"all of {Path(resolved).name}", texts, labels, names,
                          pairs)


def _texts(rows: list[dict], column: str, source: str) -> list[str]:
    texts = _column(rows, column, source)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()), None)
    if bad is not None:
        raise BadData(f"{source}: row {bad + 1} has no text in {column!r}", "every row needs non-empty text")
    return texts


def _scores(values: list, source: str) -> list[float]:
    """Real-valued regression targets (STS-B similarity), finite."""
    import math

    try:
        scores = [float(v) for v in values]
    except (TypeError, ValueError):
        raise BadData(f"{source}: regression labels must be numbers, got e.g. {values[0]!r}",
                      "use --task classification for class labels") from None
    bad = next((v for v in scores if not math.isfinite(v)), None)
    if bad is not None:
        raise BadData(f"{source}: label {bad} is not a finite number", "fix the data")
    return scores


def check_range(data: Classification, low: float, high: float) -> None:
    """Refuse regression targets outside the scale a task defines (STS-B: 0-5)."""
    bad = next((v for v in data.labels if not low <= v <= high), None)
    if bad is not None:
        raise BadData(f"{data.source}: score {bad} is outside {low:g}-{high:g}", f"scores for this task lie in {low:g}-{high:g}")


def load_tagging(source: str | Path, split: str = "eval", tokens_column: str = "tokens", tags_column: str = "tags",
                 tag_names: list[str] | None = None) -> Tagging:
    """Pre-tokenised sentences with BIO tags (strings, or integers with names from `tags.json` beside the file)."""
    rows, resolved, sha = read_rows(source, split)
    tokens = _column(rows, tokens_column, resolved)
    tags = _column(rows, tags_column, resolved)
    if tag_names is None and (Path(resolved).parent / "tags.json").is_file():
        tag_names = json.loads((Path(resolved).parent / "tags.json").read_text())
    for i, (tok, tag) in enumerate(zip(tokens, tags)):
        if not isinstance(tok, list) or not isinstance(tag, list) or len(tok) != len(tag):
            raise BadData(f"{resolved}: row {i + 1} needs lists of tokens and tags of equal length", "one tag per token")
    flat = [t for seq in tags for t in seq]
    if flat and all(isinstance(t, str) for t in flat):
        names = list(tag_names) if tag_names else ["O", *sorted(set(flat) - {"O"})]
        unknown = sorted(set(flat) - set(names))
        if unknown:
            raise BadData(f"{resolved}: tags {unknown[:5]} are not among the tag names", "fix tags.json beside the data (or --label-names), or the data")
        index = {n: i for i, n in enumerate(names)}
        ids = [[index[t] for t in seq] for seq in tags]
    else:
        if tag_names is None:
            raise BadData(f"{resolved}: integer tags need tag names", "pass --label-names or put tags.json beside the data")
        names = list(tag_names)
        bad = next((t for t in flat if not isinstance(t, int) or not 0 <= t < len(names)), None)
        if bad is not None:
            raise BadData(f"{resolved}: tag {bad!r} is out of range 0..{len(names) - 1}", "fix the data or the tag names")
        ids = [list(seq) for seq in tags]
    bad_name = next((n for n in names if n != "O" and not n.startswith(("B-", "I-"))), None)
    if bad_name is not None:
        raise BadData(f"{resolved}: tag {bad_name!r} is not BIO", "tags must be O, B-TYPE or I-TYPE")
    return Tagging(resolved, sha, list(range(len(tokens))), f"all of {Path(resolved).name}",
                   [[str(t) for t in seq] for seq in tokens], ids, names)


def load_corpus(source: str | Path) -> Corpus:
    """A plain UTF-8 text file (or a folder's validation/test text) for perplexity."""
    path = Path(source).expanduser()
    if path.is_dir():
        path = next((path / f"{n}.txt" for n in ("validation", "valid", "test") if (path / f"{n}.txt").is_file()), path)
    if not path.is_file():
        raise BadData(f"no such text file: {source}", "pass a UTF-8 .txt file (or a folder with validation.txt)")
    return Corpus(read_text(path, "perplexity needs some text"), str(path), sha256_of(path))


SPLIT_SEED = 0  # fixed: which rows are test rows never depends on the training seed
MIN_TEST_ROWS = 20
TEST_FRACTION = 0.2  # of one labelled file, held out as test rows


def check_test_fraction(fraction: float) -> None:
    if not 0 < fraction < 1:
        raise BadInput(f"--test-fraction must be between 0 and 1 (exclusive), got {fraction}",
                       "e.g. --test-fraction 0.2 holds out a fifth of a single labelled file for testing")


def has_separate_splits(source: str | Path) -> bool:
    """True for the built-in fine foods and for folders holding both a train file and an evaluation file."""
    if str(source).startswith(FINE_FOODS):
        return True
    path = Path(source).expanduser()
    if (path / "dataset_dict.json").is_file():
        splits = set(json.loads((path / "dataset_dict.json").read_text()).get("splits", []))
        return "train" in splits and bool(splits & {"validation", "dev", "test"})
    if not path.is_dir() or is_datasets_dir(path):
        return False
    try:
        return split_file(path, "train") != split_file(path, "eval")
    except BadData:
        return False


def _sample(n: int, limit: int | None) -> list[int]:
    """A seeded random subset, the same one for every model and every training seed."""
    if not limit or limit >= n:
        return list(range(n))
    return sorted(random.Random(SPLIT_SEED).sample(range(n), limit))


def held_out_indices(strata: list | None, n: int, fraction: float) -> list[int]:
    """Test positions for a seeded, stratified hold-out: `fraction` of each class (of all rows without strata)."""
    groups: dict = {}
    for i in range(n):
        groups.setdefault(strata[i] if strata is not None else 0, []).append(i)
    rng = random.Random(SPLIT_SEED)
    test = []
    for key in sorted(groups, key=str):
        members = groups[key]
        rng.shuffle(members)
        test += members[:round(len(members) * fraction)]
    return sorted(test)


@dataclass
class Split:
    train: Rows | None  # None when the mode trains nothing
    test: Rows
    overlap_removed: int = 0  # training rows dropped because their text is also a test row

    def details(self) -> dict:
        out = {"test_rows": self.test.describe(listed=True)}
        if self.train is not None:
            out.update({"train_rows": self.train.describe(), "overlap_removed_from_train": self.overlap_removed})
        return out


def train_test_split(load, source: str | Path, train_source: str | Path | None, *, needs_train: bool,
                     test_fraction: float = TEST_FRACTION, limit: int | None = None, train_limit: int | None = None) -> Split:
    """Train and test rows that cannot leak into each other.

    `load(source, split, names)` reads every row. With `train_source` the two files are used as they are (an
    identical file is refused); a folder of splits (or fine-foods) uses its train and evaluation files; a single
    labelled file gets a seeded, stratified held-out test split of `test_fraction`, the same for every mode, so a
    zero-shot decoder and a fine-tuned encoder are scored on the same rows. Training rows whose text also occurs
    among the test rows are removed (and counted); a test set entirely inside the training data is refused.
    `limit` / `train_limit` take seeded subsets that do not depend on the training seed.
    """
    check_test_fraction(test_fraction)
    if train_source or has_separate_splits(source):
        train = load(train_source or source, "train", None) if needs_train else None
        test = load(source, "eval", train.names if train is not None else None)
        if train is not None and train.sha256 == test.sha256:
            raise BadInput(f"the training data {train.source} is the same file as the test data",
                           "pass a different --train, or drop --train to hold out a test split of --data")
    else:
        whole = load(source, "eval", None)
        test_idx = held_out_indices(getattr(whole, "labels", None), len(whole), test_fraction)
        how = f"{test_fraction:.0%} held out of {Path(whole.source).name}, stratified, seed {SPLIT_SEED}"
        test = whole.subset(test_idx, f"test: {how}")
        if len(test) < MIN_TEST_ROWS:
            raise BadData(f"{whole.source}: the held-out test split has {len(test)} rows (fewer than {MIN_TEST_ROWS})",
                          "use more labelled rows, a larger --test-fraction, or pass separate --train data")
        train = whole.without(test_idx, f"train: the rest of {Path(whole.source).name}") if needs_train else None
    if limit:
        test = test.subset(_sample(len(test), limit), f"{test.split}; {min(limit, len(test))} sampled, seed {SPLIT_SEED}")
    removed = 0
    if train is not None:
        test_texts, train_texts = set(test.normalised()), train.normalised()
        inside = [i for i, t in enumerate(train_texts) if t in test_texts]
        if inside and test_texts <= {train_texts[i] for i in inside}:
            raise BadInput(f"every test row of {test.source} also occurs in the training data {train.source}",
                           "score on rows the model does not train on (a separate test file, or drop --train)")
        if inside:
            train = train.without(inside, f"{train.split}; {len(inside)} rows also in the test set removed")
            removed = len(inside)
        if train_limit:
            train = train.subset(_sample(len(train), train_limit),
                                 f"{train.split}; {min(train_limit, len(train))} sampled, seed {SPLIT_SEED}")
    return Split(train, test, removed)


def train_dev_split(n: int, dev_fraction: float = 0.1, max_dev: int = 500, seed: int = 0) -> tuple[list[int], list[int]]:
    """Seeded split of training indices into train and a dev set for early stopping (never test rows)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    dev = max(1, min(max_dev, int(n * dev_fraction)))
    return sorted(order[dev:]), sorted(order[:dev])


def detect_task(source: str | Path, tokens_column: str = "tokens", label_column: str = "label") -> str:
    """perplexity for text files, ner for rows of tokens, regression for real-valued labels, classification otherwise."""
    text = str(source)
    if text.startswith(FINE_FOODS):
        return "classification"
    path = Path(source).expanduser()
    if path.suffix == ".txt" or (path.is_dir() and any((path / f"{n}.txt").is_file() for n in ("validation", "valid", "test"))):
        return "perplexity"
    rows, _, _ = read_rows(source)
    if tokens_column in rows[0]:
        return "ner"
    values = [r.get(label_column) for r in rows]
    real = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return "regression" if real and any(float(v) != int(v) for v in values) else "classification"
