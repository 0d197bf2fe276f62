"""Creates per second through the Twilio simulator, with the Twilio adapter as the client.

    .venv/bin/python benchmarks/bench_provider_sim.py                 # 6,000 creates, 10 ms latency, 3 clients x 16 in flight
    .venv/bin/python benchmarks/bench_provider_sim.py --messages 20000 --clients 4 --concurrency 32

The simulator runs as its own process (`campaign-cli provider-sim`), as in a
demo. The clients are processes, each a TwilioProvider (one pooled
httpx.Client) driven by a thread pool, every message to its own number: one
sync httpx client costs about three times the simulator's CPU per request,
so a single client process would measure the client. Prints creates/s, the
simulator's CPU per create and latency percentiles, and checks that every
number got exactly one message.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import httpx

from campaign_pipeline.sending.providers import Accepted
from campaign_pipeline.sending.providers.twilio import TwilioProvider

CLI = str(Path(sys.executable).parent / "campaign-cli")
ACCOUNT, TOKEN = "AC" + "b" * 32, "bench-token"
BODY = "Kuvasi ovat valmiina: https://example.com/k"


def client(url: str, numbers: range, concurrency: int, start_at: float) -> list[float]:
    """Sends one message to each number; the latencies in seconds."""
    env = {"TWILIO_API_BASE": url, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN}
    with TwilioProvider.from_env(env, max_connections=concurrency) as provider:

        def send(number: int) -> float:
            started = time.perf_counter()
            outcome = provider.send(f"+3584{number:08d}", BODY, "Kuvaamo")
            assert isinstance(outcome, Accepted), outcome
            return time.perf_counter() - started

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, range(numbers.start - concurrency, numbers.start)))  # warm-up, other numbers
            time.sleep(max(0.0, start_at - time.time()))
            return list(pool.map(send, numbers))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight per client")
    parser.add_argument("--latency-ms", type=float, default=10.0)
    args = parser.parse_args()
    server = subprocess.Popen(
        [CLI, "provider-sim", "--port", "0", "--account-sid", ACCOUNT, "--auth-token", TOKEN,
         "--latency-ms", str(args.latency_ms)],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        url = json.loads(server.stderr.readline())["url"]
        share = args.messages // args.clients
        start_at = time.time() + 2.0  # every client warmed up and waiting
        with ProcessPoolExecutor(args.clients) as pool:
            futures = [pool.submit(client, url, range(10**6 * (k + 1), 10**6 * (k + 1) + share), args.concurrency,
                                   start_at) for k in range(args.clients)]
            time.sleep(max(0.0, start_at - time.time()))
            cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
            latencies = sorted(latency for future in futures for latency in future.result())
            seconds = time.perf_counter() - started
            server_cpu = cpu_seconds(server.pid) - cpu_before
        stats = httpx.get(url + "/_sim/stats").json()
    finally:
        server.terminate()
        server.wait(10)
    sent = share * args.clients
    assert stats["created"] == sent + args.clients * args.concurrency and stats["per_to_max"] == 1, stats
    quantile = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"{sent} creates from {args.clients} clients x {args.concurrency} in flight, "
          f"{args.latency_ms:g} ms simulator latency, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  {sent / seconds:,.0f} creates/s in {seconds:.2f} s; simulator CPU {server_cpu / sent * 1000:.2f} ms per create")
    print(f"  latency ms: median {statistics.median(latencies) * 1000:.1f}, p95 {quantile(0.95):.1f}, "
          f"p99 {quantile(0.99):.1f}, max {latencies[-1] * 1000:.1f}")
    print(f"  every number got exactly one message ({stats['created']} created, warm-up included)")


if __name__ == "__main__":
    main()
