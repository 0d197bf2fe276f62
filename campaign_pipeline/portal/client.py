"""The live portal reader: the portal API read into portal-export lines.

The export is one JSON line per job, the job as received plus `activities`, each
activity as received plus `subjects` (campaign-dataset.md). Validation is the
core's business: this module only walks the tree, retries what the contract
calls transient, and never trips over a malformed item.

Work starts as soon as it is known (a job's activities are read while further job
pages still arrive, subjects while further activity pages arrive), all under one
gate of `concurrency` requests in flight. The result is assembled in API order
afterwards, so it is the same whatever the timing.
"""

from __future__ import annotations

import asyncio
import heapq
import importlib.util
import itertools
import random
import ssl
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import msgspec

from campaign_pipeline.portal.errors import (
    AccessKeyFailure,
    PortalAuthError,
    PortalRequestError,
    PortalResponseError,
    PortalUnavailable,
)

SELLING_STATUS = "webshop_selling"
MAX_PAGE_LIMIT = 500
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# RemoteProtocolError is what a connection closed without a response looks like.
TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

# Requests that discover work jump the queue: a waiting jobs page holds back
# every activity behind it, a waiting subjects page holds back nothing.
PRIORITY_JOBS = 0
PRIORITY_ACTIVITIES = 1
PRIORITY_SUBJECTS = 2
PRIORITY_ACCESS_KEYS = 0

_MISSING = object()


class _Page(msgspec.Struct):
    items: list[Any]
    next_cursor: str | None


class _RawPage(msgspec.Struct):
    """A page whose items stay the bytes received. Subjects are only passed on, and not
    turning each into Python objects (and back) saves most of the client's CPU."""

    items: list[msgspec.Raw]
    next_cursor: str | None


_encode = msgspec.json.Encoder().encode


