"""Twilio's Messaging API subset (provider-twilio.md) on 127.0.0.1, with faults on demand.

A real HTTP server (the portal simulator's threaded, kept-alive plumbing), so
the adapter is tested over real sockets. It creates, fetches and lists
messages, moves them through their statuses as time passes, POSTs signed
status callbacks (and, on request, inbound messages), and injects the faults
the dispatcher must survive. Its own controls, without auth or latency:
`GET /_sim/messages`, `GET /_sim/stats`, `GET /_sim/created` (each message's
`to` and creation instant in epoch seconds, for benchmarks), `POST /_sim/inbound`
(JSON `url`, `from`, `to`, `body`, optional `service`).

Faults hit create requests, and (`read_*`) fetches and lists. Each is deterministic: a script (the n-th
create overall, or the k-th create to one number) or a rate drawn from a hash
of (seed, To, k), so the same campaign meets the same faults under any
concurrency.

    campaign-cli provider-sim --port 8091 --account-sid AC… --auth-token secret --latency-ms 10
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import heapq
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import httpx
import orjson
import phonenumbers

from campaign_pipeline.common.values import argument_type, port

# The portal simulator's server plumbing and command-line helpers serve here too.
from campaign_pipeline.portal.simulator import (
    ServedSimulator, _Handler, _log, _loopback, _milliseconds, _Parser, _UsageError,
)
from campaign_pipeline.sending.providers.twilio_signature import sign

API_VERSION = "2010-04-01"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_BODY = 1600
FINAL = ("delivered", "undelivered", "failed")
FAULT_KINDS = ("rate_limit", "unavailable", "server_error", "drop", "hang")
READ_FAULT_KINDS = ("rate_limit", "unavailable")
NO_FAULT = "ok"

_E164 = re.compile(r"\+[1-9]\d{1,14}")
_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")

Response = tuple[int, bytes, dict[str, str]]


@dataclass(frozen=True)
class Outcome:
    """Where a message ends: `delivered`, or `undelivered` / `failed` with an error code."""

    status: str = "delivered"
    error_code: int | None = None

    def __post_init__(self) -> None:
        if self.status not in FINAL:
            raise ValueError(f"an outcome is one of {', '.join(FINAL)}, not {self.status!r}")
        if (self.status == "delivered") != (self.error_code is None):
            raise ValueError("undelivered and failed need an error code; delivered has none")


@dataclass(frozen=True)
class Rules:
    """What happens to a number, by the longest matching suffix of its E.164 form
    (a whole number is its own longest suffix; "0" is every number ending in 0)."""

    outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    rejections: Mapping[str, int] = field(default_factory=dict)  # suffix -> code at create (21211, 21610…)
    step_seconds: float = 1.0  # between two statuses of a message

    def outcome(self, to: str) -> Outcome:
        return _by_suffix(self.outcomes, to) or Outcome()

    def rejection(self, to: str) -> int | None:
        return _by_suffix(self.rejections, to)


@dataclass(frozen=True)
class Faults:
    """Faults on create requests; all off by default. Kinds:

    - `rate_limit`: 429, code 20429, `Retry-After: retry_after`; nothing created
    - `unavailable`: 503; nothing created
    - `server_error`: the message is created, then 500
    - `drop`: the message is created, then the connection closes without an answer
    - `hang`: the message is created, the answer is held `hang_seconds`

    `script` gives the kinds of the first create requests in arrival order
    (`ok` for none); `per_to` those of the k-th create to one number; after
    them, the rates apply (each a probability per request, summed at most 1).
    """

    rate_limit: float = 0.0
    unavailable: float = 0.0
    server_error: float = 0.0
    drop: float = 0.0
    hang: float = 0.0
    retry_after: int = 1
    hang_seconds: float = 30.0
    script: tuple[str, ...] = ()
    per_to: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    seed: int = 0
    callback_duplicates: float = 0.0  # share of status callbacks POSTed twice
    # Faults on reads (fetch and list), `rate_limit` or `unavailable` only: a read changes
    # nothing, so the others would be the same fault. `read_script` gives the first reads'.
    read_rate_limit: float = 0.0
    read_unavailable: float = 0.0
    read_script: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rates = [self.rate_limit, self.unavailable, self.server_error, self.drop, self.hang, self.callback_duplicates,
                 self.read_rate_limit, self.read_unavailable]
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates[:5]) > 1 or sum(rates[6:]) > 1:
            raise ValueError("fault rates are between 0 and 1 and sum to at most 1")
        for kind in self.read_script:
            if kind not in (*READ_FAULT_KINDS, NO_FAULT):
                raise ValueError(f"unknown read fault {kind!r}: one of {', '.join((*READ_FAULT_KINDS, NO_FAULT))}")
        for kind in (*self.script, *(k for kinds in self.per_to.values() for k in kinds)):
            if kind not in (*FAULT_KINDS, NO_FAULT):
                raise ValueError(f"unknown fault {kind!r}: one of {', '.join((*FAULT_KINDS, NO_FAULT))}")

    def kind(self, number: int, to: str, to_number: int) -> str | None:
        """The fault of the `number`-th create overall, the `to_number`-th to `to` (from 1)."""
        scripted = self.per_to.get(to, ())
        if to_number <= len(scripted):
            return _fault_or_none(scripted[to_number - 1])
        if number <= len(self.script):
            return _fault_or_none(self.script[number - 1])
        return self._drawn(f"{to}:{to_number}", [(kind, getattr(self, kind)) for kind in FAULT_KINDS])

    def read_kind(self, number: int) -> str | None:
        """The fault of the `number`-th read (fetch or list) overall, from 1."""
        if number <= len(self.read_script):
            return _fault_or_none(self.read_script[number - 1])
        return self._drawn(f"read:{number}", [(kind, getattr(self, f"read_{kind}")) for kind in READ_FAULT_KINDS])

    def _drawn(self, key: str, rates: list[tuple[str, float]]) -> str | None:
        """The kind the draw for `key` falls on, each kind taking its rate's share of [0, 1)."""
        draw = self.draw(key)
        for kind, rate in rates:
            draw -= rate
            if draw < 0:
                return kind
        return None

    def draw(self, key: str) -> float:
        """A number in [0, 1) fixed by the seed and the key."""
        digest = hashlib.blake2b(f"{self.seed}:{key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) / 2**64


def _fault_or_none(kind: str) -> str | None:
    return None if kind == NO_FAULT else kind


def _by_suffix(table: Mapping[str, Any], to: str) -> Any:
    for length in range(len(to), 0, -1):
        if to[-length:] in table:
            return table[to[-length:]]
    return None


@dataclass
class _Message:
    sid: str
    to: str
    sender: str | None  # `from`
    service: str | None  # messaging_service_sid
    body: str
    created: float  # epoch seconds
    outcome: Outcome
    callback: str | None
    timeline: list[tuple[float, str]]  # (seconds after creation, status), in order


# -- the HTTP server -----------------------------------------------------------


class _TwilioHandler(_Handler):
    def do_GET(self) -> None:
        length = self.headers.get("Content-Length", "0")
        body = self.rfile.read(int(length)) if length.isdigit() and int(length) else b""
        simulator: TwilioSimulator = self.server.app
        self._answer(simulator.respond(self.command, self.path, self.headers.get("Authorization"), body))

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class TwilioSimulator(ServedSimulator):
    """The API on http://127.0.0.1:<port>; a context manager."""

    _handler = _TwilioHandler

    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "sim-token",
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        latency: float = 0.0,
        rules: Rules | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.latency = latency
        self.rules = rules or Rules()
        self.faults = faults or Faults()
        self._credentials = {_basic(account_sid, auth_token)}
        if api_key and api_secret:
            self._credentials.add(_basic(api_key, api_secret))
        self._address = (_loopback(host), port)
        self._prefix = f"/{API_VERSION}/Accounts/{account_sid}/Messages"
        self._lock = threading.Lock()
        self._messages: dict[str, _Message] = {}  # by sid, in creation order
        self._by_to: dict[str, list[_Message]] = {}
        self._creates = 0
        self._reads = 0
        self._creates_to: Counter[str] = Counter()
        self._stats: Counter[str] = Counter()
        self._callbacks = _Callbacks(auth_token, self.faults)

    # -- lifecycle: the portal simulator's, plus the callback sender ------------

    def start(self) -> None:
        super().start()
        self._callbacks.start()

    def stop(self) -> None:
        if self._server is not None:
            super().stop()
            self._callbacks.stop()

    # -- what tests read ---------------------------------------------------

    def messages(self) -> list[dict[str, Any]]:
        """Every message created, oldest first, as the API shows it now."""
        now = time.time()
        with self._lock:
            return [self._resource(message, now) for message in self._messages.values()]

    def created_per_to(self) -> Counter[str]:
        """How many messages were created per recipient (exactly once means all 1)."""
        with self._lock:
            return Counter({to: len(messages) for to, messages in self._by_to.items()})

    def max_created_per_second(self) -> int:
        """The most messages created (as received) in any one-second interval: what a
        throttle's bound is checked against."""
        with self._lock:
            return max_in_any_second(message.created for message in self._messages.values())

    @property
    def stats(self) -> dict[str, Any]:
        """Requests by route, faults injected, messages created, callbacks posted."""
        with self._lock:
            return {**self._stats, "created": len(self._messages), "callbacks": self._callbacks.posted}

    # -- one request -------------------------------------------------------

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response | None:
        split = urlsplit(target)
        path = unquote(split.path)
        if path.startswith("/_sim/"):  # the simulator's own controls: no latency, no auth
            return self._admin(method, path, body)
        if self.latency:
            time.sleep(self.latency)
        if authorization not in self._credentials:
            return self._count("unauthorized", _error(401, 20003, "Authenticate"))
        if path == self._prefix + ".json" and method == "POST":
            return self._create(dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
        is_list = path == self._prefix + ".json"
        is_fetch = path.startswith(self._prefix + "/") and path.endswith(".json")
        if (is_list or is_fetch) and method == "GET":
            fault = self._read_fault()
            if fault is not None:
                return fault
        if is_list and method == "GET":
            return self._count("list", self._list(parse_qsl(split.query, keep_blank_values=True)))
        if is_fetch and method == "GET":
            return self._count("fetch", self._fetch(path[len(self._prefix) + 1 : -len(".json")]))
        return self._count("not_found", _error(404, 20404, f"The requested resource {path} was not found"))

    def _count(self, what: str, response: Any) -> Any:
        with self._lock:
            self._stats[what] += 1
        return response

    def _create(self, form: dict[str, str]) -> Response | None:
        to = form.get("To", "")
        with self._lock:
            self._stats["create"] += 1
            self._creates += 1
            self._creates_to[to] += 1
            fault = self.faults.kind(self._creates, to, self._creates_to[to])
            if fault:
                self._stats[f"fault_{fault}"] += 1
        if fault == "rate_limit":
            headers = {"Retry-After": str(self.faults.retry_after)}
            return _error(429, 20429, "Too Many Requests", headers)
        if fault == "unavailable":
            return _error(503, 20503, "Service Unavailable")
        refusal = self._refusal(form)
        if refusal is not None:
            return refusal
        message = self._new_message(form)
        if fault == "server_error":
            return _error(500, 20500, "Internal Server Error")
        if fault == "drop":
            return None
        if fault == "hang":
            time.sleep(self.faults.hang_seconds)
        return 201, orjson.dumps(self._resource(message, message.created)), {}

    def _read_fault(self) -> Response | None:
        with self._lock:
            self._reads += 1
            fault = self.faults.read_kind(self._reads)
            if fault:
                self._stats[f"read_fault_{fault}"] += 1
        if fault == "rate_limit":
            return _error(429, 20429, "Too Many Requests", {"Retry-After": str(self.faults.retry_after)})
        if fault == "unavailable":
            return _error(503, 20503, "Service Unavailable")
        return None

    def _refusal(self, form: dict[str, str]) -> Response | None:
        to, sender, service, body = (form.get(name) for name in ("To", "From", "MessagingServiceSid", "Body"))
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not _E164.fullmatch(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not service:
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
        if service and not _SERVICE_SID.fullmatch(service):
            return _error(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        code = self.rules.rejection(to)
        if code is not None:
            return _error(400, code, _REJECTIONS.get(code, "The message cannot be sent to this number."))
        return None

    def _new_message(self, form: dict[str, str]) -> _Message:
        service = form.get("MessagingServiceSid") or None
        outcome = self.rules.outcome(form["To"])
        message = _Message(
            sid="SM" + uuid.uuid4().hex,
            to=form["To"],
            sender=None if service else form["From"],
            service=service,
            body=form["Body"],
            created=time.time(),
            outcome=outcome,
            callback=form.get("StatusCallback") or None,
            timeline=_timeline(service is not None, outcome, self.rules.step_seconds),
        )
        with self._lock:
            self._messages[message.sid] = message
            self._by_to.setdefault(message.to, []).append(message)
        if message.callback:
            for offset, status in message.timeline[1:]:
                self._callbacks.schedule(message.created + offset, message.callback, self._callback_form(message, status))
        return message

    def _callback_form(self, message: _Message, status: str) -> dict[str, str]:
        form = {
            "MessageSid": message.sid, "SmsSid": message.sid, "MessageStatus": status, "SmsStatus": status,
            "To": message.to, "From": message.sender or "", "AccountSid": self.account_sid, "ApiVersion": API_VERSION,
        }
        if message.service:
            form["MessagingServiceSid"] = message.service
        if status in ("undelivered", "failed"):
            form["ErrorCode"] = str(message.outcome.error_code)
        return form

    def _fetch(self, sid: str) -> Response:
        with self._lock:
            message = self._messages.get(sid)
        if message is None:
            return _error(404, 20404, f"The requested resource {self._prefix}/{sid}.json was not found")
        return 200, orjson.dumps(self._resource(message, time.time())), {}

    def _list(self, query: list[tuple[str, str]]) -> Response:
        filters = {name: value for name, value in query if name != "PageToken" and name != "Page"}
        token = dict(query).get("PageToken", "")
        size_text = filters.get("PageSize", str(DEFAULT_PAGE_SIZE))
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            return _error(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
        size = int(size_text)
        now = time.time()
        with self._lock:
            pool = self._by_to.get(filters["To"], []) if "To" in filters else list(self._messages.values())
            resources = [self._resource(m, now) for m in reversed(pool)]  # newest first
        resources = [r for r in resources if _matches(r, filters)]
        start = 0
        if token:
            sids = [r["sid"] for r in resources]
            start = sids.index(token[2:]) + 1 if token[2:] in sids else len(resources)
        page = resources[start : start + size]
        page_number = int(dict(query).get("Page", "0") or 0)
        base = f"{self._prefix}.json?" + urlencode({**filters, "PageSize": size})
        next_uri = None
        if start + size < len(resources):
            next_uri = base + "&" + urlencode({"Page": page_number + 1, "PageToken": "PA" + page[-1]["sid"]})
        body = {
            "messages": page, "next_page_uri": next_uri, "page": page_number, "page_size": size,
            "first_page_uri": base + "&Page=0", "previous_page_uri": None,
            "uri": f"{self._prefix}.json?" + urlencode(query), "start": start, "end": start + len(page) - 1,
        }
        return 200, orjson.dumps(body), {}

    def _resource(self, message: _Message, now: float) -> dict[str, Any]:
        """The message as the API shows it at `now`."""
        elapsed = now - message.created
        reached = [(offset, status) for offset, status in message.timeline if offset <= elapsed] or message.timeline[:1]
        updated, status = reached[-1]
        sent = next((offset for offset, s in message.timeline if s == "sent" and offset <= elapsed), None)
        failed = status in ("undelivered", "failed")
        return {
            "sid": message.sid, "account_sid": self.account_sid, "to": message.to, "from": message.sender,
            "messaging_service_sid": message.service, "body": message.body, "status": status,
            "num_segments": str(_segments(message.body)), "num_media": "0", "direction": "outbound-api",
            "api_version": API_VERSION,
            "date_created": _rfc2822(message.created), "date_updated": _rfc2822(message.created + updated),
            "date_sent": None if sent is None else _rfc2822(message.created + sent),
            "error_code": message.outcome.error_code if failed else None,
            "error_message": None, "price": None, "price_unit": "USD",
            "uri": f"{self._prefix}/{message.sid}.json",
        }

    def inbound(self, url: str, sender: str, to: str, body: str, service: str | None = None) -> int:
        """POSTs an inbound message from `sender` (the person) to the sender number `to`,
        to the product's `url`, signed as Twilio signs it; the HTTP status it got."""
        form = {
            "MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": self.account_sid, "From": sender, "To": to,
            "Body": body, "NumSegments": str(_segments(body)), "NumMedia": "0", "FromCountry": _country(sender),
            "ApiVersion": API_VERSION,
        }
        if service:
            form["MessagingServiceSid"] = service
        keyword = _OPT_OUT_TYPES.get(body.strip().upper())
        if keyword:
            form["OptOutType"] = keyword  # as Advanced Opt-Out adds it
        with httpx.Client(timeout=10) as client:
            headers = {"X-Twilio-Signature": sign(self.auth_token, url, form)}
            return client.post(url, data=form, headers=headers).status_code

    def _admin(self, method: str, path: str, body: bytes) -> Response:
        if path == "/_sim/inbound" and method == "POST":
            try:
                fields = orjson.loads(body)
                status = self.inbound(fields["url"], fields["from"], fields["to"], fields["body"], fields.get("service"))
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                return 400, orjson.dumps({"error": f"want JSON url, from, to, body [, service]: {exc}"}), {}
            except httpx.HTTPError as exc:
                return 502, orjson.dumps({"error": f"{type(exc).__name__} posting to the url"}), {}
            return 200, orjson.dumps({"status": status}), {}
        if method != "GET":
            return _error(405, 20004, "Method not allowed")
        if path == "/_sim/messages":
            return 200, orjson.dumps({"messages": self.messages()}), {}
        if path == "/_sim/created":
            with self._lock:
                created = [[message.to, message.created] for message in self._messages.values()]
            return 200, orjson.dumps({"created": created}), {}
        if path == "/_sim/stats":
            return 200, orjson.dumps({**self.stats, "per_to_max": max(self.created_per_to().values(), default=0),
                                      "max_created_per_second": self.max_created_per_second()}), {}
        return _error(404, 20404, "unknown admin path")



def max_in_any_second(moments) -> int:
    """The most of these instants (epoch seconds) in any one-second interval."""
    moments = sorted(moments)
    best, low = 0, 0
    for high, moment in enumerate(moments):
        while moment - moments[low] >= 1.0:
            low += 1
        best = max(best, high - low + 1)
    return best

# Twilio's default opt-out keywords, as Advanced Opt-Out reports them (OptOutType).
_OPT_OUT_TYPES = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "STOP"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "START"),
    **dict.fromkeys(("HELP", "INFO"), "HELP"),
}

_REJECTIONS = {
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


def _timeline(service: bool, outcome: Outcome, step: float) -> list[tuple[float, str]]:
    statuses = ["accepted"] if service else []
    statuses.append("queued")
    if outcome.status == "failed":
        statuses.append("failed")
    else:
        statuses += ["sending", "sent", outcome.status]
    return [(index * step, status) for index, status in enumerate(statuses)]


def _matches(resource: dict[str, Any], filters: dict[str, str]) -> bool:
    if "To" in filters and resource["to"] != filters["To"]:
        return False
    if "From" in filters and resource["from"] != filters["From"]:
        return False
    checks = (("DateSent", "=="), ("DateSent<", "<="), ("DateSent>", ">="))
    for name, relation in checks:
        if name in filters:
            if resource["date_sent"] is None:
                return False  # not sent yet: no DateSent filter matches
            sent = _day(resource["date_sent"])
            wanted = date.fromisoformat(filters[name][:10])
            if not {"==": sent == wanted, "<=": sent <= wanted, ">=": sent >= wanted}[relation]:
                return False
    return True


def _day(rfc2822: str) -> date:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(rfc2822).date()


def _country(phone: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone)) or ""
    except phonenumbers.NumberParseException:
        return ""


def _segments(body: str) -> int:
    # Good enough for a simulator: GSM-7 when ASCII, else UCS-2 (the send rules count exactly).
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // part)


def _rfc2822(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(epoch), UTC))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return status, orjson.dumps(body), headers or {}


# -- status callbacks --------------------------------------------------------


class _Callbacks:
    """POSTs status callbacks when they fall due, signed as Twilio signs them."""

    def __init__(self, auth_token: str, faults: Faults) -> None:
        self._token = auth_token
        self._faults = faults
        self._due: list[tuple[float, int, str, dict[str, str]]] = []
        self._wake = threading.Condition()
        self._sequence = 0
        self._stopping = False
        self.posted = 0
        self._pool: ThreadPoolExecutor | None = None
        self._http: httpx.Client | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._http = httpx.Client(timeout=5.0)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="twilio-sim-callback")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._http.close()
            self._thread = None

    def schedule(self, when: float, url: str, form: dict[str, str]) -> None:
        with self._wake:
            self._sequence += 1
            heapq.heappush(self._due, (when, self._sequence, url, form))
            if self._faults.callback_duplicates and self._faults.draw(f"callback:{self._sequence}") < self._faults.callback_duplicates:
                self._sequence += 1
                heapq.heappush(self._due, (when + 0.05, self._sequence, url, form))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._due or self._due[0][0] > time.time()):
                    self._wake.wait(None if not self._due else max(0.0, self._due[0][0] - time.time()))
                if self._stopping:
                    return
                _, _, url, form = heapq.heappop(self._due)
            self._pool.submit(self._post, url, form)

    def _post(self, url: str, form: dict[str, str]) -> None:
        try:
            self._http.post(url, data=form, headers={"X-Twilio-Signature": sign(self._token, url, form)})
        except httpx.HTTPError:
            return  # Twilio does not insist either
        with self._wake:
            self.posted += 1


