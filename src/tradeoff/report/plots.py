"""Figures of a comparison: plotly for the HTML report, matplotlib for PNG files."""
from __future__ import annotations

from pathlib import Path

from tradeoff.atomic import write_file
from tradeoff.report.table import MB

VERDICT_COLOURS = {"held": "#2e7d32", "not held": "#c62828", "inconclusive": "#f9a825", "not measurable here": "#9e9e9e"}


def plotly_figures(comparison) -> dict[str, dict]:
    """Figure name -> plotly figure as a dict (data + layout), ready to JSON-encode into the page."""
    import plotly.graph_objects as go

    figs = {}
    cands = [c for c in comparison.candidates if c.latency_ms is not None]
    if cands:
        frontier = {id(c) for c in comparison.recommendation.frontier}  # candidates exist, so a recommendation does
        use_quality = all(c.quality is not None for c in cands)
        y_of = (lambda c: c.quality) if use_quality else (lambda c: c.memory_mb)
        fig = go.Figure()
        for on, name, symbol in ((True, "Pareto frontier", "circle"), (False, "dominated", "x")):
            pts = [c for c in cands if (id(c) in frontier) == on]
            fig.add_trace(go.Scatter(x=[c.latency_ms for c in pts], y=[y_of(c) for c in pts], mode="markers+text",
                                     text=[c.label for c in pts], textposition="top center", name=name,
                                     marker={"size": 12, "symbol": symbol}))
        fig.update_layout(title="Latency vs " + ("quality" if use_quality else "memory"), xaxis_title="latency p50 (ms, log)",
                          xaxis_type="log", yaxis_title=comparison.quality_name if use_quality else "peak memory (MB)")
        figs["pareto"] = fig.to_plotly_json()
    if comparison.latency_samples:
        fig = go.Figure()
        for label, samples in comparison.latency_samples.items():
            fig.add_trace(go.Box(y=samples, name=label, boxpoints="outliers"))
        fig.update_layout(title="Latency distributions (each timed run)", yaxis_title="ms", yaxis_type="log")
        figs["latency"] = fig.to_plotly_json()
    curves = _load_curves(comparison)
    if curves:
        fig = go.Figure()
        for label, (rates, p99, low, high) in curves.items():
            fig.add_trace(go.Scatter(x=rates, y=p99, mode="lines+markers", name=label,
                                     error_y={"type": "data", "symmetric": False, "array": _bar(p99, high, +1),
                                              "arrayminus": _bar(p99, low, -1)}))
            open_top = [(r, v) for r, v, h in zip(rates, p99, high) if h is None]
            if open_top:
                fig.add_trace(go.Scatter(x=[r for r, _ in open_top], y=[v for _, v in open_top], mode="markers",
                                         marker={"symbol": "triangle-up", "size": 11}, name=f"{label}: upper end unbounded"))
        for bound, text in _load_bounds(comparison):
            fig.add_hline(y=bound, line_dash="dash", annotation_text=text)
        fig.update_layout(title=LOAD_TITLE, xaxis_title="offered load (queries/s, log)", xaxis_type="log",
                          yaxis_title="p99 latency (ms, log)", yaxis_type="log")
        figs["load"] = fig.to_plotly_json()
    mem = _memory_bars(comparison)
    if mem:
        fig = go.Figure()
        for series, values in mem.items():
            fig.add_trace(go.Bar(name=series, x=list(values), y=list(values.values())))
        fig.update_layout(title="Memory", yaxis_title="MB", yaxis_type="log", barmode="group")
        figs["memory"] = fig.to_plotly_json()
    if comparison.claims:
        counts = {}
        for c in comparison.claims:
            counts[c.verdict] = counts.get(c.verdict, 0) + 1
        fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker_color=[VERDICT_COLOURS[v] for v in counts]))
        fig.update_layout(title="Claim verdicts", yaxis_title="claims")
        figs["claims"] = fig.to_plotly_json()
    return figs


