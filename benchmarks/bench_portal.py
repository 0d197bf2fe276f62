"""How close the portal reader comes to the ideal bound at each concurrency.

    .venv/bin/python benchmarks/bench_portal.py [--latency-ms 20] [--jobs 10]
        [--activities 20] [--subjects 300] [--page-limit 100] [--runs 1] [--in-process]

The simulator runs in its own process by default, as the portal would: in this
process it would share the GIL with the client and measure both at once. The
ideal bound is requests x latency / concurrency; the chain jobs page ->
activities page -> subjects pages is a floor no concurrency gets below.
With --runs N each concurrency is read N times and the fastest read shown,
the usual way to see past other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from campaign_pipeline.portal import PortalClient, PortalSimulator  # noqa: E402

CONCURRENCIES = (1, 4, 16, 64)


def generate_export(jobs: int, activities: int, subjects: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "id": f"job-{j:03d}",
            "organization_id": f"org-{j % 3}",
            "name": f"School {j}",
            "status": "webshop_selling",
            "selling_ends_at": "2026-06-30T23:59:59+03:00",
            "updated_at": "2026-03-01T09:30:00+02:00",
            "activities": [
                {
                    "id": f"act-{j:03d}-{a:03d}",
                    "job_id": f"job-{j:03d}",
                    "name": f"Class {a}",
                    "group_name": f"{a % 9 + 1}{'ABC'[a % 3]}",
                    "subjects": [
                        _subject(rng, f"act-{j:03d}-{a:03d}", f"sub-{j:03d}-{a:03d}-{s:04d}") for s in range(subjects)
                    ],
                }
                for a in range(activities)
            ],
        }
        for j in range(jobs)
    ]


def _subject(rng: random.Random, activity_id: str, subject_id: str) -> dict:
    phone = f"+35840{rng.randrange(10**7):07d}"
    return {
        "id": subject_id,
        "activity_id": activity_id,
        "first_name": rng.choice(["Aino", "Eino", "Helmi", "Leo", "Olivia", "Väinö"]),
        "last_name": rng.choice(["Virtanen", "Korhonen", "Mäkinen", "Nieminen"]),
        "group_name": None,
        "access_key": None,
        "updated_at": "2026-03-01T09:30:00+02:00",
        "user": {"id": f"u-{subject_id}", "phone": phone, "email": None, "sms_consent": rng.random() < 0.8,
                 "sms_consent_at": "2026-02-01T10:00:00+02:00", "locale": "fi-FI"},
        "deliveries": [{"id": f"d-{subject_id}", "phone": phone, "email": None, "sms_consent": True,
                        "sms_consent_at": None, "locale": "fi-FI", "created_at": "2025-10-01T12:00:00+03:00"}],
        "orders": [{"id": f"o-{subject_id}", "status": rng.choice(["paid", "pending", "cancelled"]),
                    "total_cents": 2900, "currency": "EUR", "created_at": "2026-03-02T12:00:00+02:00"}]
        if rng.random() < 0.4 else [],
    }


@contextlib.contextmanager
def simulator_process(export: Path, latency_ms: float) -> Iterator[str]:
    command = [sys.executable, "-m", "campaign_pipeline.portal.simulator", "--export", str(export),
               "--port", "0", "--latency-ms", str(latency_ms)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        for line in process.stderr:
            event = orjson.loads(line)
            if event.get("event") == "portal_sim_listening":
                yield event["url"]
                break
        else:
            raise RuntimeError("the simulator did not start")
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def simulator_in_process(export: Path, latency_ms: float) -> Iterator[str]:
    with PortalSimulator(export_path=export, latency=latency_ms / 1000) as simulator:
        yield simulator.url


async def fetch(url: str, concurrency: int, page_limit: int) -> tuple[list[bytes], int, float, float]:
    """The lines, requests, seconds and client CPU seconds of one read."""
    async with PortalClient(url, "sim-token", concurrency=concurrency, page_limit=page_limit) as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        lines = await client.fetch_export_lines()
        return lines, client.stats["requests"], time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--activities", type=int, default=20)
    parser.add_argument("--subjects", type=int, default=300)
    parser.add_argument("--page-limit", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1, help="reads per concurrency; the fastest is shown")
    parser.add_argument("--in-process", action="store_true", help="run the simulator in this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.jsonl.gz"
        jobs = generate_export(args.jobs, args.activities, args.subjects)
        export.write_bytes(gzip.compress(b"\n".join(orjson.dumps(job) for job in jobs) + b"\n", compresslevel=1))
        serve = simulator_in_process if args.in_process else simulator_process
        print(f"dataset: {args.jobs} jobs x {args.activities} activities x {args.subjects} subjects, "
              f"page limit {args.page_limit}, latency {args.latency_ms:g} ms, "
              f"simulator {'in process' if args.in_process else 'in its own process'}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'concurrency':>11} {'requests':>8} {'seconds':>8} {'ideal':>8} {'ratio':>6} {'speed-up':>8} "
              f"{'client CPU s':>12}")
        with serve(export, args.latency_ms) as url:
            asyncio.run(fetch(url, 4, args.page_limit))  # warm-up: imports, first connections
            baseline, reference = None, None
            for concurrency in CONCURRENCIES:
                reads = [asyncio.run(fetch(url, concurrency, args.page_limit)) for _ in range(args.runs)]
                lines, requests, seconds, cpu = min(reads, key=lambda read: read[2])
                if reference is None:
                    reference = lines
                assert lines == reference, "the export must not depend on the concurrency"
                baseline = baseline or seconds
                ideal = requests * args.latency_ms / 1000 / concurrency
                print(f"{concurrency:>11} {requests:>8} {seconds:>8.3f} {ideal:>8.3f} "
                      f"{seconds / ideal:>6.2f} {baseline / seconds:>7.1f}x {cpu:>12.2f}")


if __name__ == "__main__":
    main()