# -- command line ----------------------------------------------------------


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a rate between 0 and 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="campaign-cli provider-sim",
        description="Serve a simulator of Twilio's Messaging API subset (provider-twilio.md) on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.0/8, ::1, localhost); others are refused, exit 2")
    parser.add_argument("--port", type=argument_type(port), default=8091, help="port to listen on (default 8091; 0 picks a free port)")
    parser.add_argument("--account-sid", default="AC" + "0" * 32, help="the account sid clients authenticate as (default AC000…0)")
    parser.add_argument("--auth-token", default="sim-token", help="the account's auth token (default sim-token); also signs callbacks")
    parser.add_argument("--api-key", help="an API key sid (SK…) accepted in place of the account sid")
    parser.add_argument("--api-secret", help="the API key's secret")
    parser.add_argument("--latency-ms", type=_milliseconds, default=0.0, metavar="MS", help="delay before each answer (default 0)")
    parser.add_argument("--step-ms", type=_milliseconds, default=1000.0, metavar="MS", help="time between two statuses of a message (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault rates (default 0)")
    for kind, text in (
        ("rate-limit", "429 (code 20429, Retry-After), nothing created"),
        ("unavailable", "503, nothing created"),
        ("server-error", "500 after creating the message"),
        ("drop", "close the connection without an answer after creating the message"),
        ("hang", "hold the answer back --hang-ms after creating the message"),
    ):
        parser.add_argument(f"--fault-{kind}", type=_rate, default=0.0, metavar="RATE", help=f"share of creates answered: {text}")
    parser.add_argument("--fault-script", default="", metavar="KIND,…", help=f"faults of the first creates in order ({', '.join((*FAULT_KINDS, NO_FAULT))})")
    parser.add_argument("--fault-read-rate-limit", type=_rate, default=0.0, metavar="RATE",
                        help="share of fetches and lists answered 429 (Retry-After)")
    parser.add_argument("--fault-read-unavailable", type=_rate, default=0.0, metavar="RATE",
                        help="share of fetches and lists answered 503")
    parser.add_argument("--retry-after", type=int, default=1, metavar="S", help="Retry-After of the 429s (default 1)")
    parser.add_argument("--hang-ms", type=_milliseconds, default=30000.0, metavar="MS", help="how long a hang holds the answer (default 30000)")
    parser.add_argument("--callback-duplicates", type=_rate, default=0.0, metavar="RATE", help="share of status callbacks POSTed twice")
    parser.add_argument("--outcome", action="append", default=[], metavar="SUFFIX=STATUS[:CODE]",
                        help="numbers ending in SUFFIX end undelivered/failed with CODE, e.g. 0=undelivered:30003 (repeatable)")
    parser.add_argument("--reject", action="append", default=[], metavar="SUFFIX=CODE",
                        help="numbers ending in SUFFIX are refused at create with CODE, e.g. 99=21610 (repeatable)")
    return parser


