"""ModelRef: the one parser for what a user types to name a model.

A ref is a catalog alias (`distilbert`, `llama-2-7b`), a hub id (`org/name`), a local folder with
`config.json`, or a `.gguf` file. Every kind yields an exact transformers config without
downloading weights; catalog entries work offline. A folder is named by its contents, not its path:
`name` is its basename plus a hash of its files, so two folders called `student`, or one trained again
in place, are two models with their own records (tables show the basename, see `display_names`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import socket
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from tradeoff.errors import BadConfig, BadInput, UnknownModel, UnsupportedArchitecture, first_line
from tradeoff.models import catalog
from tradeoff.paths import usable_path

RefKind = Literal["catalog", "hub", "folder", "gguf"]
Role = Literal["encoder", "decoder"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Bidirectional encoders we know; anything else with a causal-LM class is treated as a decoder.
ENCODER_TYPES = {"bert", "distilbert", "roberta", "xlm-roberta", "mpnet", "albert", "electra",
                 "deberta", "deberta-v2", "camembert", "modernbert", "ernie"}
# Sizes a config must state: a family default (e.g. BERT-base's 12 layers) is not this model's size.
_REQUIRED = ["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"]
# Fields that must be positive integers when present, under any of their family names.
_SIZE_FIELDS = ["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                "intermediate_size", "max_position_embeddings", "num_key_value_heads",
                "dim", "n_layers", "n_heads", "hidden_dim", "head_dim"]
_FOLDER_NAME = re.compile(r"(.+)@[0-9a-f]{8}")  # a folder model's name: basename@hash of its files
_WHAT = "name a catalog model (see `tradeoff models`), a hub id, a folder or a .gguf file"


@dataclass(frozen=True)
class ModelRef:
    text: str
    kind: RefKind
    name: str
    location: str  # hub id, folder path or gguf file path
    entry: catalog.CatalogEntry | None = None
    digest: str | None = None  # a folder's: sha256 over its files (see folder_digest)

    def config(self, trust_remote_code: bool = False):
        """The exact transformers config, validated; never touches weights."""
        if self.kind == "catalog":
            raw = dict(self.entry.config)
            return _validated(_config_from_dict(raw, self.text, trust_remote_code), self.text)
        if self.kind == "folder":
            return _validated(_config_from_dict(_read_config_json(Path(self.location)), self.text, trust_remote_code), self.text)
        if self.kind == "gguf":
            return _validated(_config_from_gguf(Path(self.location)), self.text)
        return _validated(_config_from_hub(self.location, trust_remote_code), self.text)

    def role(self, config=None) -> Role:
        return model_role(config or self.config())

    @property
    def display(self) -> str:
        """The readable name: a folder's basename, without the hash that `name` adds."""
        return Path(self.location).name if self.kind == "folder" else self.name


def parse_ref(text: str) -> ModelRef:
    """Turn user text into a ModelRef, or raise a one-line BadInput."""
    if text is None or not str(text).strip():
        raise BadInput("empty model reference", _WHAT)
    text = str(text).strip()
    path = usable_path(text, "model reference", _WHAT)
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            return ModelRef(text, "gguf", path.stem, str(path.resolve()))
        if path.is_file() and path.name == "config.json":
            path = path.parent
        if path.is_dir():
            if not (path / "config.json").is_file():
                ggufs = sorted(path.glob("*.gguf"))
                if len(ggufs) == 1:
                    return ModelRef(text, "gguf", ggufs[0].stem, str(ggufs[0].resolve()))
                raise BadConfig(f"folder {text} has no config.json", "point at a Hugging Face model folder (with config.json) or a .gguf file")
            digest = folder_digest(path)
            return ModelRef(text, "folder", f"{path.resolve().name}@{digest[:8]}", str(path.resolve()), digest=digest)
        raise BadInput(f"{text} is a file but neither a .gguf nor a config.json", "point at a model folder or a .gguf file")
    entry = catalog.lookup(text)
    if entry is not None:
        return ModelRef(text, "catalog", entry.name, entry.hub_id, entry)
    if text.startswith((".", "/", "~")) or text.endswith((".gguf", ".json")) or text.count("/") > 1:
        raise BadInput(f"no such file or folder: {text}", "check the path")
    if _HUB_ID.match(text):
        return ModelRef(text, "hub", text, text)
    raise UnknownModel(f"not a model reference: {text!r}", "use a catalog name (see `tradeoff models`), a hub id like org/name, a folder or a .gguf file")


