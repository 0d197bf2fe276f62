"""Benchmark: status callbacks into `campaign-cli webhooks`, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_webhooks.py [--messages 20000] [--clients 32] [--client-processes 2]
                                                  [--db sqlite,postgresql,postgresql-durable] [--workers 2]

A campaign of N handed-over messages (`accepted`) gets 3 signed status callbacks
per message (queued, sent, and its outcome: 90% delivered, 5% undelivered, 5%
failed), shuffled over the whole run so many arrive out of order, POSTed by
C concurrent keep-alive clients to the real server (a separate process, its
workers as given). Printed per
database: callbacks per second, latency p50/p99/max, the server's CPU per
callback, answers by status, and whether every message ended in its outcome
(nothing lost: a stale `sent` after `delivered` must change nothing).

The clients are plain asyncio streams with every request signed and encoded
beforehand, in `--client-processes` processes (C split among them), so the
load generator costs as little CPU as possible and is not one starved
process on a machine it shares with the server. `postgresql` is the tests'
throwaway server (fsync and synchronous_commit off: commits cost no disk
flush); `postgresql-durable` the same with fsync and synchronous_commit on, as
in production; SQLite is a file in WAL mode with synchronous=NORMAL, as the
product opens it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaign_pipeline.sending.db.engine import open_database  # noqa: E402
from campaign_pipeline.sending.providers.twilio_signature import sign  # noqa: E402
from campaign_pipeline_tests.sending.delivery_fixtures import handed_over_campaign, message_rows  # noqa: E402

TOKEN = "bench-token"
CLI = str(Path(sys.executable).parent / "campaign-cli")


def callbacks(sids: dict[str, str], url: str, seed: int) -> tuple[list[bytes], dict[str, tuple[str, str | None]]]:
    """Every request, encoded and signed, shuffled; and each phone's expected end."""
    rng = random.Random(seed)
    split = urlsplit(url)
    requests, expected = [], {}
    for phone, sid in sids.items():
        draw = rng.random()
        final, code = ("delivered", None) if draw < 0.9 else ("undelivered", "30003") if draw < 0.95 else ("failed", "30007")
        expected[phone] = (final, code)
        for status in ("queued", "sent", final):
            form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, "To": phone,
                    "From": "+358451234567", "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01"}
            if status == final and code:
                form["ErrorCode"] = code
            body = urlencode(form).encode()
            head = (f"POST {split.path} HTTP/1.1\r\nHost: {split.netloc}\r\n"
                    f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                    f"X-Twilio-Signature: {sign(TOKEN, url, form)}\r\n\r\n")
            requests.append(head.encode() + body)
    rng.shuffle(requests)
    return requests, expected


async def _client(host: str, port: int, work, latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in work:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                           if line.lower().startswith("content-length:")), 0)
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(host: str, port: int, requests: list[bytes], clients: int):
    work = iter(requests)  # one queue per process: a client takes the next request when it is free
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    await asyncio.gather(*(_client(host, port, work, latencies, statuses) for _ in range(clients)))
    return latencies, statuses


def _client_process(host, port, requests, clients, ready, go, results) -> None:
    try:
        import uvloop  # the server's own loop: less client CPU per request

        uvloop.install()
    except ImportError:
        pass
    ready.wait()
    go.wait()
    started = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes
    latencies, statuses = asyncio.run(_load(host, port, requests, clients))
    results.put((started, time.perf_counter(), latencies, statuses))


def load(url: str, requests: list[bytes], clients: int, processes: int) -> tuple[float, list[float], dict[int, int]]:
    """`clients` connections over `processes` processes, started together;
    returns the wall time from the first start to the last end."""
    split = urlsplit(url)
    context = multiprocessing.get_context("fork")
    ready, go, results = context.Barrier(processes + 1), context.Event(), context.Queue()
    children = [context.Process(target=_client_process, args=(
        split.hostname, split.port, requests[index::processes], clients // processes + (index < clients % processes),
        ready, go, results)) for index in range(processes)]
    for child in children:
        child.start()
    ready.wait()
    go.set()
    outcomes = [results.get() for _ in children]
    for child in children:
        child.join()
    latencies, statuses = [], {}
    for _, _, own, answered in outcomes:
        latencies += own
        for status, count in answered.items():
            statuses[status] = statuses.get(status, 0) + count
    seconds = max(end for _, end, _, _ in outcomes) - min(start for start, _, _, _ in outcomes)
    return seconds, latencies, statuses