def _rules(args: argparse.Namespace) -> Rules:
    outcomes, rejections = {}, {}
    for spec in args.outcome:
        suffix, _, rest = spec.partition("=")
        status, _, code = rest.partition(":")
        if not suffix or (code and not code.isdigit()):
            raise _UsageError(f"--outcome wants SUFFIX=STATUS[:CODE], got {spec!r}")
        outcomes[suffix] = Outcome(status, int(code) if code else None)
    for spec in args.reject:
        suffix, _, code = spec.partition("=")
        if not suffix or not code.isdigit():
            raise _UsageError(f"--reject wants SUFFIX=CODE, got {spec!r}")
        rejections[suffix] = int(code)
    return Rules(outcomes=outcomes, rejections=rejections, step_seconds=args.step_ms / 1000)


def _faults(args: argparse.Namespace) -> Faults:
    return Faults(
        rate_limit=args.fault_rate_limit, unavailable=args.fault_unavailable, server_error=args.fault_server_error,
        drop=args.fault_drop, hang=args.fault_hang, read_rate_limit=args.fault_read_rate_limit,
        read_unavailable=args.fault_read_unavailable, retry_after=args.retry_after, hang_seconds=args.hang_ms / 1000,
        script=tuple(kind.strip() for kind in args.fault_script.split(",") if kind.strip()),
        seed=args.seed, callback_duplicates=args.callback_duplicates,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Serves until Ctrl-C or SIGTERM. Exit 0, or 2 for a usage error (bad flag, non-loopback host)."""
    try:
        args = _parser().parse_args(argv)
        simulator = TwilioSimulator(
            args.account_sid, args.auth_token, api_key=args.api_key, api_secret=args.api_secret,
            latency=args.latency_ms / 1000, rules=_rules(args), faults=_faults(args), host=args.host, port=args.port,
        )
        simulator.start()
    except (_UsageError, ValueError, OSError) as exc:
        _log("error", "provider_sim_failed", error=str(exc))
        return 2
    _log("info", "provider_sim_listening", url=simulator.url, account_sid=args.account_sid)
    # As the dispatcher does: full collections skip what the imports made, so the times it
    # records messages received at are not bunched by 50 ms pauses (a real provider has none).
    gc.freeze()
    simulator.serve_until_stopped()
    _log("info", "provider_sim_stopped", **simulator.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
