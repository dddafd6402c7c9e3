"""Child-process entry: `python -m tradeoff.bench.worker GROUP.json EVENTS.jsonl`.

Runs one group and appends one JSON line per event (status or record) to EVENTS, flushed at
once, so the parent sees progress live and keeps every record finished before a crash.
"""
from __future__ import annotations

import json
import sys


def main(group_path: str, events_path: str) -> int:
    from tradeoff.bench.runner import Group, run_group

    group = Group(**json.loads(open(group_path, encoding="utf-8").read()))
    with open(events_path, "a", encoding="utf-8") as out:
        def emit(event: dict) -> None:
            out.write(json.dumps(event) + "\n")
            out.flush()

        run_group(group, on_record=lambda r: emit({"type": "record", "record": r.model_dump(mode="json")}),
                  on_status=lambda s: emit({"type": "status", "text": s}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
