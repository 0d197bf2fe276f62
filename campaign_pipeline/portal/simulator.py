"""A portal on 127.0.0.1: portal-api.yaml served from a portal export, faults on demand.

It is a real HTTP server (threads, kept-alive HTTP/1.1 connections), so the
client is tested over real sockets with nothing mocked. It serves jobs without
`activities` and activities without `subjects`, as the API does. Faults are
counter-based, never random, so a test that uses them is reproducible.

    python -m campaign_pipeline.portal.simulator --export jobs.jsonl.gz --latency-ms 20
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import ipaddress
import signal
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from campaign_pipeline.common.values import argument_type, port
from campaign_pipeline.portal.defaults import MAX_PAGE_LIMIT as MAX_LIMIT

ROUTE_JOBS = "GET /v1/jobs"
ROUTE_JOB = "GET /v1/jobs/{job_id}"
ROUTE_ACTIVITIES = "GET /v1/jobs/{job_id}/activities"
ROUTE_SUBJECTS = "GET /v1/activities/{activity_id}/subjects"
ROUTE_ACCESS_KEY = "POST /v1/subjects/{subject_id}/access-key"
ROUTE_UNKNOWN = "unknown"

DEFAULT_LIMIT = 100
LOG_SIZE = 100_000  # requests remembered in `request_log`

Response = tuple[int, bytes, dict[str, str]]  # status, JSON body, extra headers


def _loopback(host: str) -> str:
    """The host, when only this machine can reach it; else ValueError.

    The simulator serves exports full of personal data, so it never listens on
    another interface, and no flag says otherwise. Names other than `localhost`
    are refused rather than resolved: what a name resolves to can change.
    """
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ValueError(f"--host {host!r} is not a loopback address (127.0.0.0/8, ::1 or localhost): "
                     "the simulator serves personal data to this machine only")


@dataclass(frozen=True)
class Faults:
    """Faults to inject; all off by default.

    `*_every=k` hits every k-th request the simulator receives, counted over all
    paths: how many requests and faults a read takes is fixed, which request gets
    which fault depends on timing. `*_first=n` hits the first requests to each
    path (method and path, query ignored), the same under any concurrency: a
    path's first requests get `drop_first` dropped connections, then
    `rate_limit_first` 429s, then `error_first` 5xx.
    """

    rate_limit_every: int = 0
    rate_limit_first: int = 0
    retry_after: int = 0
    error_every: int = 0
    error_first: int = 0
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)  # taken in turn
    drop_every: int = 0  # the connection is closed without a response
    drop_first: int = 0
    wrong_token: bool = False  # every request gets 401, whatever its token
    repeat_page_items: bool = False  # a page starts with the last item of the previous one
    malformed_items: bool = False  # the first page of every list gains malformed items
    access_key_failures: Mapping[str, int] = field(default_factory=dict)  # subject id -> 404/409/...

    def kind(self, number: int, path_number: int) -> str | None:
        """The fault for the `number`-th request overall, the `path_number`-th to its path."""
        firsts = (("drop", self.drop_first), ("rate_limit", self.rate_limit_first), ("error", self.error_first))
        for kind, first in firsts:
            if path_number <= first:
                return kind
            path_number -= first
        everys = (("drop", self.drop_every), ("rate_limit", self.rate_limit_every), ("error", self.error_every))
        for kind, every in everys:
            if every and number % every == 0:
                return kind
        return None


class PortalData:
    """The portal's records, indexed the way the API reads them."""

    def __init__(self, jobs: Sequence[Any]) -> None:
        self.jobs: list[Any] = []
        self.job_by_id: dict[str, dict[str, Any]] = {}
        self.activities: dict[str, list[Any]] = {}
        self.subjects: dict[str, list[Any]] = {}
        self.access_keys: dict[str, str | None] = {}
        self._jobs_by_status: dict[str, list[Any]] = {}
        for job in jobs:
            self._add_job(job)

    def _add_job(self, job: Any) -> None:
        if not isinstance(job, dict):
            self.jobs.append(job)
            return
        listed = {key: value for key, value in job.items() if key != "activities"}
        self.jobs.append(listed)
        job_id = job.get("id")
        if isinstance(job_id, str):
            self.job_by_id.setdefault(job_id, listed)
            activities = self.activities.setdefault(job_id, [])
            for activity in _list_or_empty(job.get("activities")):
                activities.append(self._add_activity(activity))

    def _add_activity(self, activity: Any) -> Any:
        if not isinstance(activity, dict):
            return activity
        activity_id = activity.get("id")
        subjects = _list_or_empty(activity.get("subjects"))
        if isinstance(activity_id, str):
            self.subjects.setdefault(activity_id, []).extend(subjects)
        for subject in subjects:
            subject_id = subject.get("id") if isinstance(subject, dict) else None
            if isinstance(subject_id, str):
                key = subject.get("access_key")
                if isinstance(key, str) and key:
                    self.access_keys[subject_id] = key  # an existing key is what the POST returns
                else:
                    self.access_keys.setdefault(subject_id, None)
        return {key: value for key, value in activity.items() if key != "subjects"}

    def jobs_with_status(self, status: str | None) -> list[Any]:
        if status is None:
            return self.jobs
        if status not in self._jobs_by_status:
            # A record too broken to have a status is listed anyway, as a broken portal would.
            self._jobs_by_status[status] = [
                job for job in self.jobs if not isinstance(job, dict) or job.get("status") == status
            ]
        return self._jobs_by_status[status]


