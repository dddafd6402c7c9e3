"""Child-process entry: `python -m tradeoff.bench.worker run|prepare GROUP.json EVENTS.jsonl`.

`run` measures one group; `prepare` does its exports and quantizations (so the measuring process
never holds the exporter). Each appends one JSON line per event (status, record or prepared) to
EVENTS, flushed at once, so the parent sees progress live and keeps everything finished before a crash.
"""
from __future__ import annotations

import json
import sys


def main(mode: str, group_path: str, events_path: str) -> int:
    from tradeoff.bench import runner, spec

    group = spec.Group(**json.loads(open(group_path, encoding="utf-8").read()))
    with open(events_path, "a", encoding="utf-8") as out:
        def emit(event: dict) -> None:
            out.write(json.dumps(event) + "\n")
            out.flush()

        status = lambda s: emit({"type": "status", "text": s})  # noqa: E731
        if mode == "prepare":
            runner.prepare_group(group, lambda result: emit({"type": "prepared", **result}), status)
        else:
            runner.run_group(group, on_record=lambda r: emit({"type": "record", "record": r.model_dump(mode="json")}), on_status=status)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
