"""The webhook server's ASGI app (Starlette): authentication, limits and answers.
What a callback means for the database is in sending/delivery.py and
sending/replies.py; this module only turns requests into their calls.

Every POST is checked in this order, and nothing is changed by one refused:
body over MAX_BODY_BYTES -> 413; missing or wrong X-Twilio-Signature -> 403
(whatever the body); signed but malformed -> 400. Any other failure is a 500
with one masked JSON log line; the server goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.common.masking import mask_phone
from campaign_pipeline.sending import delivery, replies
from campaign_pipeline.sending.db.models import utc_now
from campaign_pipeline.sending.providers.twilio_signature import valid
from campaign_pipeline.sending.webhooks import forms, twiml
from campaign_pipeline.sending.webhooks.group_commit import GroupCommit, single_thread
from campaign_pipeline.sending.webhooks.settings import WebhookSettings, webhook_settings

STATUS_PATH, INBOUND_PATH, HEALTH_PATH = "/twilio/status", "/twilio/inbound", "/healthz"
_FORM = "application/x-www-form-urlencoded"
RUN_ID_VARIABLE = "CAMPAIGN_WEBHOOKS_RUN_ID"
COUNT_INTERVAL_SECONDS = 60.0


class CallbackCounts:
    """Status callbacks by outcome, one `callback_counts` line at most every
    `interval` seconds (and at shutdown), not a line per callback."""

    def __init__(self, log: JsonLog, interval: float):
        self.log, self.interval = log, interval
        self.counts: Counter[str] = Counter()
        self.batches = 0  # transactions: callbacks / batches is how much group commit saves
        self.since = time.monotonic()

    def add(self, outcomes) -> None:
        self.counts.update(outcomes)
        self.batches += 1
        if time.monotonic() - self.since >= self.interval:
            self.flush()

    def flush(self) -> None:
        now = time.monotonic()
        if self.counts:
            self.log.info("callback_counts", seconds=round(now - self.since, 1), callbacks=self.counts.total(),
                          batches=self.batches, **dict(sorted(self.counts.items())))
        self.counts.clear()
        self.batches = 0
        self.since = now


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def signed_url(base_url: str | None, scope: dict, host: str | None) -> str:
    """The URL Twilio signed: the base URL (else the scheme and Host the request
    came with) + the path and query exactly as received, still percent-encoded."""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    front = base_url or f"{scope['scheme']}://{host or ''}"
    return front + path + (f"?{query}" if query else "")


def create_app(engine: Engine, settings: WebhookSettings, log: JsonLog, *,
               count_interval: float = COUNT_INTERVAL_SECONDS) -> Starlette:
    writer = single_thread("status-writer")
    if engine.dialect.name == "sqlite":
        # One writer at a time and one connection per process (pool_options): every
        # database call runs on the writer's thread, one after another.
        async def database(call, *args):
            return await asyncio.get_running_loop().run_in_executor(writer, call, *args)
    else:  # a round trip to the server: other requests go on meanwhile
        async def database(call, *args):
            return await run_in_threadpool(call, *args)

    counts = CallbackCounts(log, count_interval)
    # Status callbacks commit in batches (group_commit.py); replies and health do not wait for one.
    statuses = GroupCommit(lambda updates: delivery.apply_statuses(engine, updates).outcomes, writer,
                           on_batch=counts.add)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await statuses.close()
        counts.flush()
        writer.shutdown(wait=False)

    async def authenticated_form(request: Request) -> list[tuple[str, str]]:
        body = await _limited_body(request)
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            raise Refused(403, "no signature")
        # Twilio signs a form's fields; any other body it signs by the URL alone.
        form = request.headers.get("content-type", "").split(";")[0].strip().lower() == _FORM
        try:
            pairs = forms.parse_form(body) if form else []
        except forms.Malformed:
            raise Refused(403, "unreadable form") from None
        if not valid(settings.auth_token, signed_url(settings.base_url, request.scope, request.headers.get("host")),
                     pairs, signature):
            raise Refused(403, "bad signature")
        return pairs

    async def status(request: Request) -> Response:
        news = forms.status_news(await authenticated_form(request))
        outcome = await statuses.submit(delivery.StatusUpdate(news.provider_message_id, news.status,
                                                               news.error_code, utc_now()))
        if outcome in (delivery.UNMATCHED, delivery.IGNORED):
            log.info(f"status_{outcome}", message_sid=news.provider_message_id, status=news.status)
        return Response(status_code=204)

    async def inbound(request: Request) -> Response:
        message = forms.inbound_message(await authenticated_form(request))
        received = await database(replies.receive, engine, message)
        if received.organization is None:
            log.warning("inbound_unknown_sender", message_sid=message.provider_message_id,
                        to=mask_phone(message.to), phone=mask_phone(message.phone))
            return Response(twiml.NO_REPLY, media_type=twiml.CONTENT_TYPE)
        log.info("reply_received", message_sid=message.provider_message_id, organization_id=received.organization.id,
                 phone=mask_phone(message.phone), action=received.action, duplicate=received.duplicate,
                 changed=received.changed)
        answer = twiml.reply(received.help_text) if received.action == "help" else twiml.NO_REPLY
        return Response(answer, media_type=twiml.CONTENT_TYPE)

    async def health(_request: Request) -> Response:
        try:
            await database(_ping, engine)
        except Exception as error:  # noqa: BLE001 - reported, answered 503
            log.warning("health_failed", error=_first_line(error))
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def refused(request: Request, error: Refused) -> Response:
        log.warning("webhook_refused", path=request.url.path, status=error.status, reason=error.reason)
        return JSONResponse({"error": error.reason}, status_code=error.status)

    async def malformed(request: Request, error: forms.Malformed) -> Response:
        log.warning("webhook_malformed", path=request.url.path, status=400, reason=str(error))
        return JSONResponse({"error": str(error)}, status_code=400)

    return Starlette(
        routes=[Route(STATUS_PATH, status, methods=["POST"]), Route(INBOUND_PATH, inbound, methods=["POST"]),
                Route(HEALTH_PATH, health, methods=["GET"])],
        middleware=[Middleware(_LastResort, log=log)],
        exception_handlers={Refused: refused, forms.Malformed: malformed},
        lifespan=lifespan,
    )


async def _limited_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if declared is not None and (not (declared.isascii() and declared.isdigit())
                                 or int(declared) > forms.MAX_BODY_BYTES):
        raise Refused(413, f"body over {forms.MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > forms.MAX_BODY_BYTES:
            raise Refused(413, f"body over {forms.MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"


class _LastResort:
    """Any exception a request raises: one JSON log line (masked by JsonLog), a 500
    if nothing was answered yet, and the server goes on (Starlette's own handler
    would re-raise it to uvicorn, which prints a traceback)."""

    def __init__(self, app, log: JsonLog):
        self.app, self.log = app, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as error:  # noqa: BLE001 - the last line of defence
            self.log.error("webhook_failed", path=scope.get("path"), error=_first_line(error))
            if not started:
                await JSONResponse({"error": "internal error"}, status_code=500)(scope, receive, send)


class _JsonLogHandler(logging.Handler):
    """uvicorn's own log records as JSON lines (stderr carries nothing else)."""

    def __init__(self, log: JsonLog):
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING else "info"
        self.log.emit(level, "server", logger=record.name, message=record.getMessage()[:500])


