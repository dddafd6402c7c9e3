"""What a bench run asks for, checked before any work: backends, devices, workloads and shapes.

Everything here is cheap and raises BadInput with a one-line hint, so a typo never costs a
model load or an ONNX export.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from tradeoff.bench import backends, decode_serving, serving
from tradeoff.bench.timing import SMALL_SAMPLE
from tradeoff.errors import BadInput
from tradeoff.options import setting

BACKENDS = backends.NAMES
DEVICES = ("cpu", "cuda")
# fixed: a BxS grid (batch 1 is MLPerf's single stream, large batches its offline throughput);
# real: batches of real sentences (their length distribution, padded); generate: decoder prefill + decode;
# server: Poisson arrivals through a dynamic batcher, and the most queries/s within a p99 bound (MLPerf's Server);
# single-stream / offline: MLPerf LoadGen's SingleStream (one real-length query at a time) and Offline (every query
# at once, in batches of max_batch) scenarios, one LoadGen run per model (so no paired speed-up).
WORKLOADS = ("fixed", "real", "generate", "server", "single-stream", "offline")
SCENARIOS = ("single-stream", "offline")
TEXT_WORKLOADS = ("real", "server", *SCENARIOS)  # the workloads whose requests have a data set's text lengths
SERVER_KEYS = ("dataset", "p99_ms", "max_wait_ms", "qps")  # what a server cell is, beside batch (its max batch) and seq_len
TOKEN_KEYS = ("output_tokens", "ttft_ms", "tpot_ms")  # and a decoder's, served token by token (instead of p99_ms)
PADDINGS = ("longest", "max_length")
DEFAULT_BACKENDS = backends.DEFAULT
DEFAULT_SHAPE = "1x128"  # BERT's usual serving shape: one request of 128 tokens
TIMING_KEYS = ("budget_s", "target", "min_duration_s", "min_queries", "serve_budget_s")  # optional in a contract cell: how hard to measure it
_SHAPE = re.compile(r"^\s*(-?\d+)\s*[xX×]\s*(-?\d+)\s*$")


def parse_list(text: str | list[str] | tuple[str, ...], known: tuple[str, ...], what: str) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    items = [str(i).strip() for i in items if str(i).strip()]
    if not items:
        raise BadInput(f"no {what} given", f"use one or more of {', '.join(known)}")
    for item in items:
        if item not in known:
            retired = backends.RETIRED.get(item) if what == "backend" else None
            raise BadInput(f"unknown {what} {item!r}", retired or f"use one or more of {', '.join(known)}")
    return list(dict.fromkeys(items))


def parse_shape(text: str) -> tuple[int, int]:
    """`32x128` -> (batch 32, sequence 128)."""
    m = _SHAPE.match(str(text))
    if not m:
        raise BadInput(f"malformed shape {text!r}", "write BATCHxSEQ, e.g. 1x128 or 32x128")
    batch, seq = int(m.group(1)), int(m.group(2))
    if batch <= 0 or seq <= 0:
        raise BadInput(f"malformed shape {text!r}: it needs a positive batch and sequence length", "e.g. 1x128")
    return batch, seq


def parse_shapes(text: str | list[str]) -> list[tuple[int, int]]:
    items = text.split(",") if isinstance(text, str) else [s for t in text for s in str(t).split(",")]
    items = [i for i in items if i.strip()]
    if not items:
        raise BadInput("no shape given", "write BATCHxSEQ, e.g. --shape 1x128,32x128")
    return list(dict.fromkeys(parse_shape(i) for i in items))


@dataclass(frozen=True)
class Grid:
    """What a bench measures (backends x devices x shapes x workloads, on which weights), declared once: each field is
    an option of `tradeoff bench` and a keyword of `api.bench`; a comma list is parsed by the plan, which checks it."""

    backend: str = setting(",".join(DEFAULT_BACKENDS), f"Comma list: {', '.join(backends.NAMES)}.")
    device: str = setting(DEVICES[0], f"Comma list: {', '.join(DEVICES)}.")
    shape: str = setting(DEFAULT_SHAPE, "Comma list of BATCHxSEQ, e.g. 1x128,32x128.")
    workload: str | None = setting(None, f"{' | '.join(WORKLOADS)}, or a comma list (default: fixed for encoders, "
                                         "generate for decoders).")
    pretrained: bool = setting(False, "Load real weights instead of random ones (must be available offline).",
                               flags=("--pretrained",))
    isolate: bool = setting(True, "Run each backend group in its own child process.", flags=("--isolate/--no-isolate",))

    @property
    def weights(self) -> str:
        return "pretrained" if self.pretrained else "random"


@dataclass(frozen=True)
class Settings:
    """How hard to measure, declared once (`tradeoff bench`'s options are generated from these fields): stop when
    the median's 95% interval is within ±target, or at budget_s, never before min_rounds (a cell whose rounds cost
    seconds takes its few rounds whatever the budget)."""

    budget_s: float = setting(15.0, f"Seconds of timing per cell; at least {SMALL_SAMPLE} interleaved rounds are always taken "
                                    "(the fewest that bound a median at 95%).", flags=("--budget",))
    target: float = setting(0.03, "Stop once every median's 95% interval is within this fraction (unless the budget is "
                                  "spent first); as many rounds are then timed again, and those are reported.")
    min_rounds: int = setting(SMALL_SAMPLE, cli=False)
    max_rounds: int = setting(1000, cli=False)
    warmup_s: float = setting(1.0, cli=False)
    threads: int | None = setting(None, "CPU threads, at most this machine's (default: the physical cores this process may "
                                        "use; recorded with every result).")
    seed: int = setting(0, cli=False)
    new_tokens: int = setting(32, "generate: tokens to decode.")
    padding: str = setting("longest", "real: pad each batch to its longest text, or to max_length (the shape's SEQ).")
    samples: int = setting(128, "real: texts per pass.")
    dataset: str = setting("sst2", "real, server, single-stream, offline: the texts whose lengths are used (sst2 validation, a JSONL/CSV file or a "
                                   "folder).", flags=("--data",))
    # server workload: the p99 bound, one fixed rate (None: search for the most the model sustains), the batcher
    p99_ms: float = setting(100.0, "server: the p99 latency bound (ms, queueing included) an encoder's capacity is searched under.")
    qps: float | None = setting(None, "server: one fixed arrival rate (queries/s) instead of searching for the most sustained.")
    max_batch: int = setting(8, "server, offline: the largest batch (the shape's SEQ truncates texts).")
    max_wait_ms: float = setting(5.0, "server: how long the oldest request may wait for a batch to fill.")
    min_duration_s: float = setting(serving.MIN_DURATION_S, "server, single-stream, offline: seconds per LoadGen run at least (and "
                                         "--min-queries queries; MLPerf: 600 s).", flags=("--min-duration",))
    min_queries: int = setting(serving.MIN_QUERIES, "server, single-stream, offline: queries per LoadGen run at least (400 is the fewest "
                                    "that bound p99's interval; LoadGen's early stopping accepts none under about 460).")
    serve_budget_s: float = setting(120.0, "server: seconds of trials per model for the capacity search.",
                                    flags=("--serve-budget",))
    # server workload, decoders: tokens generated per request, and the TTFT and TPOT p99 bounds (instead of p99_ms)
    output_tokens: int = setting(decode_serving.OUTPUT_TOKENS, "server, decoders: tokens every request generates (greedy, "
                                                               "EOS off), so a reply's cost is its length.")
    ttft_ms: float = setting(decode_serving.TTFT_MS, "server, decoders: the p99 bound on time to first token, from scheduled "
                                                     "arrival (ms; MLPerf's Llama 2 Server bound).")
    tpot_ms: float = setting(decode_serving.TPOT_MS, "server, decoders: the p99 bound on time per output token after the "
                                                     "first (ms; MLPerf's Llama 2 Server bound).")

    def check(self) -> "Settings":
        if self.budget_s <= 0:
            raise BadInput(f"--budget must be positive, got {self.budget_s}", "e.g. --budget 15 (seconds per cell)")
        if not 0 < self.target < 1:
            raise BadInput(f"--target must be a fraction in (0, 1), got {self.target}", "e.g. --target 0.03 for ±3%")
        if self.new_tokens < 2:
            raise BadInput(f"--new-tokens must be at least 2, got {self.new_tokens}", "decode needs tokens after the first")
        if self.threads is not None and self.threads <= 0:
            raise BadInput(f"--threads must be positive, got {self.threads}", "e.g. --threads 2")
        if self.threads is not None and threads_problem(self.threads):
            raise BadInput(f"--{threads_problem(self.threads)}", f"use --threads {usable_cpus()} or fewer")
        if self.samples <= 0:
            raise BadInput(f"--samples must be positive, got {self.samples}", "e.g. --samples 128")
        if self.padding not in PADDINGS:
            raise BadInput(f"unknown padding {self.padding!r}", f"use one of {', '.join(PADDINGS)}")
        serving.check(self.p99_ms, self.max_batch, self.max_wait_ms, self.qps, self.min_queries, self.min_duration_s, self.serve_budget_s)
        decode_serving.check(self.ttft_ms, self.tpot_ms, self.output_tokens)
        return self

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Cell:
    """One grid point; `as_dict` is the Record's `cell`, so its keys decide Record.key."""

    backend: str
    device: str
    workload: str
    batch: int
    seq_len: int
    threads: int | None  # None: decided when the cell runs (default_threads)
    extra: dict = field(default_factory=dict)  # new_tokens (generate), dataset/padding (real)

    def as_dict(self) -> dict:
        return {"backend": self.backend, "device": self.device, "workload": self.workload,
                "batch": self.batch, "seq_len": self.seq_len, "threads": self.threads, **self.extra}

    @classmethod
    def from_dict(cls, d: dict) -> "Cell":
        """Validate a contract-style cell dict (from a study file or another stage)."""
        if not isinstance(d, dict):
            raise BadInput(f"a bench cell must be a mapping, got {type(d).__name__}", "e.g. {'backend': 'eager', 'batch': 1, 'seq_len': 128}")
        known = {"backend", "device", "workload", "batch", "seq_len", "threads", "new_tokens", "dataset", "padding", "samples",
                 *SERVER_KEYS, *TOKEN_KEYS, *TIMING_KEYS}
        unknown = set(d) - known
        if unknown:
            raise BadInput(f"unknown bench cell keys: {', '.join(sorted(unknown))}", f"use {', '.join(sorted(known))}")
        backend = parse_list([d.get("backend", "eager")], BACKENDS, "backend")[0]
        device = parse_list([d.get("device", "cpu")], DEVICES, "device")[0]
        workload = parse_list([d.get("workload", "fixed")], WORKLOADS, "workload")[0]
        default_batch, default_seq = parse_shape(DEFAULT_SHAPE)
        batch, seq = parse_shape(f"{d.get('batch', default_batch)}x{d.get('seq_len', default_seq)}")
        threads = d.get("threads")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0):
            raise BadInput(f"threads must be a positive integer, got {threads!r}", "e.g. threads = 2")
        extra = {k: d[k] for k in ("new_tokens", "dataset", "padding", "samples", *SERVER_KEYS, *TOKEN_KEYS)
                 if k in d and d[k] is not None}
        if workload == "generate":
            extra.setdefault("new_tokens", Settings.new_tokens)
        if workload in TEXT_WORKLOADS:
            extra.setdefault("dataset", Settings.dataset)
        if workload == "real":
            extra.setdefault("padding", Settings.padding)
            extra.setdefault("samples", Settings.samples)
        if workload == "single-stream" and batch != 1:
            raise BadInput(f"a single-stream cell runs one query at a time, got batch {batch}",
                           "use batch = 1, or the offline workload for batches")
        if workload == "server":
            extra.setdefault("p99_ms", Settings.p99_ms)
            extra.setdefault("max_wait_ms", Settings.max_wait_ms)
            serving.check(extra["p99_ms"], batch, extra["max_wait_ms"], extra.get("qps"))
            if any(k in extra for k in TOKEN_KEYS):  # a decoder's cell: its token bounds, defaults filled in
                for k in TOKEN_KEYS:
                    extra.setdefault(k, getattr(Settings, k))
                decode_serving.check(extra["ttft_ms"], extra["tpot_ms"], extra["output_tokens"])
        return cls(backend, device, workload, batch, seq, threads, extra)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, else all)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_problem(threads: int) -> str | None:
    """Why `threads` cannot run here (more than the CPUs this process may use), or None: bad input on
    the command line, a skipped cell in a study (which may have been written for a larger machine)."""
    if threads > usable_cpus():
        return f"threads {threads} is more than the {usable_cpus()} CPUs this machine gives this process"
    return None


