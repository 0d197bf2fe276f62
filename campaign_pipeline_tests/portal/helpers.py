"""A small portal for the portal tests, the export lines it must give, and a runner
that fails a test on asyncio noise (an exception never retrieved, a task left over)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from campaign_pipeline.portal import PortalClient
from campaign_pipeline_tests.builders import activity, job

TOKEN = "sim-token"
FAST_RETRIES = {"backoff_base": 0.001, "backoff_max": 0.005}


def portal_jobs() -> list[dict[str, Any]]:
    """Five jobs, two not selling; activities with 0..5 subjects (several pages at limit 2)."""
    return [
        job("job-1", "webshop_selling", [activity("act-1a", "job-1", 5), activity("act-1b", "job-1", 0),
                                         activity("act-1c", "job-1", 3)]),
        job("job-2", "draft", [activity("act-2a", "job-2", 2)]),
        job("job-3", "webshop_selling", [activity("act-3a", "job-3", 4), activity("act-3b", "job-3", 1),
                                         activity("act-3c", "job-3", 2)]),
        job("job-4", "closed", [activity("act-4a", "job-4", 3)]),
        job("job-5", "webshop_selling", []),
    ]


def selling(jobs: list[Any]) -> list[dict[str, Any]]:
    return [j for j in jobs if isinstance(j, dict) and j.get("status") == "webshop_selling"]


def export_lines(jobs: list[Any]) -> list[bytes]:
    """The lines a clean read of `jobs` must give: the jobs as they are (activities last)."""
    return [orjson.dumps(j) for j in jobs]


def pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


def requests_needed(jobs: list[dict[str, Any]], page_size: int, listed: bool = True) -> int:
    """The fewest requests that read the selling jobs of `jobs` at `page_size` items a page
    (`listed`: found by listing the jobs, not by their ids)."""
    wanted = selling(jobs)
    activities = [a for j in wanted for a in j["activities"]]
    return (listed * pages(len(wanted), page_size) + sum(pages(len(j["activities"]), page_size) for j in wanted)
            + sum(pages(len(a["subjects"]), page_size) for a in activities))


def run(coroutine: Callable[[], Awaitable[Any]]) -> Any:
    """asyncio.run, failing on anything asyncio or a socket would complain about."""
    complaints: list[dict[str, Any]] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: complaints.append(context))
        try:
            return await coroutine()
        finally:
            leftovers = asyncio.all_tasks() - {asyncio.current_task()}
            assert not leftovers, f"tasks left running: {leftovers}"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            return asyncio.run(main())
        finally:
            gc.collect()
            assert not complaints, f"asyncio complained: {complaints}"
            unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
            assert not unclosed, f"unclosed resources: {[str(w.message) for w in unclosed]}"


def fetch(
    url: str, token: str = TOKEN, job_ids: list[str] | None = None, **options: Any
) -> tuple[list[bytes], dict[str, int]]:
    """The export lines of one read, and the client's counters."""

    async def read() -> tuple[list[bytes], dict[str, int]]:
        async with PortalClient(url, token, **options) as client:
            return await client.fetch_export_lines(job_ids), client.stats

    return run(read)


def access_keys(
    url: str, subject_ids: list[str], token: str = TOKEN, **options: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """The keys (or failures) of one `generate_access_keys`, and the client's counters."""

    async def generate() -> tuple[dict[str, Any], dict[str, int]]:
        async with PortalClient(url, token, **options) as client:
            return await client.generate_access_keys(subject_ids), client.stats

    return run(generate)
