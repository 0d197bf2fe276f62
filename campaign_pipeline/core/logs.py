"""JSON log lines: one object a line with a run id, timings and counters.

Only counts, ids, timings and masked values go in; messages are scrubbed of
anything that looks like a phone or an email as a second line of defence.

Long phases report `progress` lines (see `Progress`) at least every
`CAMPAIGN_PROGRESS_INTERVAL` seconds (default 10), or draw a progress bar when
the log was made with `progress_bar=True` (the command line's `--progress` on a
terminal).
"""

import json
import os
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

from campaign_pipeline.core.masking import scrub

PROGRESS_INTERVAL_VARIABLE = "CAMPAIGN_PROGRESS_INTERVAL"
DEFAULT_PROGRESS_INTERVAL = 10.0


class JsonLog:
    def __init__(
        self,
        stream: IO[str] | None = None,
        run_id: str | None = None,
        *,
        progress_bar: bool = False,
        progress_interval: float | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.started = time.perf_counter()
        self.progress_bar = progress_bar
        self.progress_interval = progress_interval
        # Progress lines come from a timer thread: one line must never be cut
        # into by another.
        self._lock = threading.Lock()
        self._bars = 0

    def emit(self, level: str, event: str, **fields) -> None:
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "run_id": self.run_id,
            "event": event,
        }
        for name, value in fields.items():
            record[name] = scrub(value) if isinstance(value, str) else value
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if self._bars:
                from tqdm import tqdm

                tqdm.write(line, file=self.stream, end="")  # clears the bar, writes, redraws it
            else:
                self.stream.write(line)
            self.stream.flush()

    def info(self, event: str, **fields) -> None:
        self.emit("info", event, **fields)

    def warning(self, event: str, **fields) -> None:
        self.emit("warning", event, **fields)

    def error(self, event: str, **fields) -> None:
        self.emit("error", event, **fields)

    @contextmanager
    def timed(self, event: str, **fields):
        """Logs `event` with its duration and whatever counters the block adds."""
        counters: dict = {}
        start = time.perf_counter()
        yield counters
        self.info(event, seconds=round(time.perf_counter() - start, 3), **fields, **counters)

    @contextmanager
    def progress(self, phase: str, total: int | None = None, unit: str = "items"):
        """A `Progress` of one phase, stopped when the block ends."""
        progress = Progress(self, phase, total, unit)
        try:
            yield progress
        finally:
            progress.close()

    def _interval(self) -> float:
        if self.progress_interval is not None:
            return self.progress_interval
        text = os.environ.get(PROGRESS_INTERVAL_VARIABLE)
        if not text:
            return DEFAULT_PROGRESS_INTERVAL
        from campaign_pipeline.core.values import checked, positive_number

        return checked(PROGRESS_INTERVAL_VARIABLE, positive_number, text)


class Progress:
    """Counts of one long phase. Whoever does the work calls `advance`; a timer
    thread logs a `progress` line every interval (phase, done, total when known,
    unit, rate per second, elapsed seconds, and any extra counters), so a phase
    that stalls still reports. With a bar, the bar is the report instead."""

    def __init__(self, log: JsonLog, phase: str, total: int | None = None, unit: str = "items") -> None:
        self.log = log
        self.phase = phase
        self.total = total
        self.unit = unit
        self.done = 0
        self.counters: dict[str, int] = {}
        self.started = time.perf_counter()
        self._stopped = threading.Event()
        self._bar = None
        if log.progress_bar:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=phase, unit="B" if unit == "bytes" else unit, unit_scale=unit == "bytes",
                file=log.stream, leave=False, dynamic_ncols=True,
            )
            log._bars += 1
            self._timer = None
        else:
            interval = log._interval()
            self._timer = threading.Thread(
                target=self._tick, args=(interval,), name=f"progress-{phase}", daemon=True
            )
            self._timer.start()

    def advance(self, amount: int = 1, **counters: int) -> None:
        """`amount` more done; `counters` are added to the extra counters."""
        self.done += amount
        for name, value in counters.items():
            self.counters[name] = self.counters.get(name, 0) + value
        if self._bar is not None:
            self._bar.update(amount)

    def set_total(self, total: int | None) -> None:
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def fields(self) -> dict:
        elapsed = time.perf_counter() - self.started
        fields = {"phase": self.phase, "done": self.done}
        if self.total is not None:
            fields["total"] = self.total
        fields.update(
            unit=self.unit,
            rate=round(self.done / elapsed, 1) if elapsed > 0 else 0.0,
            elapsed=round(elapsed, 1),
            **self.counters,
        )
        return fields

    def _tick(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            self.log.info("progress", **self.fields())

    def close(self) -> None:
        self._stopped.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        if self._bar is not None:
            with self.log._lock:
                self._bar.close()
                self.log._bars -= 1
            self._bar = None
