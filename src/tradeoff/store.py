"""The results store: every Record ever measured, in one SQLite file, with where it came from.

Why SQLite: one file a user can copy or merge, WAL mode so readers never block the writer, and
one transaction per record, so a killed run loses at most the cell in flight and never leaves a
half-written record. Each row keeps the full Record as JSON (exact round trips) next to indexed
columns for queries and the provenance needed to trust a number later: tool version, the git
commit of the tradeoff checkout, an environment fingerprint, the model revision (weights or config
hash) and the data hash.

The file is marked with SQLite's `application_id` and carries its schema version in
`user_version`; older schemas are migrated in one transaction, while a file that is not a
tradeoff store, or comes from a newer tradeoff, is refused untouched.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, Iterator

from tradeoff.atomic import write_file
from tradeoff.errors import BadInput, Failure, first_line
from tradeoff.paths import usable_path
from tradeoff.record import Record

APPLICATION_ID = 0x7472_6466  # "trdf": marks the file as a tradeoff store
SCHEMA_VERSION = 1
RERUN_STATUSES = {"error"}  # a crash or transient failure is retried; ok / oom / skipped are results
PROVENANCE = ("tool_version", "git_commit", "env_fingerprint", "model_revision", "data_hash")
EXPORT_FORMATS = (".csv", ".json", ".parquet")

# MIGRATIONS[v] takes a store from schema v to v + 1 (v = 0 is an empty file).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE records (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        weights TEXT NOT NULL,
        status TEXT NOT NULL,
        cell TEXT NOT NULL,
        created TEXT NOT NULL,
        tool_version TEXT,
        git_commit TEXT,
        env_fingerprint TEXT,
        model_revision TEXT,
        data_hash TEXT,
        record TEXT NOT NULL
    );
    CREATE INDEX records_kind_model ON records (kind, model);
    """,
]
_SQLITE_MAGIC = b"SQLite format 3\x00"


def default_path() -> Path:
    """$TRADEOFF_STORE, else results.db in the user's data directory."""
    import platformdirs

    env = os.environ.get("TRADEOFF_STORE")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("tradeoff")) / "results.db"


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the tradeoff checkout that produced a record (None for an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=here,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def env_fingerprint(env: dict) -> str | None:
    """Short hash of the environment: records with the same fingerprint ran on the same setup."""
    if not env:
        return None
    return hashlib.sha256(json.dumps(env, sort_keys=True, default=str).encode()).hexdigest()[:16]


def provenance_of(record: Record, **given: str | None) -> dict[str, str | None]:
    """Provenance for a record: what the caller gives wins, then what the measurement put in details."""
    found = {
        "tool_version": record.tool_version,
        "git_commit": git_commit(),
        "env_fingerprint": env_fingerprint(record.env),
        "model_revision": record.details.get("model_revision") or record.details.get("weights_hash"),
        "data_hash": record.details.get("data_hash") or _data_hashes(record.details),
    }
    return {name: given.get(name) or found[name] for name in PROVENANCE}


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


@functools.lru_cache(maxsize=64)
def model_revision(model: str, weights: str) -> str | None:
    """What exactly was measured: a hash of the weight files for pretrained weights, else of the config.

    Never raises: provenance is best effort and must not lose a finished record.
    """
    from tradeoff.errors import TradeoffError
    from tradeoff.models.refs import file_sha256, parse_ref

    try:
        ref = parse_ref(model)
        if weights == "pretrained":
            from tradeoff.models.weights import local_weights

            folder = local_weights(ref, assemble=False)
            files = sorted(p for p in folder.rglob("*") if p.suffix in WEIGHT_SUFFIXES) if folder else []
            if not files:
                return None
            digest = hashlib.sha256()
            for f in files:
                digest.update(f"{f.relative_to(folder)}:{file_sha256(f)}\n".encode())
            return "weights:" + digest.hexdigest()[:16]
        config = {k: v for k, v in ref.config().to_dict().items() if k != "transformers_version" and not k.startswith("_")}
        return "config:" + hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]
    except (TradeoffError, OSError, ImportError, ValueError):
        return None


def _data_hashes(details: dict) -> str | None:
    """The sha256 of each data set a measurement read (evaluate puts them in details as *sha256)."""
    found = {k: v for k, v in sorted(details.items()) if k.endswith("sha256") and isinstance(v, str) and v}
    if len(found) <= 1:
        return next(iter(found.values()), None)
    return ",".join(f"{k.removesuffix('sha256').rstrip('_') or 'data'}={v}" for k, v in found.items())


