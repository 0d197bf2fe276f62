"""Benchmark: rendering a body template and measuring encoding/segments for a large audience.

    .venv/bin/python benchmarks/bench_sending_rules.py [--rows 1000000] [--seed 1]

Builds an audience of `--rows` dataset rows (names with Finnish and other
letters, some null, some padded with spaces), renders three templates with
`render` (a short GSM-7 one, a long one with extension characters so that
pairs may straddle part boundaries, one whose values force UCS-2), then
`measure`s the bodies, and times `segments` (the per-message reference) on a
sample for comparison. Wall and CPU seconds are both printed: on a shared
machine the wall clock includes other people's work.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaign_pipeline.sending.rules.encoding import encoding_of, measure, segments, ucs2_character_counts  # noqa: E402
from campaign_pipeline.sending.rules.templates import check_template, render  # noqa: E402

FIRST = ["Anna", "Äijä", "Mikko", "Noël", "Çelik", "Jürgen", "Łukasz", "Ольга", "  Pekka ", "Sofía", None]
TEMPLATES = {
    "short gsm7": "Hei {first_name}! Kuvat ovat valmiina: https://shop.example/{access_key}",
    "long with extension chars": "Hei {first_name} [{group_name}]! " + "Kuvat {job_name} ~ hinta 10€ | " * 6
                                 + "koodi {access_key}",
    "ucs2 values": "Привет {first_name}, {job_name}: {access_key}",
}


def audience(rows: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame({
        "first_name": [rng.choice(FIRST) for _ in range(rows)],
        "group_name": [f"{rng.randint(1, 9)}{rng.choice('ABC')}" for _ in range(rows)],
        "job_name": [rng.choice(["Kevät 2026", "Spring", " Syksy {2026} "]) for _ in range(rows)],
        "access_key": [f"AK{rng.randrange(10**8):08d}" for _ in range(rows)],
    })


def timed(label: str, run):
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    print(f"{label}: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = audience(args.rows, args.seed)
    print(f"{rows.height:,} rows, polars {pl.__version__}")
    for name, body in TEMPLATES.items():
        template = check_template(body)
        bodies = timed(f"render   [{name}]", lambda: render(template, rows))
        measured = timed(f"measure  [{name}]", lambda: measure(bodies))
        sample = bodies.sample(min(20_000, bodies.len()), seed=args.seed).to_list()
        wall = time.perf_counter()
        reference = [(encoding_of(body), segments(body)) for body in sample]
        per_row = (time.perf_counter() - wall) / len(sample)
        print(f"  reference segments() per message {per_row * 1e6:.1f} us "
              f"(x{rows.height:,} = {per_row * rows.height:.1f} s); "
              f"encodings {measured['encoding'].value_counts(sort=True).rows()}, "
              f"segments {measured['segments'].value_counts(sort=True).rows()[:4]}, "
              f"ucs2 characters {list(ucs2_character_counts(measured).items())[:4]}")
        assert len(reference) == len(sample)


if __name__ == "__main__":
    main()