class PortalClient:
    """An async reader of the portal API; use it as `async with PortalClient(...) as c`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        concurrency: int = 16,
        requests_per_second: float | None = None,
        max_attempts: int = 6,
        backoff_base: float = 0.2,
        backoff_max: float = 10.0,
        timeout: float = 30.0,
        page_limit: int = MAX_PAGE_LIMIT,
        transport: httpx.AsyncBaseTransport | None = None,
        progress: Any = None,
    ) -> None:
        """`progress`, when given, is told of the work done as it is done
        (`advance(n, **counters)`, `set_total(n)`: core.logs.Progress)."""
        _require(concurrency >= 1, "concurrency must be at least 1")
        _require(max_attempts >= 1, "max_attempts must be at least 1")
        _require(1 <= page_limit <= MAX_PAGE_LIMIT, f"page_limit must be 1..{MAX_PAGE_LIMIT}")
        _require(requests_per_second is None or requests_per_second > 0, "requests_per_second must be positive")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._timeout = timeout
        self._page_limit = page_limit
        self._transport = transport
        self._gate = _PriorityGate(concurrency)
        self._pacer = _Pacer(requests_per_second)
        self._progress = progress if progress is not None else _NoProgress()
        self._random = random.Random()
        self._http: httpx.AsyncClient | None = None
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "rate_limited": 0}

    async def __aenter__(self) -> PortalClient:
        _remember_missing_sniffio()
        # No token, no Authorization header: the portal answers 401 and the run
        # fails with its clear message (an empty "Bearer " is not even sendable).
        auth = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        self._http = httpx.AsyncClient(
            headers={**auth, "Accept": "application/json"},
            timeout=self._timeout,
            transport=self._transport or _Lanes(https=self._base_url.lower().startswith("https:")),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- reading the export ------------------------------------------------

    async def fetch_export_lines(self, job_ids: Sequence[str] | None = None) -> list[bytes]:
        """The selling jobs (all, or those of `job_ids`) as portal-export lines, in API order."""
        if job_ids is None:
            jobs: list[Any] = []
            await _run_tasks(lambda tg: tg.create_task(self._list_jobs(tg, jobs)))
        else:
            wanted = [job_id for job_id in dict.fromkeys(job_ids) if job_id]
            jobs = [None] * len(wanted)

            def start(tg: asyncio.TaskGroup) -> None:
                for index, job_id in enumerate(wanted):
                    tg.create_task(self._fetch_job(tg, job_id, jobs, index))

            await _run_tasks(start)
        return [_export_line(job) for job in jobs if job is not None]

    async def _list_jobs(self, tg: asyncio.TaskGroup, jobs: list[Any]) -> None:
        seen: set[str] = set()

        def take(items: list[Any]) -> None:
            for item in items:
                job = self._admit_job(tg, item, seen)
                if job is not None:
                    jobs.append(job)

        await self._each_page("/v1/jobs", {"status": SELLING_STATUS}, PRIORITY_JOBS, _Page, take, "jobs")

    async def _fetch_job(self, tg: asyncio.TaskGroup, job_id: str, jobs: list[Any], index: int) -> None:
        item = await self._get_json(f"/v1/jobs/{_segment(job_id)}", None, PRIORITY_JOBS, Any, missing_ok=True)
        self._progress.advance(1, jobs=int(item is not _MISSING))
        if item is not _MISSING:
            jobs[index] = self._admit_job(tg, item, set())

    def _admit_job(self, tg: asyncio.TaskGroup, item: Any, seen: set[str]) -> Any:
        """The job's place in the export (None: it contributes nothing); starts reading it."""
        if not isinstance(item, dict):
            return item  # the core quarantines it
        if item.get("status") != SELLING_STATUS:
            return None  # the core would skip it unread, so it is not read either
        job_id = item.get("id")
        if not isinstance(job_id, str):
            return item  # cannot be expanded; the core quarantines it
        if job_id in seen:
            return None  # a page repeat: the first sighting stands
        seen.add(job_id)
        job = _Node(item)
        tg.create_task(self._read_activities(tg, job, job_id))
        return job

    async def _read_activities(self, tg: asyncio.TaskGroup, job: _Node, job_id: str) -> None:
        seen: set[str] = set()

        def take(items: list[Any]) -> None:
            for item in items:
                activity_id = item.get("id") if isinstance(item, dict) else None
                if not isinstance(activity_id, str):
                    job.children.append(item)  # kept as received, nothing under it is read
                elif activity_id not in seen:
                    seen.add(activity_id)
                    activity = _Node(item)
                    job.children.append(activity)
                    tg.create_task(self._read_subjects(activity, activity_id))

        path = f"/v1/jobs/{_segment(job_id)}/activities"
        await self._each_page(path, {}, PRIORITY_ACTIVITIES, _Page, take, "activities")

    async def _read_subjects(self, activity: _Node, activity_id: str) -> None:
        def take(items: list[msgspec.Raw]) -> None:
            # Repeated subjects stay: the pipeline's duplicate rule collapses them.
            if items:
                activity.children.append(b",".join(items))

        path = f"/v1/activities/{_segment(activity_id)}/subjects"
        await self._each_page(path, {}, PRIORITY_SUBJECTS, _RawPage, take, "subjects")

    async def _each_page(
        self,
        path: str,
        params: dict[str, Any],
        priority: int,
        page_type: type[_Page | _RawPage],
        take: Callable[[list[Any]], None],
        items_name: str,
    ) -> None:
        """Every page of one list, in order, handed to `take` as it arrives
        (and counted in the progress as a request and `items_name` items)."""
        cursor: str | None = None
        cursors_seen: set[str] = set()
        while True:
            query = {**params, "limit": self._page_limit}
            if cursor is not None:
                query["cursor"] = cursor
            page = await self._get_json(path, query, priority, page_type)
            take(page.items)
            self._progress.advance(1, **{items_name: len(page.items)})
            cursor = page.next_cursor
            if cursor is None:
                return
            if cursor in cursors_seen:
                raise PortalResponseError(f"GET {path}: next_cursor repeats an earlier cursor")
            cursors_seen.add(cursor)

    async def _get_json(
        self, path: str, params: dict[str, Any] | None, priority: int, body_type: Any, *, missing_ok: bool = False
    ) -> Any:
        response = await self._send("GET", path, params, priority)
        if response.status_code == 404 and missing_ok:
            return _MISSING
        if response.status_code != 200:
            raise PortalRequestError(f"GET {path}: {_status_text(response.status_code)}")
        return _decode(response, body_type, "GET", path)

    # -- access keys -------------------------------------------------------

    async def generate_access_keys(self, subject_ids: Iterable[str]) -> dict[str, str | AccessKeyFailure]:
        """One POST per distinct id: its key, or AccessKeyFailure when the portal refuses for good."""
        ids = list(dict.fromkeys(subject_ids))
        keys: dict[str, str | AccessKeyFailure] = {}
        pending = iter(ids)
        self._progress.set_total(len(ids))

        async def worker() -> None:
            for subject_id in pending:  # shared iterator: each id is taken once
                keys[subject_id] = answer = await self._access_key(subject_id)
                self._progress.advance(1, failed=int(isinstance(answer, AccessKeyFailure)))

        def start(tg: asyncio.TaskGroup) -> None:
            for _ in range(min(self._concurrency, len(ids))):
                tg.create_task(worker())

        await _run_tasks(start)
        return {subject_id: keys[subject_id] for subject_id in ids}

    async def _access_key(self, subject_id: str) -> str | AccessKeyFailure:
        path = f"/v1/subjects/{_segment(subject_id)}/access-key"
        response = await self._send("POST", path, None, PRIORITY_ACCESS_KEYS)
        if response.status_code != 200:
            return AccessKeyFailure(response.status_code)
        body = _decode(response, Any, "POST", path)
        key = body.get("access_key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            raise PortalResponseError(f"POST {path}: 200 without an access_key")
        return key

    # -- one request, retried ----------------------------------------------

    async def _send(self, method: str, path: str, params: dict[str, Any] | None, priority: int) -> httpx.Response:
        """The response once it is 200 or a permanent 4xx; raises for 401 and lasting failures."""
        if self._http is None:
            raise RuntimeError("PortalClient is not open: use `async with PortalClient(...)`")
        # One absolute URL, built once: httpx would otherwise parse and re-quote it
        # three times a request (base URL, path, params).
        url = self._base_url + path + (f"?{urlencode(params)}" if params else "")
        failure = ""
        for attempt in range(self._max_attempts):
            if attempt:
                self.stats["retries"] += 1
            async with self._gate.slot(priority):
                await self._pacer.wait()
                self.stats["requests"] += 1
                try:
                    response = await self._http.request(method, url)
                except TRANSIENT_ERRORS as exc:
                    response, failure = None, type(exc).__name__
            if response is not None:
                if response.status_code == 429:
                    self.stats["rate_limited"] += 1
                if _is_final(response.status_code, method, path):
                    return response
                failure = _status_text(response.status_code)
            if attempt + 1 < self._max_attempts:
                await asyncio.sleep(self._retry_delay(response, attempt))
        raise PortalUnavailable(f"{method} {path}: {failure}, still failing after {self._max_attempts} attempts")

    def _retry_delay(self, response: httpx.Response | None, attempt: int) -> float:
        if response is not None and response.status_code == 429:
            retry_after = _retry_after(response)
            if retry_after is not None:
                # The portal said when; everyone waits, not just this request.
                self._pacer.pause(retry_after)
                return retry_after
        return self._random.uniform(0, min(self._backoff_max, self._backoff_base * 2**attempt))


def _is_final(status: int, method: str, path: str) -> bool:
    """True for a 200 or permanent 4xx, False for a retryable status; raises for the rest."""
    if status == 401:
        raise PortalAuthError(f"{method} {path}: 401 Unauthorized (check PORTAL_TOKEN)")
    if status == 429 or status in TRANSIENT_STATUSES:
        return False
    if status == 200 or 400 <= status < 500:
        return True
    raise PortalRequestError(f"{method} {path}: {_status_text(status)}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def _decode(response: httpx.Response, body_type: Any, method: str, path: str) -> Any:
    try:
        return msgspec.json.decode(response.content, type=body_type)
    except msgspec.ValidationError:
        raise PortalResponseError(f"{method} {path}: the response is not a page of items") from None
    except msgspec.DecodeError:
        raise PortalResponseError(f"{method} {path}: the response is not JSON") from None


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _segment(portal_id: str) -> str:
    """An opaque id as one path segment (a `/` in an id must not open a new one)."""
    return quote(portal_id, safe="")


def _remember_missing_sniffio() -> None:
    """httpcore imports sniffio several times a request; when it is not installed,
    every miss searches sys.path again (about 0.1 ms each, 1 ms a request).
    Recording the absence once makes the miss free; an installed sniffio is untouched.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class _NoProgress:
    def advance(self, amount: int = 1, **counters: int) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass


# -- assembling the export -------------------------------------------------


class _Node:
    """A job or activity as received, with what is read under it: a job's activities,
    or an activity's subject pages (each the JSON of its items, comma-joined)."""

    __slots__ = ("item", "children")

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item
        self.children: list[Any] = []


def _export_line(job: Any) -> bytes:
    if not isinstance(job, _Node):
        return _encode(job)
    activities = [
        {**activity.item, "subjects": msgspec.Raw(b"[" + b",".join(activity.children) + b"]")}
        if isinstance(activity, _Node)
        else activity
        for activity in job.children
    ]
    return _encode({**job.item, "activities": activities})


# -- connections -----------------------------------------------------------


class _Lanes(httpx.AsyncBaseTransport):
    """Kept-alive connections, one per lane, lanes reused last-in first-out.

    httpx's own pool rescans every connection on every request and response (and
    polls each idle socket), which at 64 connections costs more CPU than the
    request itself. The gate already bounds the requests in flight, so there are
    never more lanes than `concurrency`, and a free list is all the pooling needed.
    """

    def __init__(self, https: bool) -> None:
        self._https = https
        self._ssl_context: ssl.SSLContext | None = None
        self._lanes: list[httpx.AsyncHTTPTransport] = []
        self._free: list[httpx.AsyncHTTPTransport] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        lane = self._free.pop() if self._free else self._open_lane()
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            self._free.append(lane)  # its pool has dropped a broken connection already
            raise
        stream = _LaneStream(response.stream, lambda: self._free.append(lane))
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    def _open_lane(self) -> httpx.AsyncHTTPTransport:
        if self._ssl_context is None:
            # One context for all lanes: loading the CA store takes tens of ms. Plain
            # http never uses it, so there it is an empty one (verifying, no CA), free to make.
            self._ssl_context = httpx.create_ssl_context() if self._https else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        lane = httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=httpx.Limits(max_connections=1))
        self._lanes.append(lane)
        return lane

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()
        self._lanes.clear()
        self._free.clear()


class _LaneStream(httpx.AsyncByteStream):
    """A response body that hands its lane back once it is closed."""

    def __init__(self, stream: Any, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


# -- running tasks ---------------------------------------------------------


async def _run_tasks(start: Callable[[asyncio.TaskGroup], object]) -> None:
    """Runs the tasks `start` creates (and those they create) to the end.

    The first failure cancels the rest and is raised as itself, not as an
    exception group, so callers catch PortalError as usual.
    """
    try:
        async with asyncio.TaskGroup() as tg:
            start(tg)
    except BaseExceptionGroup as group:
        raise _first_leaf(group) from None


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


class _PriorityGate:
    """At most `size` holders at once; waiters are let in by (priority, arrival)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @asynccontextmanager
    async def slot(self, priority: int):
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free:  # free slots only exist while nobody waits
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            # Granted just as it was cancelled: pass the slot on. A waiter
            # cancelled before that stays in the heap and is skipped.
            if waiter.done() and not waiter.cancelled():
                self._release()
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = heapq.heappop(self._waiters)[2]
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class _Pacer:
    """Spaces sends to `requests_per_second` and holds them while the portal asks to wait."""

    def __init__(self, requests_per_second: float | None) -> None:
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next_send = 0.0
        self._paused_until = 0.0

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        send_at = max(now, self._next_send, self._paused_until)
        if self._interval:
            self._next_send = send_at + self._interval
        if send_at > now:
            await asyncio.sleep(send_at - now)

    def pause(self, seconds: float) -> None:
        resume_at = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, resume_at)


# -- for callers that are not async ----------------------------------------


def fetch_export_lines_sync(
    base_url: str,
    token: str,
    job_ids: Sequence[str] | None = None,
    *,
    stats: dict[str, int] | None = None,
    **options: Any,
) -> list[bytes]:
    """`PortalClient(base_url, token, **options).fetch_export_lines(job_ids)`, run to the end.

    `stats`, when given, receives the client's counters (even when the read fails).
    """

    return _run_with_client(base_url, token, lambda client: client.fetch_export_lines(job_ids), stats, options)


def generate_access_keys_sync(
    base_url: str,
    token: str,
    subject_ids: Iterable[str],
    *,
    stats: dict[str, int] | None = None,
    **options: Any,
) -> dict[str, str | AccessKeyFailure]:
    """`PortalClient(base_url, token, **options).generate_access_keys(subject_ids)`, run to the end."""

    return _run_with_client(base_url, token, lambda client: client.generate_access_keys(subject_ids), stats, options)


def _run_with_client(
    base_url: str,
    token: str,
    call: Callable[[PortalClient], Awaitable[Any]],
    stats: dict[str, int] | None,
    options: dict[str, Any],
) -> Any:
    """Runs one client call to the end; `stats` receives the client's counters
    even when the call fails."""

    async def run() -> Any:
        async with PortalClient(base_url, token, **options) as client:
            try:
                return await call(client)
            finally:
                if stats is not None:
                    stats.update(client.stats)

    return asyncio.run(run())
