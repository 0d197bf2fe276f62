"""Benchmark: `campaign-cli dispatch` as a real process, beside floors of the same work.

    .venv/bin/python benchmarks/bench_dispatch.py [--proof 100000] [--live 5000] [--mps 250] [--latency-ms 10]

1. proof: a scheduled campaign of `--proof` recipients on SQLite, dispatched with
   the proof provider; beside it the floor: the same ledger updates (claim +
   attempt rows, then answers) in batched transactions of 500 with plain SQL.
2. live: `--live` recipients to the Twilio simulator (`campaign-cli provider-sim`,
   its own process, a new one per run) at `--latency-ms`, `--mps`; wall clock
   against the ideal live/mps, the most hand-overs in any one-second window
   (recorded, and as the simulator received them), CPU per message of the
   dispatch process; where the wall time went (launch to the first hand-over,
   first to last, last to the exit) and the delay from each recorded hand-over
   to the simulator creating its message (the jitter the throttle's margin
   absorbs). BENCH_DEBUG=1 also prints the worst delays and when they happened.
3. unlimited: the same live dispatch with --mps 100000: messages per second,
   and the dispatch process's CPU (user, system) against its wall time, which
   says how much of the time is waiting on the simulator and the database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import polars as pl  # noqa: E402

from campaign_pipeline.dataset import formats  # noqa: E402
from campaign_pipeline.dataset.columns import DATASET  # noqa: E402
from campaign_pipeline.sending import campaigns  # noqa: E402
from campaign_pipeline.sending.db.engine import open_database  # noqa: E402
from campaign_pipeline.sending.organizations import set_organization  # noqa: E402
from campaign_pipeline.sending.providers.twilio_simulator import max_in_any_second  # noqa: E402

CLI = str(Path(sys.executable).parent / "campaign-cli")
ACCOUNT, TOKEN, SENDER = "AC" + "2" * 32, "bench-token", "+358451234567"


def dataset(path: Path, count: int) -> Path:
    rows = {name: [""] * count for name in DATASET}
    rows.update(organization_id=["org-1"] * count, segment=["buyer"] * count,
                phone=[f"+35840{n:07d}" for n in range(count)], first_name=[f"N{n}" for n in range(count)],
                region=["FI"] * count, subject_count=["1"] * count)
    frame = pl.DataFrame(rows).with_columns(pl.col(name).cast(dtype) for name, dtype in DATASET.items())
    path.write_bytes(formats.encode(frame, "csv"))
    return path


def scheduled(folder: Path, count: int, mps: int) -> tuple[str, int]:
    url = f"sqlite:///{folder / 'campaign.db'}"
    engine = open_database(url)
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00", "sender": SENDER, "mps": mps})
    created = campaigns.create_campaign(engine, "org-1", name="bench", body="Hei {first_name}, kuvasi ovat valmiina",
                                        dataset=dataset(folder / "dataset.csv", count))
    campaigns.schedule_campaign(engine, "org-1", created["id"])
    engine.dispose()
    return url, created["id"]


def run_dispatch(url: str, env: dict, cwd: Path, *args: str) -> tuple[dict, float, float]:
    """(stdout document, wall seconds, CPU seconds of the dispatch process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([CLI, "dispatch", *args], capture_output=True, text=True, cwd=cwd,
                            env={**os.environ, **env, "CAMPAIGN_DB_URL": url})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"dispatch failed ({result.returncode}): {result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(result.stdout), wall, cpu


def floor(db: Path, campaign_id: int) -> float:
    """The same ledger updates a dispatch makes, batched 500 a transaction, plain sqlite3."""
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    ids = [row[0] for row in connection.execute("SELECT id FROM messages WHERE campaign_id = ? ORDER BY id",
                                                (campaign_id,))]
    started = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        marks = ",".join("?" * len(batch))
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(f"UPDATE messages SET status = 'submitting', attempts = attempts + 1, handed_over_at = ?, "
                           f"updated_at = ? WHERE id IN ({marks}) AND status IN ('pending', 'deferred')",
                           (now, now, *batch))
        connection.executemany("INSERT INTO attempts (message_id, organization_id, number, started_at, run_id) "
                               "VALUES (?, 'org-1', 1, ?, 'floor')", [(i, now) for i in batch])
        connection.execute("COMMIT")
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("UPDATE messages SET status = 'delivered', provider_message_id = ?, updated_at = ? "
                               "WHERE id = ? AND status = 'submitting' AND attempts = 1",
                               [(f"proof-{i}", now, i) for i in batch])
        connection.executemany("UPDATE attempts SET finished_at = ?, outcome = 'accepted', provider_status = "
                               "'delivered' WHERE message_id = ? AND number = 1 AND outcome IS NULL",
                               [(now, i) for i in batch])
        connection.execute("COMMIT")
    connection.close()
    return time.perf_counter() - started


def handovers(db: Path, campaign_id: int) -> dict[str, float]:
    """Each handed-over phone's recorded hand-over instant (messages.handed_over_at)."""
    connection = sqlite3.connect(db)
    moments = {phone: datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp() for phone, at in connection.execute(
        "SELECT phone, handed_over_at FROM messages WHERE campaign_id = ? AND handed_over_at IS NOT NULL",
        (campaign_id,))}
    connection.close()
    return moments


def simulator(latency_ms: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([CLI, "provider-sim", "--port", "0", "--account-sid", ACCOUNT, "--auth-token", TOKEN,
                                "--latency-ms", str(latency_ms)], stderr=subprocess.PIPE, text=True)
    listening = json.loads(process.stderr.readline())
    return process, listening["url"]


def live(work: Path, label: str, mps: int, count: int, latency_ms: float) -> None:
    """One live dispatch against a simulator of its own (so what it received is this run's)."""
    sim, sim_url = simulator(latency_ms)
    env = {"SMS_PROVIDER": "twilio", "TWILIO_API_BASE": sim_url, "TWILIO_ACCOUNT_SID": ACCOUNT,
           "TWILIO_AUTH_TOKEN": TOKEN}
    try:
        folder = work / f"live-{mps}"
        folder.mkdir()
        url, campaign_id = scheduled(folder, count, mps)
        launched = time.time()
        document, wall, cpu = run_dispatch(url, env, folder, "--mps", str(mps))
        created = dict(httpx.get(f"{sim_url}/_sim/created").json()["created"])
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    handed = document["campaigns"][0]["handed_over"]
    recorded = handovers(folder / "campaign.db", campaign_id)
    moments = sorted(recorded.values())
    # From the recorded instant (the throttle's grant) to the simulator creating the message:
    # its --latency-ms plus the jitter the throttle's margin must absorb.
    delays = sorted(created[phone] - moment for phone, moment in recorded.items() if phone in created)
    if os.environ.get("BENCH_DEBUG"):
        worst = sorted(((created[p] - m, m - moments[0]) for p, m in recorded.items() if p in created), reverse=True)
        print("    worst delays (ms @ s into the run):", ", ".join(f"{d * 1000:.0f}@{t:.2f}" for d, t in worst[:25]))
    ideal = count / mps
    print(f"live {label}, {count:,} recipients, simulator at {latency_ms:g} ms: "
          f"{wall:.2f} s wall ({wall / ideal:.2f}x the ideal {ideal:.2f} s; {handed / wall:,.0f}/s), "
          f"{len(created):,} created; max in any 1-s window: {max_in_any_second(moments)} recorded hand-overs, "
          f"{max_in_any_second(created.values())} received by the simulator; CPU {cpu:.2f} s = "
          f"{cpu / handed * 1000:.2f} ms per message ({cpu / wall:.0%} of the wall time busy)")
    print(f"    first hand-over {moments[0] - launched:.2f} s after the launch, the last {moments[-1] - moments[0]:.2f} s "
          f"after the first, the exit {launched + wall - moments[-1]:.2f} s after the last; grant to creation "
          f"p50 {percentile(delays, 50) * 1000:.1f} ms, p99 {percentile(delays, 99) * 1000:.1f} ms, "
          f"max {delays[-1] * 1000:.1f} ms")


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proof", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=5_000)
    parser.add_argument("--mps", type=int, default=250)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    try:
        if args.proof:
            folder = work / "proof"
            folder.mkdir()
            url, campaign_id = scheduled(folder, args.proof, 10)
            shutil.copy(folder / "campaign.db", folder / "floor.db")
            document, wall, cpu = run_dispatch(url, {"SMS_PROVIDER": "proof"}, folder)
            floor_seconds = floor(folder / "floor.db", campaign_id)
            handed = document["campaigns"][0]["handed_over"]
            print(f"proof, {args.proof:,} recipients, SQLite: dispatch {wall:.2f} s wall ({cpu:.2f} s CPU, "
                  f"{handed:,} handed over, {handed / wall:,.0f}/s); floor (same ledger updates, batched) "
                  f"{floor_seconds:.2f} s; {wall / floor_seconds:.1f}x the floor")
        for label, mps in ((f"--mps {args.mps}", args.mps), ("unlimited (--mps 100000)", 100_000)):
            if args.live:
                live(work, label, mps, args.live, args.latency_ms)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
