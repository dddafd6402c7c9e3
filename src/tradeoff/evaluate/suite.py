"""Several models (and modes) on one data set, in one table, with performance retained against a baseline.

Every cell is validated before the first one runs, so a typo in the third model fails in a second,
not after an hour of fine-tuning; the cells run through tradeoff.planner like all work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from tradeoff.errors import BadInput
from tradeoff.evaluate.cell import DECODER_MODES, ENCODER_MODES, check_weights, identified, max_length_for, resolve_mode, settings
from tradeoff.evaluate.metrics import mcnemar, primary_of, retained
from tradeoff.models.refs import display_names, parse_ref
from tradeoff.paths import usable_path
from tradeoff.record import Record


def _label(record: Record, shown: dict[str, str] | None = None) -> str:
    """"model:mode[@backend]", the model by its name in the records or, given `shown`, as display_names shows it."""
    backend = record.details.get("backend", "eager")
    model = (shown or {}).get(record.model, record.model)
    return f"{model}:{record.details.get('mode', record.cell.get('mode', '?'))}" + (f"@{backend}" if backend != "eager" else "")


@dataclass
class EvalResult:
    records: list[Record]
    baseline: str | None  # "model:mode" of the baseline row
    retained: dict[str, dict] = field(default_factory=dict)  # label -> {"retained": Metric, "mcnemar": {...}}

    @classmethod
    def of(cls, records: list[Record], base_label: str | None) -> "EvalResult":
        """The table of scored records, retained % against `base_label` (default: the first ok row)."""
        ok = [r for r in records if r.status == "ok"]
        base_label = base_label or (_label(ok[0]) if ok else None)
        return cls(records, base_label, compare_all(records, base_label))

    def table(self) -> tuple[list[str], list[dict]]:
        shown = display_names(r.model for r in self.records)
        base = next((_label(r, shown) for r in self.records if _label(r) == self.baseline), self.baseline)
        against = f"retained vs {base}"
        columns = ["model", "task", "mode", "metric", "value [95% CI]", "test rows", against, "McNemar p"]
        if any("agreement_with_eager" in r.details for r in self.records):
            columns.insert(3, "agrees with eager")
        rows = []
        for r in self.records:
            label = _label(r)
            task = r.details.get("task", r.cell.get("task", ""))
            if r.status != "ok":
                rows.append({"model": shown[r.model], "task": task, "mode": r.cell.get("mode", ""), "metric": r.status,
                             "value [95% CI]": r.error or ""})
                continue
            name = primary_of(r.details)
            comp = self.retained.get(label, {})
            agree = r.details.get("agreement_with_eager")
            cut = r.details.get("truncated_rows")
            rows.append({"model": shown[r.model], "task": task, "mode": r.details["mode"] + (f" @{r.details['backend']}" if agree is not None else ""),
                         "agrees with eager": f"{agree:.1f}%" if agree is not None else "", "metric": name.replace("_", " "),
                         "value [95% CI]": r.metrics[name].fmt(3),
                         "test rows": f"{r.details.get('n', '')}" + (f" ({cut} cut at {r.details.get('text_tokens')} tokens)" if cut else ""),
                         against: "baseline" if label == self.baseline else
                         (comp["retained"].fmt(3) if "retained" in comp else "-"),
                         "McNemar p": f"{comp['mcnemar']['p_value']:.3g}" if "mcnemar" in comp else ""})
        return columns, rows

    def test_rows_line(self) -> str:
        """Which rows every figure was scored on (count, source and how they were split off), for the table's title."""
        seen = dict.fromkeys(_rows_text(r) for r in self.records if r.status == "ok")
        return "test rows: " + (" | ".join(seen) if seen else "none scored")

    def as_json(self) -> dict:
        out = []
        for r in self.records:
            entry = r.model_dump()
            entry["details"] = {k: v for k, v in r.details.items() if k != "scores"}
            comp = self.retained.get(_label(r), {})
            entry["retained"] = comp["retained"].model_dump() if "retained" in comp else None
            entry["mcnemar"] = comp.get("mcnemar")
            out.append(entry)
        return {"baseline": self.baseline, "results": out}


