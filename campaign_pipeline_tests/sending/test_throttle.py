"""The per-organization throttle (sending.md, "Sending", step 5): never more than the
rate in any one-second interval, and no slower than it has to be."""

import threading
import time

from campaign_pipeline.sending.providers.twilio_simulator import max_in_any_second
from campaign_pipeline.sending.throttle import MARGIN, Throttle


def grants(rate: float, count: int, threads: int = 8, busy_seconds: float = 0.0) -> list[float]:
    """`count` grants taken by `threads` threads sharing one throttle; each thread works
    `busy_seconds` of CPU after its grant (holding the GIL, as building a request does)."""
    throttle, instants, lock = Throttle(rate), [], threading.Lock()
    left = iter(range(count))

    def take() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            instant = throttle.wait()
            with lock:
                instants.append(instant)
            end = time.perf_counter() + busy_seconds
            while time.perf_counter() < end:
                pass

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(instants)


def test_never_more_than_the_rate_in_any_second_with_its_margin():
    instants = grants(250, 750, busy_seconds=0.001)
    assert max_in_any_second(instants) <= 250
    # The 251st grant after any grant comes a full second and the margin later.
    assert min(b - a for a, b in zip(instants, instants[250:])) >= 1.0 + MARGIN - 1e-6


def test_late_wake_ups_are_caught_up_so_the_rate_is_kept():
    # 750 grants at 250/s: three windows of 250, each opened a second and the margin after
    # the last. Spacing each grant from the moment the previous one woke up (sleeps and GIL
    # hand-overs wake late) made every grant late by that much: 3.3 s on this machine.
    instants = grants(250, 750, busy_seconds=0.003)
    ideal = 2 * (1.0 + MARGIN) + 249 / 250
    assert instants[-1] - instants[0] < ideal + 0.06


def test_no_rate_means_no_wait():
    started = time.perf_counter()
    grants(None, 2000)
    assert time.perf_counter() - started < 1.0
