"""Group commit: many requests' writes in one transaction, each request
answered only after that transaction committed.

A request handler `submit`s its item and awaits the result. One writer task
per process takes everything pending (up to `max_batch`), hands it to
`apply` on the writer's own thread (one transaction, off the event loop) and,
once `apply` returned (committed), gives every request its result; when
`apply` raises, every request of that batch gets the error (nothing of the
batch was committed, the provider retries). While a batch is being written
the next one gathers, so batches grow with the load and a lone request waits
for no timer.

Why: a commit, and SQLAlchemy's work around a statement, cost more than the
UPDATE itself (measured 0.63 ms a callback one by one against 0.06 ms in
batches of 50 on SQLite).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`apply(items) -> results` (one result per item, in order) runs on
    `executor`, one batch at a time."""

    def __init__(self, apply: Callable[[Sequence[Item]], Sequence[Result]], executor: ThreadPoolExecutor, *,
                 max_batch: int = 500, on_batch: Callable[[Sequence[Result]], None] | None = None):
        self.apply, self.executor, self.max_batch, self.on_batch = apply, executor, max_batch, on_batch
        self._pending: list[tuple[Item, asyncio.Future]] = []
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task | None = None
        self._writing = False  # a batch taken from _pending is being applied

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer.done():  # started on the loop that serves the requests
            self._wake = asyncio.Event()
            self._writer = loop.create_task(self._write())
        future = loop.create_future()
        self._pending.append((item, future))
        self._wake.set()
        return await future

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
                items = [item for item, _ in batch]
                self._writing = True
                try:
                    results = await loop.run_in_executor(self.executor, self.apply, items)
                except Exception as error:  # noqa: BLE001 - each request of the batch answers it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                finally:
                    self._writing = False
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # a request cancelled meanwhile: its write stands anyway
                        future.set_result(result)
                if self.on_batch is not None:
                    self.on_batch(results)

    async def close(self) -> None:
        """Stops the writer once nothing is pending or being written (at
        shutdown, after the last requests were answered)."""
        if self._writer is not None:
            while (self._pending or self._writing) and not self._writer.done():
                await asyncio.sleep(0.01)
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)


def single_thread(name: str) -> ThreadPoolExecutor:
    """The writer's thread: one, so the process's batches commit one after another."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
