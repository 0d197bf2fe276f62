"""At most `rate` hand-overs in any one-second interval (sending.md, "Sending", step 5).

Two guards: hand-overs are spaced 1/rate apart on a schedule (no bursts), and
a sliding record of the last second's hand-overs refuses the (floor(rate)+1)-th,
so the bound holds however the threads that share one Throttle are scheduled.
The rate may change while running (the organization's --mps divided among the
live leases, re-read at each lease renewal).

The spacing counts from the previous grant's scheduled instant, not from when
its thread woke: a sleep or a GIL hand-over wakes a few tenths of a millisecond
late, and at 4 ms apart that alone cost a tenth of the rate. A late grant lets
the next come sooner, but never closer than half the spacing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

WINDOW = 1.0
# Margin on the one-second window: the provider receives each call a few ms after its
# instant, with jitter (thread scheduling, the network); the bound must hold at its end too.
# It costs its share of the rate (250/s becomes 243/s). bench_dispatch measures the jitter
# it absorbs, grant to creation at the simulator: at 10 ms latency, p99 13-14 ms, the
# worst 17-25 ms, with a test suite running beside it; 30 ms keeps twice that.
MARGIN = 0.03


class Throttle:
    def __init__(self, rate: float | None) -> None:
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._next = 0.0
        self.rate = rate

    def set_rate(self, rate: float | None) -> None:
        with self._lock:
            self.rate = rate

    def wait(self, stopping: threading.Event | None = None) -> float | None:
        """Blocks until one more hand-over may go and counts it: its instant (wall clock,
        which the dispatcher records as the hand-over's time, so the stored times obey
        the bound); None when `stopping` was set meanwhile (nothing counted)."""
        with self._lock:
            while True:
                if stopping is not None and stopping.is_set():
                    return None
                rate = self.rate
                now = time.time()
                if not rate:
                    return now
                while self._recent and self._recent[0] <= now - WINDOW - MARGIN:
                    self._recent.popleft()
                limit = max(1, math.floor(rate))
                ready = max(self._next, self._recent[0] + WINDOW + MARGIN if len(self._recent) >= limit else 0.0)
                if ready <= now:
                    self._recent.append(now)
                    spacing = 1.0 / rate
                    self._next = max(self._next + spacing, now + spacing / 2)
                    return now
                # Short sleeps: a stop or a rate change is seen promptly.
                time.sleep(min(ready - now, 0.1))