class Store:
    """A results store. Open with `Store.open(path)`; use as a context manager or call `close()`."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self._conn = conn

    # ---- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path | None = None) -> "Store":
        path = usable_path(path, "results store path", "pass a shorter --store path") if path else default_path()
        if path.exists():
            _check_is_store(path)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise BadInput(f"cannot create results store {path}: {e.strerror}", "pass a writable --store path") from None
        try:
            conn = sqlite3.connect(path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a finished cell survives even a power cut
            _migrate(conn, path)
        except sqlite3.DatabaseError as e:
            raise BadInput(f"cannot open results store {path}: {e}", "check the file, or pass another --store") from None
        return cls(path, conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- records ----------------------------------------------------------------------------
    def put(self, record: Record, **provenance: str | None) -> None:
        """Insert or replace one record, atomically (one transaction)."""
        self._write(record, provenance_of(record, **provenance))

    def _write(self, record: Record, prov: dict[str, str | None]) -> None:
        row = (record.key, record.kind, record.model, record.weights, record.status, _canonical(record.cell),
               record.created, *[prov.get(n) for n in PROVENANCE], record.model_dump_json())
        with self._transaction():
            self._conn.execute(f"INSERT OR REPLACE INTO records VALUES ({', '.join('?' * len(row))})", row)

    def get(self, key: str) -> Record | None:
        row = self._conn.execute("SELECT record FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else Record.model_validate_json(row[0])

    def has(self, key: str) -> bool:
        return self._conn.execute("SELECT 1 FROM records WHERE key = ?", (key,)).fetchone() is not None

    def has_result(self, key: str) -> bool:
        """The planner's one rule (tradeoff.planner): an `ok`, `oom` or `skipped` record is a result and is
        reused; an `error` (a crash or transient failure) is not, so the work runs again."""
        status = self.status(key)
        return status is not None and status not in RERUN_STATUSES

    def status(self, key: str) -> str | None:
        row = self._conn.execute("SELECT status FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def provenance(self, key: str) -> dict[str, str | None] | None:
        row = self._conn.execute(f"SELECT {', '.join(PROVENANCE)} FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(zip(PROVENANCE, row))

    def query(self, kind: str | None = None, model: str | None = None, *, weights: str | None = None,
              status: str | None = None, **cell_filters: Any) -> list[Record]:
        """Records matching every given field; cell filters compare values as given or as text (CLI input)."""
        return [r for r, _ in self.rows(kind=kind, model=model, weights=weights, status=status, **cell_filters)]

    def rows(self, kind: str | None = None, model: str | None = None, *, weights: str | None = None,
             status: str | None = None, **cell_filters: Any) -> Iterator[tuple[Record, dict]]:
        """(record, provenance) pairs in creation order, filtered like `query`."""
        where, args = [], []
        for column, value in (("kind", kind), ("model", model), ("weights", weights), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT record, {', '.join(PROVENANCE)} FROM records"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created, key"
        for raw, *prov in self._conn.execute(sql, args).fetchall():
            record = Record.model_validate_json(raw)
            if all(_matches(record.cell.get(k), v) for k, v in cell_filters.items()):
                yield record, dict(zip(PROVENANCE, prov))

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM records").fetchone()[0]

    def integrity_check(self) -> str:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    # ---- merging, export, import ---------------------------------------------------------------
    def merge(self, pairs: Iterator[tuple[Record, dict]]) -> dict[str, int]:
        """Add records from elsewhere; for a key both hold, the newer record wins (ties keep ours)."""
        counts = {"added": 0, "replaced": 0, "kept": 0}
        for record, prov in pairs:
            mine = self._conn.execute("SELECT created FROM records WHERE key = ?", (record.key,)).fetchone()
            if mine is not None and mine[0] >= record.created:
                counts["kept"] += 1
                continue
            self._write(record, prov)
            counts["replaced" if mine else "added"] += 1
        return counts

    def import_from(self, source: str | Path) -> dict[str, int]:
        """Merge another store (.db) or an export of one (.json, .csv, .parquet)."""
        source = usable_path(source, "file to import", "pass a results store (.db) or an export with a shorter path")
        if not source.is_file():
            raise BadInput(f"no such file: {source}", "pass a results store (.db) or an export (.json, .csv, .parquet)")
        if source.resolve() == self.path.resolve():
            raise BadInput(f"cannot import {source} into itself", "pass another store")
        if source.suffix in EXPORT_FORMATS:
            return self.merge(iter(read_export(source)))
        with Store.open(source) as other:
            return self.merge(other.rows())

    def export(self, out: str | Path, **filters: Any) -> int:
        """Write records to .csv, .json or .parquet (atomically); returns how many."""
        out = usable_path(out, "export file", "pass a shorter file name")
        if out.suffix not in EXPORT_FORMATS:
            raise BadInput(f"cannot export to {out.name}: unknown format", f"name the file with one of {', '.join(EXPORT_FORMATS)}")
        pairs = list(self.rows(**filters))
        if out.suffix == ".json":
            payload = [{"key": r.key, "provenance": p, "record": r.model_dump(mode="json")} for r, p in pairs]
            write_file(out, json.dumps(payload, indent=2) + "\n")
        else:
            frame = flat_table(pairs)
            if out.suffix == ".csv":
                write_file(out, lambda tmp: frame.to_csv(tmp, index=False))
            else:
                _require_parquet()
                write_file(out, lambda tmp: frame.to_parquet(tmp, index=False))
        return len(pairs)

    @contextlib.contextmanager
    def _transaction(self):
        """All or nothing; a full disk or a locked file becomes one clear Failure, earlier records intact."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._conn.in_transaction:  # SQLite has already rolled back after e.g. SQLITE_FULL
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as e:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise Failure(f"cannot write to the results store {self.path}: {e}",
                          "free disk space (or fix permissions), then rerun: finished results are kept") from None


