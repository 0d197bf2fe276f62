"""Request pacing: at most a given rate of sends, and a pause every sender obeys."""

import asyncio


class Pacer:
    """Spaces sends to `requests_per_second` (None: no limit) and holds them all
    while the server asks to wait (`pause`, e.g. after a 429 with Retry-After)."""

    def __init__(self, requests_per_second: float | None) -> None:
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next_send = 0.0
        self._paused_until = 0.0

    async def wait(self) -> None:
        """Returns when this send may go."""
        now = asyncio.get_running_loop().time()
        send_at = max(now, self._next_send, self._paused_until)
        if self._interval:
            self._next_send = send_at + self._interval
        if send_at > now:
            await asyncio.sleep(send_at - now)

    def pause(self, seconds: float) -> None:
        """No send goes for `seconds` from now (a longer pause already set stands)."""
        resume_at = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, resume_at)