def plan(models: list[str], cell: dict, modes: list[str]) -> list[tuple[str, dict]]:
    """(model, cell) pairs for every model x applicable mode x backend; raises BadInput if anything cannot run."""
    if not models:
        raise BadInput("no models given", "name at least one model, e.g. `tradeoff eval all-MiniLM-L6-v2 --data ...`")
    backends = cell.get("backend") or ["eager"]
    backends = list(dict.fromkeys([backends] if isinstance(backends, str) else backends))
    s = settings({**cell, "backend": backends[0]})
    for name in backends[1:]:
        settings({**s, "backend": name})
    # One max length for every model, so all read the same text (perplexity reads windows instead).
    same = {} if s["task"] == "perplexity" else {"max_length": max_length_for(models, s["max_length"])}
    cells = []
    for model in models:
        ref = parse_ref(model)
        role = ref.role()
        chosen = []
        for mode in modes:
            for name in backends:
                try:
                    chosen.append((resolve_mode({**s, "mode": mode, "backend": name}, role), name))
                except BadInput:
                    if len(modes) == 1 and len(backends) == 1:
                        raise
        if not chosen:
            raise BadInput(f"none of the modes {modes} with backends {backends} applies to {ref.name} ({role}) on {s['task']}",
                           "add a mode that fits it (encoders: finetune, probe, checkpoint; decoders: zero-shot, k-shot)")
        check_weights(ref, "pretrained")
        for mode, name in dict.fromkeys(chosen):
            cells.append((model, identified({**cell, **same, "task": s["task"], "mode": mode, "backend": name})))
    return cells


def plan_cells(models: list[str], cell: dict, modes: list[str] | None = None, baseline: str | None = None,
               save_dir=None, progress: bool = False) -> tuple[list, str | None]:
    """Every (model, mode, backend) as a Cell for the planner, and the baseline row's label (None: the first
    row scored). `save_dir` keeps the one fine-tuned model; it and `progress` are options, not part of a key."""
    from tradeoff.cells import Cell

    cells = plan(models, cell, modes or [cell.get("mode") or "auto"])
    finetunes = [c for c in cells if c[1]["mode"] == "finetune"]
    if save_dir is not None and len(finetunes) != 1:
        raise BadInput("--save needs exactly one fine-tuned model in the run", "run the model to keep on its own")
    if save_dir is not None:
        save_dir = str(usable_path(save_dir, "--save", "pass --save a shorter folder path"))
    base_label = _baseline_label(baseline, cells) if baseline else None
    return [Cell("eval", model, parse_ref(model).name, "pretrained", c,
                 options={"save_dir": save_dir if c["mode"] == "finetune" else None, "progress": progress})
            for model, c in cells], base_label


def _baseline_label(baseline: str, cells: list[tuple[str, dict]]) -> str:
    """`MODEL` or `MODEL:MODE` -> the label of the first matching cell."""
    model, sep, mode = baseline.rpartition(":")
    if not sep or mode not in (*ENCODER_MODES, *DECODER_MODES, "perplexity"):
        model, mode = baseline, ""
    name = parse_ref(model).name
    matches = [f"{parse_ref(m).name}:{c['mode']}" for m, c in cells
               if parse_ref(m).name == name and (not mode or c["mode"] == mode)]
    if not matches:
        raise BadInput(f"baseline {baseline} is not among the evaluated models and modes", "name one of them, e.g. MODEL or MODEL:MODE")
    return matches[0]


def _rows_text(r: Record) -> str:
    rows = r.details.get("test_rows")
    if rows:
        return f"{rows['n']} ({rows['split']})"
    return f"{r.details.get('n', '?')} of {r.details.get('data', '?')}"


def test_rows_id(r: Record) -> tuple:
    """Identity of the exact rows a record was scored on: paired statistics need the same rows, not the same count."""
    rows = r.details.get("test_rows")
    if rows:
        return ("rows", rows["rows_sha256"])
    # Records made before test_rows: their --limit subset was drawn with the run's own seed.
    limit = r.cell.get("limit")
    return ("file", r.details.get("sha256"), r.details.get("n"), limit, r.cell.get("seed", 0) if limit else None)


def compare_all(records: list[Record], base_label: str | None) -> dict[str, dict]:
    """Retained % (paired interval) and, for accuracy, McNemar's test against the baseline record."""
    base = next((r for r in records if _label(r) == base_label and r.status == "ok"), None)
    out = {}
    if base is None:
        return out
    for r in records:
        if r.status != "ok" or r is base or r.details.get("task") != base.details.get("task"):
            continue
        if test_rows_id(r) != test_rows_id(base):
            continue  # other rows: no paired comparison
        name = primary_of(base.details)
        if primary_of(r.details) != name:
            continue  # judged on another metric: no retained % between them
        a, b = r.details["scores"], base.details["scores"]
        try:
            comp = {"retained": retained(name, a, b, seed=int(r.details.get("seed", 0)))}
            if name == "accuracy":  # McNemar's test is about accuracy; next to F1 or MCC it would answer another question
                comp["mcnemar"] = mcnemar(a, b)
        except BadInput:
            continue  # not the same examples: no paired comparison
        out[_label(r)] = comp
    return out
