"""JSON log lines: one object a line with a run id, timings and counters.

Only counts, ids, timings and masked values go in; messages are scrubbed of
anything that looks like a phone or an email as a second line of defence.
"""

import json
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

from campaign_pipeline.core.masking import scrub


class JsonLog:
    def __init__(self, stream: IO[str] | None = None, run_id: str | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.started = time.perf_counter()

    def emit(self, level: str, event: str, **fields) -> None:
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "run_id": self.run_id,
            "event": event,
        }
        for name, value in fields.items():
            record[name] = scrub(value) if isinstance(value, str) else value
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.stream.flush()

    def info(self, event: str, **fields) -> None:
        self.emit("info", event, **fields)

    def error(self, event: str, **fields) -> None:
        self.emit("error", event, **fields)

    @contextmanager
    def timed(self, event: str, **fields):
        """Logs `event` with its duration and whatever counters the block adds."""
        counters: dict = {}
        start = time.perf_counter()
        yield counters
        self.info(event, seconds=round(time.perf_counter() - start, 3), **fields, **counters)
