"""Signals that end a run (SIGTERM from a supervisor, SIGHUP from a closed
terminal, SIGINT from Ctrl-C) become an exception in the main thread, so every
`finally` runs and a stopped run cleans up exactly like a failed one: no
temporary file, no half-published output."""

import signal
import threading

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Interrupted(BaseException):
    """A signal stopped the run. A BaseException, like KeyboardInterrupt, so no
    `except Exception` on the way (a retry loop, a fallback) swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # what a shell reports for a process a signal ended


def raise_on_stopping_signals() -> None:
    """Installs the handlers; only the main thread can (and only it gets signals)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum, frame):
        # Only the first signal interrupts; later ones would interrupt the cleanup.
        for other in STOPPING_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Interrupted(signum)

    for signum in STOPPING_SIGNALS:
        signal.signal(signum, stop)
