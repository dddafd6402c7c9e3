"""A shallower student made from its teacher, the way DistilBERT was made.

The student has the teacher's architecture with fewer layers; its embeddings, kept layers, final
norm and head are copied from the teacher, so training starts from a model that already works
(Sanh et al. 2019: "taking one layer out of two"). Works for any family whose layers sit in one
ModuleList: BERT, RoBERTa, MPNet, MiniLM, DistilBERT, Llama and its relatives.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Sequence

from tradeoff.anatomy import _layer_stack
from tradeoff.atomic import write_folder
from tradeoff.errors import BadInput, UnsupportedArchitecture

LAYER_MAPS = ("alternate", "uniform", "first")


def layer_map(spec: str | Sequence[int], teacher_layers: int, k: int | None = None) -> list[int]:
    """Teacher layer indices the student keeps, in order.

    `alternate`: one layer out of two from the bottom (0, 2, 4, ...), DistilBERT's paper recipe.
    `uniform`: k layers spread evenly, first and last included (for 12 -> 6: 0,2,4,7,9,11, the
    released DistilBERT extraction). `first`: the bottom k. Or an explicit list such as "0,2,4,7,9,11".
    """
    if isinstance(spec, str) and spec.strip().lower() in LAYER_MAPS:
        name = spec.strip().lower()
        default_k = (teacher_layers + 1) // 2
        if k is None:
            k = default_k
        _check_k(k, teacher_layers)
        if name == "alternate":
            if k != default_k:
                raise BadInput(f"layer map 'alternate' keeps {default_k} of {teacher_layers} layers, not {k}",
                               "drop --layers, or use --layer-map uniform/first for another depth")
            return list(range(0, teacher_layers, 2))
        if name == "first":
            return list(range(k))
        if k == 1:
            return [0]
        return [round(i * (teacher_layers - 1) / (k - 1)) for i in range(k)]
    indices = _parse_list(spec)
    if k is not None and k != len(indices):
        raise BadInput(f"layer list {','.join(map(str, indices))} has {len(indices)} layers but {k} were asked for",
                       "drop --layers or make the list that long")
    _check_k(len(indices), teacher_layers)
    for i in indices:
        if not 0 <= i < teacher_layers:
            raise BadInput(f"layer index {i} is out of range: the teacher has layers 0..{teacher_layers - 1}",
                           "use indices below the teacher's depth")
    if any(b <= a for a, b in zip(indices, indices[1:])):
        raise BadInput(f"layer list {','.join(map(str, indices))} must be strictly increasing", "e.g. 0,2,4,7,9,11")
    return indices


def _parse_list(spec) -> list[int]:
    if isinstance(spec, str):
        try:
            return [int(x) for x in spec.split(",") if x.strip()]
        except ValueError:
            raise BadInput(f"unknown layer map {spec!r}",
                           f"use one of {', '.join(LAYER_MAPS)} or a comma-separated list such as 0,2,4") from None
    return [int(x) for x in spec]


def _check_k(k: int, teacher_layers: int) -> None:
    if k < 1:
        raise BadInput(f"a student needs at least one layer, got {k}", "pass --layers 1 or more")
    if k >= teacher_layers:
        raise BadInput(f"a student of {k} layers is not smaller than its {teacher_layers}-layer teacher",
                       f"pass --layers below {teacher_layers}")


def stack_name(model) -> str:
    """Qualified name of the model's layer list (bert.encoder.layer, model.layers, ...)."""
    stack = _layer_stack(model)
    if len(stack) != model.config.num_hidden_layers:
        raise UnsupportedArchitecture(f"cannot find the {model.config.num_hidden_layers} layers of {type(model).__name__}",
                                      "distill supports models whose layers sit in one list (BERT, RoBERTa, MPNet, DistilBERT, Llama...)")
    return next(name for name, m in model.named_modules() if m is stack)


def make_student(teacher, layers: Sequence[int]):
    """A copy of `teacher` (same class, task head included) keeping only `layers`, weights copied."""
    layers = list(layers)
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(layers)
    if isinstance(getattr(config, "layer_types", None), list):  # per-layer kinds (sliding/full attention)
        config.layer_types = [config.layer_types[i] for i in layers]
    student = type(teacher)(config).to(dtype=next(teacher.parameters()).dtype)
    prefix = stack_name(teacher) + "."
    source = teacher.state_dict()
    mapped = {}
    for key in student.state_dict():
        if key.startswith(prefix):
            index, rest = key[len(prefix):].split(".", 1)
            mapped[key] = source[f"{prefix}{layers[int(index)]}.{rest}"]
        else:
            mapped[key] = source[key]
    student.load_state_dict(mapped, strict=True)
    return student.train(teacher.training)


def save_model(model, tokenizer, folder: str | Path, provenance: dict | None = None) -> Path:
    """Write a Hugging Face folder (config + safetensors + tokenizer) atomically: all or nothing, so a crash
    never leaves a half-saved student."""
    folder = Path(folder)
    with write_folder(folder) as tmp:
        model.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if provenance:
            (tmp / "distill.json").write_text(json.dumps(provenance, indent=2))
    return folder