def flat_table(pairs: list[tuple[Record, dict]]):
    """One row per record: identity, provenance, cell coordinates, metric values and intervals, and
    the full record as JSON (so a CSV or Parquet export can be imported back exactly)."""
    import pandas as pd

    rows = []
    for record, prov in pairs:
        row = {"key": record.key, "kind": record.kind, "model": record.model, "weights": record.weights,
               "status": record.status, "error": record.error, "created": record.created, **prov}
        row.update({f"cell.{k}": v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)
                    for k, v in record.cell.items()})
        for name, m in record.metrics.items():
            row[f"{name} [{m.unit}]" if m.unit else name] = m.value
            if m.low is not None:
                row[f"{name}.low"], row[f"{name}.high"] = m.low, m.high
        row["record"] = record.model_dump_json()
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not rows:
        frame = pd.DataFrame(columns=["key", "kind", "model", "weights", "status", "error", "created", *PROVENANCE, "record"])
    return frame


def read_export(path: Path) -> list[tuple[Record, dict]]:
    """Records (with provenance) from a file written by `Store.export`."""
    from pydantic import ValidationError

    try:
        if path.suffix == ".json":
            items = json.loads(path.read_text(encoding="utf-8"))
            return [(Record.model_validate(item["record"]), {n: item["provenance"].get(n) for n in PROVENANCE})
                    for item in items]
        import pandas as pd

        if path.suffix == ".parquet":
            _require_parquet()
        frame = pd.read_csv(path, dtype=str, keep_default_na=False) if path.suffix == ".csv" else pd.read_parquet(path)
        out = []
        for row in frame.to_dict("records"):
            prov = {n: (row.get(n) or None) for n in PROVENANCE}
            out.append((Record.model_validate_json(row["record"]), prov))
        return out
    except (ValueError, KeyError, TypeError, ValidationError) as e:
        raise BadInput(f"{path} is not a tradeoff export ({first_line(e)})",
                       "import a file written by `tradeoff export`, or a results .db") from None


# ---- internals ---------------------------------------------------------------------------------
def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _matches(actual: Any, wanted: Any) -> bool:
    return actual == wanted or (actual is not None and str(actual) == str(wanted))


def _check_is_store(path: Path) -> None:
    """Refuse, without writing a byte, anything that is not an empty file or a tradeoff store we can read."""
    if path.is_dir():
        raise BadInput(f"results store {path} is a directory", "pass a file path, e.g. --store results.db")
    with open(path, "rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    if not head:
        return  # an empty file becomes a new store
    if head != _SQLITE_MAGIC:
        raise BadInput(f"{path} is not a tradeoff results store (not an SQLite database); left untouched",
                       "pass another --store path")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise BadInput(f"{path} is not a readable SQLite database ({e}); left untouched", "pass another --store path") from None
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        raise BadInput(f"{path} is an SQLite database but not a tradeoff results store; left untouched",
                       "pass another --store path")
    if version > SCHEMA_VERSION:
        raise BadInput(f"{path} was written by a newer tradeoff (store schema {version}, this version reads up to "
                       f"{SCHEMA_VERSION}); left untouched", "upgrade tradeoff (pip install -U tradeoff)")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _require_parquet() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise BadInput("Parquet needs pyarrow, which is not installed", "pip install pyarrow, or export to .csv/.json") from None