def write_pngs(comparison, folder: Path) -> list[Path]:
    """Static figures for papers and READMEs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    cands = [c for c in comparison.candidates if c.latency_ms is not None and c.memory_mb is not None]
    if cands:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        frontier = {id(c) for c in comparison.recommendation.frontier}
        for c in cands:
            ax.scatter(c.latency_ms, c.memory_mb, marker="o" if id(c) in frontier else "x", s=60)
            ax.annotate(c.label, (c.latency_ms, c.memory_mb), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set(xscale="log", yscale="log", xlabel="latency p50 (ms)", ylabel="peak memory (MB)", title="Speed vs memory (o = Pareto frontier)")
        written.append(_save(fig, folder / "pareto.png"))
    if comparison.latency_samples:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        labels = list(comparison.latency_samples)
        ax.boxplot([comparison.latency_samples[k] for k in labels])
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20, ha="right", fontsize=7)
        ax.set(yscale="log", ylabel="ms", title="Latency distributions")
        written.append(_save(fig, folder / "latency.png"))
    curves = _load_curves(comparison)
    if curves:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, (rates, p99, low, high) in curves.items():
            ax.errorbar(rates, p99, yerr=[_bar(p99, low, -1), _bar(p99, high, +1)], marker="o", capsize=3, label=label)
            open_top = [(r, v) for r, v, h in zip(rates, p99, high) if h is None]
            if open_top:
                ax.scatter(*zip(*open_top), marker="^", s=60, label=f"{label}: upper end unbounded")
        for (bound, text), style in zip(_load_bounds(comparison), ("--", ":", "-.", (0, (1, 4)))):
            ax.axhline(bound, ls=style, color="grey", label=text)
        ax.set(xscale="log", yscale="log", xlabel="offered load (queries/s)", ylabel="p99 latency (ms)", title="Latency vs load")
        ax.legend(fontsize=7)
        written.append(_save(fig, folder / "load.png"))
    plt.close("all")
    return written


LOAD_TITLE = "Latency vs load (p99 with its 95% interval; decoders: TTFT and TPOT p99; overloaded rates left out)"
# what a capacity search's trials are drawn by: an encoder's p99 latency; a decoder's TTFT and TPOT p99
LOAD_SERIES = {"p99": (("p99", "p99"),), "tokens": (("ttft_p99", "TTFT p99"), ("tpot_p99", "TPOT p99"))}


def _load_curves(comparison) -> dict[str, tuple[list, list, list, list]]:
    """Label -> (rates, p99, its low and high ends) over the trials that served every request; an unbounded end
    is None (drawn as no bar, the top marked as open), never the point. A decoder draws a TTFT and a TPOT curve."""
    from tradeoff.compare import serving_bound

    curves = {}
    for (model, backend), r in comparison.capacity.items():  # each capacity search's trials
        series = LOAD_SERIES[serving_bound(r)[0]]
        for key, name in series:
            points = sorted(((t["rate"], t[f"{key}_ms"], t[f"{key}_low_ms"], t[f"{key}_high_ms"]) for t in r.details.get("trials", [])
                             if not t["overloaded"] and t.get(f"{key}_ms") is not None), key=lambda p: p[0])
            if points:
                curves[f"{model} [{backend}]" + (f" {name}" if len(series) > 1 else "")] = tuple(map(list, zip(*points)))
    return curves


def _load_bounds(comparison) -> list[tuple[float, str]]:
    """The bounds the capacities were searched under, each once: p99 for encoders, TTFT and TPOT for decoders."""
    from tradeoff.compare import serving_bound

    out = {}
    for r in comparison.capacity.values():
        kind, *bound = serving_bound(r)
        if kind == "p99" and bound[0] is not None:
            out[bound[0], f"p99 bound {bound[0]:g} ms"] = None
        elif kind == "tokens":
            out[bound[0], f"TTFT bound {bound[0]:g} ms"] = out[bound[1], f"TPOT bound {bound[1]:g} ms"] = None
    return sorted(out)


def _memory_bars(comparison) -> dict[str, dict[str, float]]:
    """Series -> label -> MB: each candidate's measured peak beside each model's exact fp32 weights."""
    measured = {c.label: c.memory_mb for c in comparison.candidates if c.memory_mb and c.weights != "estimate"}
    weights = {m: comparison.anatomy[m].weight_bytes["fp32"] / MB for m in comparison.models}
    return {k: v for k, v in {"peak memory (measured)": measured, "weights fp32 (exact)": weights}.items() if v}


def _bar(points: list, ends: list, side: int) -> list[float]:
    """Error-bar lengths from each point to its end on `side` (+1 above, -1 below); 0 where the end is unbounded."""
    return [0.0 if e is None else max(0.0, side * (e - v)) for v, e in zip(points, ends)]


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    return write_file(path, lambda tmp: fig.savefig(tmp, dpi=120))