def default_threads() -> int:
    """The physical cores this process may use: the same on every run of the same command here.

    Hyper-threads rarely help dense matmuls. The count is part of a result's key, so it must not follow a
    moment's load: picked from the idle cores, a rerun under other load would re-time everything stored and
    could time one backend with 1 thread and another with 2. Load from other processes is
    measured during timing and flagged (`noise`), not dodged. `--threads` overrides; the count is recorded
    with every result.
    """
    import os

    import psutil

    return max(1, min(psutil.cpu_count(logical=False) or os.cpu_count() or 1, usable_cpus()))


def check_seq_len(model: str, seq_len: int, max_context: int, extra_tokens: int = 0) -> None:
    if max_context and seq_len + extra_tokens > max_context:
        what = f"sequence {seq_len}" + (f" + {extra_tokens} new tokens" if extra_tokens else "")
        raise BadInput(f"{what} exceeds {model}'s {max_context} positions", f"use a shape with at most {max_context - extra_tokens} tokens")


@dataclass
class Group:
    """JSON-able description of the work one (child) process does."""

    models: list[str]  # refs as the user wrote them
    backend: str
    device: str
    cells: list[dict]  # each becomes Record.cell verbatim; all share backend/device/workload
    weights: str = "random"
    baseline: str | None = None  # one of `models` (as written there)
    threads: int = 1
    settings: dict = field(default_factory=dict)

    def expected(self) -> list[tuple[str, dict]]:
        """(model ref, cell) of every per-model record this group should produce."""
        return [(m, c) for c in self.cells for m in self.models]
