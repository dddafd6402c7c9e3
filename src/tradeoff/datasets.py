"""Reading data files, shared by every stage that reads data (eval and distill through `evaluate.data`,
bench's real and server workloads): JSONL, JSON, CSV/TSV, Parquet, a `datasets.save_to_disk` folder, a folder
of split files, or the built-in offline fine-food reviews, each bad file refused in one line.

Only formats and sources live here; which rows are trained on and which are tested on is `evaluate.data`'s.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from pathlib import Path

from tradeoff.atomic import write_file
from tradeoff.errors import BadData, BadInput, first_line
from tradeoff.paths import cache_dir

SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
FINE_FOODS = "fine-foods"  # built-in source name; `fine-foods:train` / `fine-foods:test`
# Where R packages live on Debian/Ubuntu, and where scripts/setup.sh unpacks the .deb into the venv (no R
# needed); $TRADEOFF_MODELDATA_DIR points at any other unpacked modeldata package.
MODELDATA_DIRS = ("/usr/lib/R/site-library/modeldata", "/usr/local/lib/R/site-library/modeldata",
                  str(Path(sys.prefix) / "share/modeldata/usr/lib/R/site-library/modeldata"))
FINE_FOODS_LABELS = ["other", "great"]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def split_file(source: str | Path, split: str) -> Path:
    """A file for `split` ("train", "eval") inside a folder of split files, or the file itself."""
    path = Path(source).expanduser()
    if not path.exists():
        raise BadData(f"no such data file or folder: {source}", "check the path (JSONL, CSV, Parquet or a data folder)")
    if path.is_file() or is_datasets_dir(path):
        return path
    names = ["train"] if split == "train" else ["validation", "dev", "valid", "test"]
    for name in names:
        for suffix in SUFFIXES:
            if (path / f"{name}{suffix}").is_file():
                return path / f"{name}{suffix}"
    raise BadData(f"folder {source} has no {' / '.join(names)} file", f"add {names[0]}.jsonl, or pass the file itself")


def is_datasets_dir(path: Path) -> bool:
    return (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file()


def read_rows(source: str | Path, split: str = "eval") -> tuple[list[dict], str, str]:
    """(rows, resolved source, sha256) from a file, a folder of split files, or the built-in fine foods."""
    text = str(source)
    if text.startswith(FINE_FOODS):
        path = fine_foods_file(text.partition(":")[2] or ("train" if split == "train" else "test"))
    else:
        path = split_file(source, split)
    if is_datasets_dir(path):
        rows = _read_datasets_dir(path, split)
    else:
        rows = _read_file(path)
    if not rows:
        raise BadData(f"{path} holds no rows", "check that the file is not empty")
    return rows, str(path), sha256_of(path)


def _read_file(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadData(f"unsupported data file type {path.suffix or '(none)'}: {path.name}", f"use one of {', '.join(SUFFIXES)}")
    if suffix == ".parquet":
        import pandas as pd

        try:
            return pd.read_parquet(path).to_dict("records")
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise BadData(f"cannot read {path.name} as Parquet: {first_line(e)}", "check the file") from None
    raw = read_text(path, "point at a file with rows")
    if suffix in (".csv", ".tsv"):
        import csv
        import io

        return list(csv.DictReader(io.StringIO(raw), delimiter="\t" if suffix == ".tsv" else ","))
    if suffix == ".json" and raw.lstrip().startswith("["):
        try:
            rows = json.loads(raw)
        except json.JSONDecodeError as e:
            raise BadData(f"{path.name} is not valid JSON (line {e.lineno}: {e.msg})", "fix the file") from None
    else:
        rows = []
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise BadData(f"{path.name} line {n} is not valid JSON ({e.msg})", "one JSON object per line") from None
    if not all(isinstance(r, dict) for r in rows):
        raise BadData(f"{path.name} must hold JSON objects (one per row)", 'e.g. {"text": "...", "label": 1}')
    return rows


def read_text(path: Path, empty_hint: str) -> str:
    """A UTF-8 file's text; bytes that are not UTF-8, or nothing but white space, are refused in one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadData(f"{path.name} is not valid UTF-8 (byte {e.start})", "re-save the file as UTF-8") from None
    if not text.strip():
        raise BadData(f"{path} is empty", empty_hint)
    return text


def _read_datasets_dir(path: Path, split: str) -> list[dict]:
    try:
        import datasets  # Hugging Face's package (absolute import), not this module
    except ImportError:
        raise BadInput(f"{path} is a `datasets` folder but the datasets package is not installed",
                       "pip install datasets, or export the split to JSONL") from None
    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        names = ["train"] if split == "train" else ["validation", "dev", "test"]
        found = next((n for n in names if n in loaded), None)
        if found is None:
            raise BadData(f"{path} has splits {list(loaded)}, none of {names}", "pass a folder with the split you need")
        loaded = loaded[found]
    return [dict(r) for r in loaded]


def fine_foods_file(split: str) -> Path:
    """The fine-food reviews from Debian's r-cran-modeldata, read once with `rdata` and cached as JSONL."""
    if split not in ("train", "test"):
        raise BadInput(f"fine-foods has splits train and test, not {split!r}", "use fine-foods:train or fine-foods:test")
    target = cache_dir() / "data" / "fine_foods" / f"{split}.jsonl"
    if target.is_file():
        return target
    dirs = [os.environ["TRADEOFF_MODELDATA_DIR"]] if os.environ.get("TRADEOFF_MODELDATA_DIR") else MODELDATA_DIRS
    rdb = next((Path(d) / "data" / "Rdata.rdb" for d in dirs if (Path(d) / "data" / "Rdata.rdb").is_file()), None)
    if rdb is None:
        raise BadData("the built-in fine-foods data needs Debian's r-cran-modeldata package, which is not installed",
                      "`apt-get install r-cran-modeldata`, or pass a JSONL copy of the reviews as --data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata reads the tibble as a plain data.frame, which is all we need
        objects = _read_lazyload(rdb, {"train": "training_data", "test": "testing_data"}[split])
    rows = [{"text": str(t), "label": int(str(s) == "great")} for t, s in zip(objects["review"], objects["score"])]
    return write_file(target, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _read_lazyload(rdb: Path, name: str):
    """One object from an R lazy-load database (.rdx index + .rdb blobs), converted with `rdata`.

    Each blob is a 4-byte length, then (R's compression type 3) a type byte: Z = raw LZMA2 stream,
    2 = bzip2, 1 = zlib, 0 = none; type-1 files have zlib straight after the length.
    """
    import bz2
    import lzma
    import zlib

    import rdata

    def blob(data: bytes):
        kind = data[4:5]
        raw = {b"Z": lambda: lzma.decompress(data[5:], lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}]), b"2": lambda: bz2.decompress(data[5:]),
               b"1": lambda: zlib.decompress(data[5:]), b"0": lambda: data[5:]}.get(kind, lambda: zlib.decompress(data[4:]))()
        return rdata.conversion.convert(rdata.parser.parse_data(raw, expand_altrep=True))

    index = rdata.read_rds(rdb.with_suffix(".rdx"))
    offset, length = (int(x) for x in index["variables"][name])
    with open(rdb, "rb") as f:
        f.seek(offset)
        return blob(f.read(length))
