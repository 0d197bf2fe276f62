"""`campaign-cli webhooks`: the app on uvicorn, one process or several workers.

The command checks the settings and migrates the database, then binds the
socket itself (a port in use is one JSON error line, `--port 0` takes a free
one and logs it) and hands it to uvicorn. Each worker builds its app from the
environment (app.from_environment), so one and several workers run the same code.
"""

from __future__ import annotations

import os
import socket

from campaign_pipeline.common.errors import InputError, RunFailed
from campaign_pipeline.common.interrupts import Interrupted
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.sending.db.engine import open_database
from campaign_pipeline.sending.webhooks.app import (
    HEALTH_PATH, INBOUND_PATH, RUN_ID_VARIABLE, STATUS_PATH, route_server_logs,
)
from campaign_pipeline.sending.webhooks.settings import webhook_settings

APP_FACTORY = "campaign_pipeline.sending.webhooks.app:from_environment"


def serve(host: str, port: int, workers: int, log: JsonLog) -> int:
    import uvicorn

    if workers < 1:
        raise InputError("--workers must be at least 1")
    settings = webhook_settings()
    open_database(settings.database_url).dispose()  # migrated once, here, before any worker starts
    listening = _bind(host, port)
    route_server_logs(log)
    os.environ[RUN_ID_VARIABLE] = log.run_id
    bound_host, bound_port = listening.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log.info("webhooks_listening", url=f"http://{shown}:{bound_port}", workers=workers,
             status_path=STATUS_PATH, inbound_path=INBOUND_PATH, health_path=HEALTH_PATH,
             base_url=settings.base_url, port=bound_port)
    try:
        # uvicorn serves the socket bound here (fd), in this process or in `workers` children.
        uvicorn.run(APP_FACTORY, factory=True, fd=listening.fileno(), workers=workers, log_config=None,
                    access_log=False, server_header=False, timeout_graceful_shutdown=10)
    except Interrupted as stop:  # uvicorn re-raises the signal it stopped on: a normal end
        log.info("webhooks_stopped", signal=stop.name)
        return 0
    except SystemExit as failed:  # uvicorn's own exit when the app could not start (logged above)
        raise RunFailed(f"the webhook server could not start (uvicorn exit {failed.code})") from None
    finally:
        listening.close()
    log.info("webhooks_stopped")
    return 0


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise InputError(f"--host {host!r} cannot be resolved: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as error:
        listening.close()
        raise RunFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listening.listen(2048)
    listening.set_inheritable(True)
    return listening
