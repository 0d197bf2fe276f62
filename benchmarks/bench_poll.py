"""Benchmark: a poll pass against the Twilio simulator, one read at a time beside eight.

    .venv/bin/python benchmarks/bench_poll.py [--messages 2000] [--latency-ms 20] [--background 200000]

`--messages` messages are created at the simulator (in this process, on
127.0.0.1, answering each request after `--latency-ms`) and recorded `queued`
in an SQLite campaign database that also holds `--background` delivered
messages (what a database looks like after a while). Then, each on a fresh
copy of the recorded state:

1. `poll --due` work with concurrency 1 and with 8 (the default): wall time,
   reads per second, and the floor `messages x latency / concurrency`;
2. the due query alone on the whole table (index range scan of the partial
   index), median of 20, with nothing due: what an idle sensor tick costs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from campaign_pipeline.sending.db.bulk import bulk_insert  # noqa: E402
from campaign_pipeline.sending.db.engine import open_database  # noqa: E402
from campaign_pipeline.sending.db.models import campaigns, messages, utc_now  # noqa: E402
from campaign_pipeline.sending.polling import poll, round_query  # noqa: E402
from campaign_pipeline.sending.providers.twilio import TwilioProvider  # noqa: E402
from campaign_pipeline.sending.providers.twilio_simulator import Rules, TwilioSimulator  # noqa: E402

ACCOUNT, TOKEN, SENDER = "AC" + "3" * 32, "bench-token", "+358451234567"


def recorded(path: Path, sim: TwilioSimulator, count: int, background: int) -> None:
    engine = open_database(f"sqlite:///{path}")
    now = utc_now()
    handed = now - timedelta(minutes=1)
    with TwilioProvider(ACCOUNT, ACCOUNT, TOKEN, api_base=sim.url) as provider:
        sids = [provider.send(f"+35840{n:07d}", "Hei", SENDER).provider_id for n in range(count)]
    with engine.begin() as connection:
        campaign_id = connection.execute(insert(campaigns).values(
            organization_id="org-1", name="bench", body="Hei", segment="buyer", status="sent",
            created_at=now, updated_at=now).returning(campaigns.c.id)).scalar_one()
        total = count + background
        frame = pl.DataFrame({
            "phone": [f"+35840{n:07d}" for n in range(total)],
            "status": ["queued"] * count + ["delivered"] * background,
            "provider_message_id": sids + [f"SMbg{n:030d}" for n in range(background)],
        })
        bulk_insert(connection, messages, frame, constants={
            "campaign_id": campaign_id, "organization_id": "org-1", "kind": "campaign", "body": "Hei",
            "attempts": 1, "polls": 0, "handed_over_at": handed, "created_at": now, "updated_at": now})
        # The delivered ones keep a past next_poll_at, as a callback leaves it: the partial index leaves them out.
        connection.execute(update(messages).values(next_poll_at=handed + timedelta(seconds=30)))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--background", type=int, default=200_000)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    with tempfile.TemporaryDirectory() as folder, \
            TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=0.001)) as sim:
        seed = Path(folder) / "seed.db"
        recorded(seed, sim, args.messages, args.background)
        sim.latency = latency  # creating was set-up; the reads pay the latency
        print(f"{args.messages} due messages ({args.background} delivered beside them), "
              f"simulator latency {args.latency_ms:g} ms, SQLite")
        print(f"{'concurrency':>11} {'seconds':>8} {'reads/s':>8} {'floor s':>8} {'moved':>6}")
        for concurrency in (1, 8):
            copy = Path(folder) / f"run-{concurrency}.db"
            shutil.copy(seed, copy)
            engine = open_database(f"sqlite:///{copy}")
            with TwilioProvider(ACCOUNT, ACCOUNT, TOKEN, api_base=sim.url) as provider:
                started = time.perf_counter()
                report = poll(engine, provider, due_only=True, concurrency=concurrency)
                seconds = time.perf_counter() - started
            floor = args.messages * latency / concurrency
            print(f"{concurrency:>11} {seconds:>8.2f} {report.asked / seconds:>8.0f} {floor:>8.2f} {report.moved:>6}")
            if concurrency == 8:
                with engine.connect() as connection:  # nothing is due any more: an idle tick's query
                    query = round_query(True, utc_now())
                    times = []
                    for _ in range(20):
                        started = time.perf_counter()
                        connection.execute(query).all()
                        times.append(time.perf_counter() - started)
                print(f"idle due query over {args.messages + args.background} messages: "
                      f"{statistics.median(times) * 1000:.2f} ms (median of 20)")
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