def start_server(db_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(CAMPAIGN_DB_URL=db_url, TWILIO_AUTH_TOKEN=TOKEN)
    env.pop("CAMPAIGN_WEBHOOK_BASE_URL", None)
    server = subprocess.Popen([CLI, "webhooks", "--port", "0", "--workers", str(workers)], env=env,
                              stderr=subprocess.PIPE, text=True)
    url = ""
    for line in server.stderr:
        if '"webhooks_listening"' in line:
            url = json.loads(line)["url"]
            break
    if not url:
        raise SystemExit(f"the server did not start (exit {server.wait()})")
    errors: list[str] = []
    counts: list[dict] = []

    def drain():  # keep the pipe empty; remember anything not info, and the callback counts
        for line in server.stderr:
            if '"level": "info"' not in line:
                errors.append(line)
            elif '"callback_counts"' in line:
                counts.append(json.loads(line))

    server.drained = threading.Thread(target=drain, daemon=True)
    server.drained.start()
    server.errors, server.counts = errors, counts
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, url


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError):
            continue
    return total


def run_one(name: str, db_url: str, args: argparse.Namespace) -> dict:
    workers = args.workers
    engine = open_database(db_url)
    phones = {f"+3584{index:08d}": "accepted" for index in range(args.messages)}
    campaign_id, sids = handed_over_campaign(engine, "org-bench", phones)
    server, url = start_server(db_url, workers)
    try:
        requests, expected = callbacks(sids, url + "/twilio/status", args.seed)
        load_before = os.getloadavg()[0]
        cpu_before = cpu_seconds(server.pid)
        seconds, latencies, statuses = load(url, requests, args.clients, args.client_processes)
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        server.drained.join(10)
    ended = message_rows(engine, campaign_id)
    engine.dispose()
    latencies.sort()
    wrong = sum(1 for phone, outcome in expected.items() if ended.get(phone) != outcome)
    return {
        "database": name, "callbacks": len(requests), "messages": args.messages, "clients": args.clients,
        "workers": workers, "client_processes": args.client_processes, "seconds": round(seconds, 2),
        "per_second": round(len(requests) / seconds),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1), "max_ms": round(latencies[-1] * 1000, 1),
        "server_cpu_us_per_callback": round(server_cpu / len(requests) * 1e6),
        # callback_counts lines, each worker's at least at stop: callbacks per transaction
        "callbacks_per_batch": round(sum(c["callbacks"] for c in server.counts)
                                     / max(1, sum(c["batches"] for c in server.counts)), 1),
        "load_average_before": round(load_before, 1), "load_average_after": round(os.getloadavg()[0], 1),
        "answers": statuses, "messages_not_in_their_outcome": wrong, "server_warnings": len(server.errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="sqlite,postgresql,postgresql-durable")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for name in args.db.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                rows.append(run_one(name, f"sqlite:///{folder}/campaign.db", args))
        else:
            from campaign_pipeline_tests.postgres import CampaignDatabases, serve

            servers = serve(durable=name == "postgresql-durable")
            pg = next(servers)
            try:
                _, db_url = CampaignDatabases(pg).create()
                rows.append(run_one(name, db_url, args))
            finally:
                servers.close()
        print(json.dumps(rows[-1]), flush=True)
    columns = ("database", "workers", "per_second", "p50_ms", "p99_ms", "server_cpu_us_per_callback",
               "messages_not_in_their_outcome", "load_average_before")
    print("\n" + "  ".join(f"{column:>20}" for column in columns))
    for row in rows:
        print("  ".join(f"{row[column]!s:>20}" for column in columns))


if __name__ == "__main__":
    main()