def folder_digest(folder: Path) -> str:
    """sha256 over the name and content of every file at the top of a model folder (config, weights, tokenizer:
    what from_pretrained reads; hidden files and subfolders such as checkpoints are left out)."""
    digest = hashlib.sha256()
    try:
        for f in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            digest.update(f"{f.name}:{file_sha256(f)}\n".encode())
    except OSError as e:
        raise BadConfig(f"cannot read the files of {folder}: {first_line(e)}", "check the folder's permissions") from None
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, inode, times) in the cache dir: weights are large."""
    stat = path.stat()
    return _file_sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_ino}|{stat.st_mtime_ns}|{stat.st_ctime_ns}")


@functools.lru_cache(maxsize=256)
def _file_sha256(ident: str) -> str:
    from tradeoff.atomic import write_file
    from tradeoff.paths import cache_dir

    memo_path = cache_dir() / "file-hashes.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if ident not in memo:
        digest = hashlib.sha256()
        with open(ident.rsplit("|", 4)[0], "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        memo[ident] = digest.hexdigest()
        try:
            write_file(memo_path, json.dumps(memo))
        except OSError:  # a read-only cache only costs hashing again
            pass
    return memo[ident]


def display_names(names) -> dict[str, str]:
    """Each model name as shown beside the others: a folder model's basename, with its hash only where another
    model shown with it has the same basename."""
    base = {n: (m.group(1) if (m := _FOLDER_NAME.fullmatch(n)) else n) for n in names}
    shared = Counter(base.values())
    return {n: b if shared[b] == 1 else n for n, b in base.items()}


def context_length(config) -> int | None:
    """The most tokens the model reads at once (its position table, less RoBERTa-style models' padding offset)."""
    positions = next((v for v in (getattr(config, n, None) for n in ("max_position_embeddings", "n_positions")) if v), None)
    if positions and config.model_type in ("roberta", "xlm-roberta", "camembert", "mpnet"):
        return positions - 2  # positions are offset by padding_idx + 1
    return positions


def model_role(config) -> Role:
    if config.model_type in ENCODER_TYPES:
        return "encoder"
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if getattr(config, "is_encoder_decoder", False):
        raise UnsupportedArchitecture(f"encoder-decoder model type {config.model_type!r} is not supported yet",
                                      "use an encoder (BERT-like) or a decoder (GPT/Llama-like) model")
    if config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "decoder"
    raise UnsupportedArchitecture(f"model type {config.model_type!r} is neither a known encoder nor a causal LM",
                                  "tradeoff supports text encoders and decoders")


def _read_config_json(folder: Path) -> dict:
    path = folder / "config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BadConfig(f"{path} is not UTF-8 text", "use the config.json written by transformers") from None
    except json.JSONDecodeError as e:
        raise BadConfig(f"{path} is not valid JSON (line {e.lineno}: {e.msg})", "fix or re-download config.json") from None
    if not isinstance(raw, dict):
        raise BadConfig(f"{path} must hold a JSON object", "use the config.json written by transformers")
    return raw


def _config_from_dict(raw: dict, text: str, trust_remote_code: bool):
    from transformers import CONFIG_MAPPING

    model_type = raw.get("model_type")
    if not model_type:
        raise BadConfig(f"config of {text} has no model_type", "add \"model_type\" (e.g. \"bert\", \"llama\") to config.json")
    if model_type not in CONFIG_MAPPING:
        if raw.get("auto_map") and not trust_remote_code:
            raise UnsupportedArchitecture(f"{text} needs custom code (model_type {model_type!r}) and remote code is off",
                                          "review the code, then pass --trust-remote-code")
        raise UnsupportedArchitecture(f"unknown model_type {model_type!r} in {text}", "this transformers version does not know that architecture")
    _check_sizes(raw, text)
    config_class = CONFIG_MAPPING[model_type]
    for field in _REQUIRED:
        if field not in raw and config_class.attribute_map.get(field, field) not in raw:
            raise BadConfig(f"config of {text} is missing {field}", "add it to config.json (family defaults are not this model's sizes)")
    try:
        fields = {k: v for k, v in raw.items() if k != "model_type"}
        return config_class(**fields)
    except (TypeError, ValueError) as e:
        raise BadConfig(f"config of {text} is invalid: {first_line(e)}", "fix config.json") from None


def _check_sizes(raw: dict, text: str) -> None:
    for field in _SIZE_FIELDS:
        if field in raw and raw[field] is not None:
            v = raw[field]
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise BadConfig(f"config of {text}: {field} must be a positive integer, got {v!r}", "fix config.json")


def _validated(config, text: str):
    """Catch configs that instantiate but describe an impossible model."""
    hidden = getattr(config, "hidden_size", None)
    heads = getattr(config, "num_attention_heads", None)
    layers = getattr(config, "num_hidden_layers", None)
    for field, value in [("hidden_size", hidden), ("num_attention_heads", heads), ("num_hidden_layers", layers),
                         ("vocab_size", getattr(config, "vocab_size", None))]:
        if value is None:
            raise BadConfig(f"config of {text} is missing {field}", "fix config.json")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BadConfig(f"config of {text}: {field} must be a positive integer, got {value!r}", "fix config.json")
    if getattr(config, "head_dim", None) is None and hidden % heads:
        raise BadConfig(f"config of {text}: hidden_size {hidden} is not divisible by num_attention_heads {heads}", "fix config.json")
    kv = getattr(config, "num_key_value_heads", None)
    if kv is not None and heads % kv:
        raise BadConfig(f"config of {text}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}", "fix config.json")
    if hidden * layers > 10**8:
        raise BadConfig(f"config of {text} is absurdly large (hidden {hidden} x layers {layers})", "check the sizes in config.json")
    return config


def _config_from_gguf(path: Path):
    """Read only the GGUF header (metadata), mapped to a transformers config."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
    except Exception as e:  # gguf raises many types for a corrupt file
        raise BadConfig(f"cannot read GGUF header of {path.name}: {first_line(e)}",
                        "check that the file is a complete GGUF model") from None


_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's reading of HF_HUB_OFFLINE


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE), read now: huggingface_hub reads it once, at import."""
    return any((os.environ.get(v) or "").strip().upper() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache as huggingface_hub resolves it (HF_HUB_CACHE, then HF_HOME/hub), read
    now rather than at import, so a changed environment (or a test's) is honoured."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(os.path.expanduser(explicit)))
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                                     "huggingface")
    return Path(os.path.expandvars(os.path.expanduser(home))) / "hub"


def hub_reachable() -> bool:
    """Whether downloading from the hub may be tried: not offline by choice, and the hub answered."""
    return not hub_offline() and _hub_answers(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")


@functools.lru_cache(maxsize=4)
def _hub_answers(endpoint: str) -> bool:
    """One TCP connect with a 3 s timeout, once per process: an offline or firewalled machine fails at
    once instead of waiting through huggingface_hub's retries. Behind a proxy the proxy decides."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(endpoint)
    try:
        socket.create_connection((url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)), timeout=3).close()
        return True
    except OSError:
        return False


def _config_from_hub(hub_id: str, trust_remote_code: bool):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(hub_id, trust_remote_code=trust_remote_code, cache_dir=str(hub_cache_dir()),
                                          local_files_only=not hub_reachable())
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise UnsupportedArchitecture(f"{hub_id} needs custom code and remote code is off", "review the code, then pass --trust-remote-code") from None
        raise UnknownModel(f"cannot get the config of {hub_id}: {first_line(e)}", "check the id, or use a local folder") from None
    except OSError:
        raise UnknownModel(f"{hub_id} is not in the catalog and its config cannot be fetched (offline or unknown id)",
                           "use a catalog name (`tradeoff models`), a local folder with config.json, or a .gguf file") from None