def load_export(path: str | Path) -> list[Any]:
    """The jobs of a portal export (.jsonl, gzip or not: recognised by its magic bytes)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    jobs = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            try:
                jobs.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise ValueError(f"{path}: line {number} is not JSON") from None
    return jobs


def access_key_for(subject_id: str) -> str:
    """The key the simulator generates: derived from the id, so it is the same every time."""
    return "AK-" + hashlib.sha256(subject_id.encode()).hexdigest()[:10].upper()


class ServedSimulator:
    """The lifecycle of a simulator served on `self._address` by the threaded server
    below (also the Twilio simulator's): a context manager, `url` while it runs."""

    _address: tuple[str, int]
    _handler: type[BaseHTTPRequestHandler] | None = None  # None: the portal's
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._server = _Server(self._address, self, self._handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_until_stopped(self) -> None:
        """Serves (already started) until Ctrl-C or SIGTERM, then stops: the command lines' loop."""
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


class PortalSimulator(ServedSimulator):
    """The portal API on http://127.0.0.1:<ephemeral port>; a context manager."""

    def __init__(
        self,
        jobs: list[dict[str, Any]] | None = None,
        *,
        export_path: str | Path | None = None,
        token: str = "sim-token",
        latency: float = 0.0,
        page_limit_max: int = MAX_LIMIT,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if jobs is not None and export_path is not None:
            raise ValueError("give jobs or export_path, not both")
        if page_limit_max < 1:
            raise ValueError("page_limit_max must be at least 1")
        self.data = PortalData(load_export(export_path) if export_path is not None else jobs or [])
        self.token = token
        self.latency = latency
        self.page_limit_max = page_limit_max
        self.faults = faults or Faults()
        self._address = (_loopback(host), port)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset_stats()

    # -- counters ----------------------------------------------------------

    def reset_stats(self) -> None:
        with self._lock:
            self._requests = 0
            self._by_path: Counter[str] = Counter()
            self._routes: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._in_flight = 0
            self._peak_in_flight = 0
            self._log: deque[tuple[str, str]] = deque(maxlen=LOG_SIZE)

    @property
    def stats(self) -> dict[str, Any]:
        """Requests in all, by route (e.g. `ROUTE_ACCESS_KEY`), faults injected, peak in flight."""
        with self._lock:
            return {
                "requests": self._requests,
                "routes": dict(self._routes),
                "faults": dict(self._faults),
                "peak_in_flight": self._peak_in_flight,
            }

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """(method, path) of the latest requests, in the order they arrived."""
        with self._lock:
            return list(self._log)

    # -- one request -------------------------------------------------------

    def respond(self, method: str, target: str, authorization: str | None) -> Response | None:
        """The response to one request: (status, body, headers), or None to drop the connection.

        The request counts as in flight until its response is ready, so the peak
        never exceeds the client's own bound.
        """
        self._enter_flight()
        try:
            split = urlsplit(target)
            route, portal_id = _route(method, split.path)
            number, path_number = self._count(method, split.path, route)
            if self.latency:
                time.sleep(self.latency)
            if self.faults.wrong_token or authorization != f"Bearer {self.token}":
                return self._fault("unauthorized", _error(401, "unauthorized"))
            fault = self.faults.kind(number, path_number)
            if fault is not None:
                return self._inject(fault)
            return self._serve(route, portal_id, parse_qs(split.query, keep_blank_values=True))
        finally:
            self._leave_flight()

    def _enter_flight(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def _leave_flight(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _count(self, method: str, path: str, route: str) -> tuple[int, int]:
        """The request's number overall and among those to its path (both from 1)."""
        with self._lock:
            self._requests += 1
            self._by_path[f"{method} {path}"] += 1
            self._routes[route] += 1
            self._log.append((method, path))
            return self._requests, self._by_path[f"{method} {path}"]

    def _fault(self, kind: str, response: Any) -> Any:
        with self._lock:
            self._faults[kind] += 1
            return response

    def _inject(self, kind: str) -> Response | None:
        if kind == "drop":
            return self._fault("drop", None)
        if kind == "rate_limit":
            retry_after = {"Retry-After": str(self.faults.retry_after)}
            return self._fault("rate_limit", _error(429, "rate_limited", retry_after))
        statuses = self.faults.error_statuses
        with self._lock:
            status = statuses[self._faults["error"] % len(statuses)]
        return self._fault("error", _error(status, "unavailable"))

    def _serve(self, route: str, portal_id: str | None, query: dict[str, list[str]]) -> Response:
        data = self.data
        if route == ROUTE_JOBS:
            status = _single(query, "status")
            return self._page(f"jobs:{status}", data.jobs_with_status(status), query, _malformed_jobs)
        if route == ROUTE_JOB and portal_id in data.job_by_id:
            return 200, orjson.dumps(data.job_by_id[portal_id]), {}
        if route == ROUTE_ACTIVITIES and portal_id in data.activities:
            activities = data.activities[portal_id]
            return self._page(f"activities:{portal_id}", activities, query, _malformed_activities(portal_id))
        if route == ROUTE_SUBJECTS and portal_id in data.subjects:
            subjects = data.subjects[portal_id]
            return self._page(f"subjects:{portal_id}", subjects, query, _malformed_subjects(portal_id))
        if route == ROUTE_ACCESS_KEY:
            return self._access_key(portal_id)
        return _error(404, "not_found")

    def _page(self, scope: str, items: list[Any], query: dict[str, list[str]], malformed: list[Any]) -> Response:
        limit = _limit(query)
        offset = _offset(query, scope, len(items))
        if limit is None or offset is None:
            return _error(400, "bad_request")
        end = offset + min(limit, self.page_limit_max)
        page = items[offset:end]
        if self.faults.repeat_page_items and offset:
            page = [items[offset - 1], *page]
        if self.faults.malformed_items and not offset:
            page = [*page, *malformed]
        next_cursor = _cursor(scope, end) if end < len(items) else None
        return 200, orjson.dumps({"items": page, "next_cursor": next_cursor}), {}

    def _access_key(self, subject_id: str | None) -> Response:
        refusal = self.faults.access_key_failures.get(subject_id or "")
        if refusal:
            return _error(refusal, "access_key_refused")
        if subject_id not in self.data.access_keys:
            return _error(404, "not_found")
        key = self.data.access_keys[subject_id] or access_key_for(subject_id)
        return 200, orjson.dumps({"subject_id": subject_id, "access_key": key}), {}


# -- requests, parsed ------------------------------------------------------


def _route(method: str, path: str) -> tuple[str, str | None]:
    """The route template of a request and the id in its path."""
    match method, [unquote(part) for part in path.split("/")]:
        case "GET", ["", "v1", "jobs"]:
            return ROUTE_JOBS, None
        case "GET", ["", "v1", "jobs", job_id]:
            return ROUTE_JOB, job_id
        case "GET", ["", "v1", "jobs", job_id, "activities"]:
            return ROUTE_ACTIVITIES, job_id
        case "GET", ["", "v1", "activities", activity_id, "subjects"]:
            return ROUTE_SUBJECTS, activity_id
        case "POST", ["", "v1", "subjects", subject_id, "access-key"]:
            return ROUTE_ACCESS_KEY, subject_id
    return ROUTE_UNKNOWN, None


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _limit(query: dict[str, list[str]]) -> int | None:
    """The page size asked for (1..500, default 100); None when out of range."""
    value = _single(query, "limit")
    if value is None:
        return DEFAULT_LIMIT
    return int(value) if value.isdigit() and 1 <= int(value) <= MAX_LIMIT else None


def _cursor(scope: str, offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([scope, offset])).decode().rstrip("=")


def _offset(query: dict[str, list[str]], scope: str, size: int) -> int | None:
    """Where the cursor points in this list (0 without one); None for a cursor of another list."""
    cursor = _single(query, "cursor")
    if cursor is None:
        return 0
    try:
        cursor_scope, offset = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    valid = cursor_scope == scope and type(offset) is int and 0 < offset <= size
    return offset if valid else None


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> Response:
    return status, orjson.dumps({"error": code}), headers or {}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _list_or_empty(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# Items that break portal-api.yaml, for `Faults.malformed_items`.
_malformed_jobs = [
    {"id": 4242, "organization_id": "org-malformed", "name": "job with an integer id", "status": "webshop_selling"},
    "not a job",
]


def _malformed_activities(job_id: str) -> list[Any]:
    return [{"job_id": job_id, "name": "activity without an id"}]


def _malformed_subjects(activity_id: str) -> list[Any]:
    return [{"id": 12345, "activity_id": activity_id, "first_name": "Integer", "last_name": "Id"}, 7]


# -- the HTTP server -------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections
    disable_nagle_algorithm = True  # a response is one write; never wait for an ACK
    server: _Server

    def do_GET(self) -> None:
        self._discard_body()
        self._answer(self.server.portal.respond(self.command, self.path, self.headers.get("Authorization")))

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _answer(self, response: Response | None) -> None:
        """Writes the response in one piece; None closes the connection without one."""
        if response is None:
            self.close_connection = True  # the dropped-connection fault: no response at all
            return
        status, body, headers = response
        head = [f"HTTP/1.1 {status} {_phrase(status)}", "Content-Type: application/json"]
        head.append(f"Content-Length: {len(body)}")
        head += [f"{name}: {value}" for name, value in headers.items()]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length):
            self.rfile.read(int(length))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a request log per request would drown the caller's own logs


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # bursts of new connections must not be refused
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], portal: Any, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        # `handler` lets another simulator (the Twilio one) reuse this plumbing.
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.portal = self.app = portal
        self._connections: set[socket.socket] = set()
        super().__init__(address, handler or _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Ends kept-alive connections, so their threads end and stop() returns."""
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that hung up is no error
            super().handle_error(request, client_address)


# -- command line ----------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # stderr carries JSON log lines only
        raise _UsageError(message)


def _non_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected milliseconds >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="portal-sim", description="Serve a portal export as the portal API on 127.0.0.1.")
    count = {"type": _non_negative, "default": 0}
    parser.add_argument("--export", required=True, help="portal export (.jsonl or .jsonl.gz)")
    parser.add_argument(
        "--host", default="127.0.0.1",
        help="a loopback address (127.0.0.0/8, ::1, localhost; default 127.0.0.1); others are refused, exit 2",
    )
    parser.add_argument("--port", type=argument_type(port), default=8080, help="port to listen on (default 8080; 0 picks a free port)")
    parser.add_argument("--token", default="sim-token", help="the bearer token clients must send (default sim-token)")
    parser.add_argument("--latency-ms", type=_milliseconds, default=0.0, metavar="MS", help="delay before each answer")
    parser.add_argument(
        "--page-limit-max", type=_non_negative, default=MAX_LIMIT, metavar="N",
        help=f"largest page served, whatever limit is asked (default {MAX_LIMIT})",
    )
    parser.add_argument("--fail-every", **count, metavar="K", help="5xx to every K-th request")
    parser.add_argument("--fail-first", **count, metavar="N", help="5xx to each path's first N requests")
    parser.add_argument("--drop-every", **count, metavar="K", help="drop every K-th request unanswered")
    parser.add_argument("--drop-first", **count, metavar="N", help="drop each path's first N requests unanswered")
    parser.add_argument("--rate-limit-every", **count, metavar="K", help="429 to every K-th request")
    parser.add_argument("--rate-limit-first", **count, metavar="N", help="429 to each path's first N requests")
    parser.add_argument("--retry-after", **count, metavar="S", help="Retry-After of the 429s")
    parser.add_argument("--repeat-page-items", action="store_true", help="start each later page with the last item of the page before")
    parser.add_argument("--malformed-items", action="store_true", help="add malformed items to the first page of every list")
    parser.add_argument("--wrong-token", action="store_true", help="answer every request 401")
    parser.add_argument(
        "--access-key-fail", action="append", default=[], metavar="SUBJECT_ID=STATUS",
        help="answer this HTTP status to the access-key POST of this subject (repeatable)",
    )
    return parser


def _faults(args: argparse.Namespace) -> Faults:
    failures = {}
    for spec in args.access_key_fail:
        subject_id, _, status = spec.rpartition("=")
        if not subject_id or not status.isdigit() or not 400 <= int(status) <= 599:
            raise _UsageError(f"--access-key-fail wants SUBJECT_ID=STATUS, got {spec!r}")
        failures[subject_id] = int(status)
    return Faults(
        rate_limit_every=args.rate_limit_every,
        rate_limit_first=args.rate_limit_first,
        retry_after=args.retry_after,
        error_every=args.fail_every,
        error_first=args.fail_first,
        drop_every=args.drop_every,
        drop_first=args.drop_first,
        wrong_token=args.wrong_token,
        repeat_page_items=args.repeat_page_items,
        malformed_items=args.malformed_items,
        access_key_failures=failures,
    )


def _log(level: str, event: str, **fields: Any) -> None:
    sys.stderr.write(orjson.dumps({"level": level, "event": event, **fields}).decode() + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Serves until Ctrl-C or SIGTERM. Exit status 0, or 2 for a usage error or unreadable export."""
    try:
        args = _parser().parse_args(argv)
        simulator = PortalSimulator(
            export_path=args.export,
            token=args.token,
            latency=args.latency_ms / 1000,
            page_limit_max=args.page_limit_max,
            faults=_faults(args),
            host=args.host,
            port=args.port,
        )
        simulator.start()
    except (_UsageError, ValueError, OSError) as exc:
        _log("error", "portal_sim_failed", error=str(exc))
        return 2
    _log("info", "portal_sim_listening", url=simulator.url, jobs=len(simulator.data.jobs))
    simulator.serve_until_stopped()
    _log("info", "portal_sim_stopped", **simulator.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