def route_server_logs(log: JsonLog) -> None:
    """uvicorn's loggers write through `log`; tracebacks never reach stderr, and
    there is no access log (a line per callback; refusals and failures are logged)."""
    logging.getLogger("uvicorn").handlers = [_JsonLogHandler(log)]
    logging.getLogger("uvicorn").propagate = False
    logging.getLogger("uvicorn").setLevel(logging.INFO)
    logging.getLogger("uvicorn.error").handlers = []
    logging.getLogger("uvicorn.error").propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate, access.disabled = [], False, True


def from_environment() -> Starlette:
    """The app of one uvicorn worker (its factory): settings and the database
    from the environment, already migrated by the command that started it."""
    from campaign_pipeline.sending.db.engine import open_database

    log = JsonLog(run_id=os.environ.get(RUN_ID_VARIABLE))  # the command's run id, in every worker
    route_server_logs(log)
    settings = webhook_settings()
    return create_app(open_database(settings.database_url, migrate=False, **pool_options(settings.database_url)),
                      settings, log)


def pool_options(url: str) -> dict:
    """SQLite takes one writer at a time: one connection per process, used by
    its writer thread only (the workers' batches meet at SQLite's lock, one
    transaction a batch). PostgreSQL: a connection per request thread that is
    likely busy at once, and the writer's."""
    if url.startswith("sqlite"):
        return {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
    return {"pool_size": 16, "max_overflow": 8}
