"""When to try a failed request again.

Full jitter (a uniform draw up to the capped exponential backoff) keeps many
clients that failed together from retrying together; a server's `Retry-After`
says when instead, and the caller then waits that long.
"""

import random


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt `attempt` (0 for the first): uniform
    in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(cap, base * 2**attempt))


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header in whole seconds; None when absent or in another
    form (an HTTP-date is not honoured: the caller falls back to its backoff)."""
    value = (value or "").strip()
    return float(value) if value.isdigit() else None
