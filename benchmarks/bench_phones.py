"""Benchmark: parse_phones against plain phonenumbers, on a realistic phone column.

    .venv/bin/python benchmarks/bench_phones.py [--rows 1000000] [--distinct 500000]
                                               [--reference-sample N] [--seed 1]

Builds a column of `--rows` contact phones (about `--distinct` distinct strings,
some nulls), mostly Finnish and written every way people write them, with foreign
numbers and junk mixed in. Times `parse_phones` on it, then the plain per-value
reference (`reference_parse`, one phonenumbers call chain per distinct value) on
every distinct value, or on a random sample of `--reference-sample` values with
the full time extrapolated (and labelled so). Asserts that both agree on every
value the reference saw.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

import phonenumbers
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaign_pipeline.core.phones import parse_phones_with_stats, reference_parse  # noqa: E402

FINNISH_MOBILE = ["40", "41", "44", "45", "46", "50", "42", "43", "457", "4573"]
FINNISH_AREA = ["9", "2", "3", "5", "6", "8", "13", "14", "15", "16", "17", "19", "18"]
FOREIGN = {"SE": 4, "EE": 3, "NO": 2, "DE": 2, "GB": 2, "DK": 1, "US": 1, "RU": 1, "ES": 1, "FR": 1}
JUNK = ["", "-", "n/a", "ei ole", "puuttuu", "040", "+358", "0", "123", "?", "xxx"]


def digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


def grouped(number: str, rng: random.Random) -> str:
    """A head of 2-4 digits, then groups of 3-4, joined by one separator (or none)."""
    separator = rng.choice([" ", " ", " ", "-", "", "."])
    groups, rest = [], number
    size = rng.choice([2, 3, 3, 4])
    while rest:
        groups.append(rest[:size])
        rest, size = rest[size:], rng.choice([3, 4])
    return separator.join(groups)


def finnish(rng: random.Random) -> str:
    if rng.random() < 0.8:
        nsn = rng.choice(FINNISH_MOBILE) + digits(rng, rng.choice([7, 7, 7, 7, 6, 8]))
    else:
        nsn = rng.choice(FINNISH_AREA) + digits(rng, rng.choice([6, 7, 7, 5]))
    form = rng.random()
    if form < 0.55:
        text = "0" + grouped(nsn, rng)
    elif form < 0.85:
        text = "+358" + rng.choice(["", " "]) + grouped(nsn, rng)
    elif form < 0.92:
        text = "00358" + nsn
    elif form < 0.96:
        text = "358" + nsn
    else:
        text = "+358 (0)" + grouped(nsn, rng)
    return text if rng.random() < 0.97 else f" {text} "


def foreign(rng: random.Random, examples: dict[str, list[phonenumbers.PhoneNumber]]) -> str:
    region = rng.choices(list(FOREIGN), weights=list(FOREIGN.values()))[0]
    example = rng.choice(examples[region])
    nsn = phonenumbers.national_significant_number(example)
    keep = max(1, len(nsn) - rng.randint(2, 5))
    number = f"+{example.country_code}{nsn[:keep]}{digits(rng, len(nsn) - keep)}"
    return number if rng.random() < 0.6 else f"+{example.country_code} {grouped(number[1 + len(str(example.country_code)) :], rng)}"


def junk(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.4:
        return rng.choice(JUNK) + ("" if rng.random() < 0.5 else digits(rng, rng.randint(0, 3)))
    if draw < 0.7:
        return "0" + grouped(rng.choice(FINNISH_MOBILE) + digits(rng, 7), rng) + rng.choice([" (koti)", " ext. 12", " / 0401234567", "!"])
    return digits(rng, rng.randint(1, 16))


def build_column(rows: int, distinct: int, seed: int) -> pl.Series:
    rng = random.Random(seed)
    examples = {
        region: [e for t in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
                 if (e := phonenumbers.example_number_for_type(region, t)) is not None]
        for region in FOREIGN
    }
    values: set[str] = set()
    while len(values) < distinct:
        draw = rng.random()
        values.add(finnish(rng) if draw < 0.86 else foreign(rng, examples) if draw < 0.96 else junk(rng))
    pool = sorted(values)
    rng.shuffle(pool)
    column: list[str | None] = pool + [rng.choice(pool) for _ in range(rows - len(pool))]
    for i in rng.sample(range(rows), rows // 50):  # contacts without a phone
        column[i] = None
    rng.shuffle(column)
    return pl.Series("phone", column, dtype=pl.String)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=500_000)
    parser.add_argument("--reference-sample", type=int, default=0, help="0: run the reference on every distinct value")
    parser.add_argument("--region", default="FI")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"python {platform.python_version()}, polars {pl.__version__}, phonenumbers {phonenumbers.__version__}, "
          f"{os.cpu_count()} CPUs, polars threads {pl.thread_pool_size()}")
    started = time.perf_counter()
    column = build_column(args.rows, args.distinct, args.seed)
    print(f"built {column.len():,} rows ({column.null_count():,} null, {column.n_unique() - 1:,} distinct strings) "
          f"in {time.perf_counter() - started:.1f} s")

    parse_phones_with_stats(column.head(1000), args.region)  # load the metadata once, as a long-lived process would
    started = time.perf_counter()
    frame, stats = parse_phones_with_stats(column, args.region)
    fast_seconds = time.perf_counter() - started
    print(f"parse_phones: {fast_seconds:.2f} s for {column.len():,} rows / {stats.distinct:,} distinct values "
          f"= {column.len() / fast_seconds:,.0f} rows/s, {stats.distinct / fast_seconds:,.0f} distinct values/s")
    print(f"  fallback to phonenumbers: {stats.fallback:,} distinct values ({stats.fallback_share:.2%})")
    print(f"  sms-capable: {frame['sms_capable'].sum():,}, valid: {frame['e164'].is_not_null().sum():,}")

    checked = frame
    if args.reference_sample and args.reference_sample < frame.height:
        checked = frame.sample(args.reference_sample, seed=args.seed)
    started = time.perf_counter()
    reference = [reference_parse(value, args.region) for value in checked["raw"]]
    reference_seconds = time.perf_counter() - started
    per_value = reference_seconds / checked.height
    full_seconds = per_value * stats.distinct
    label = "measured" if checked.height == frame.height else f"EXTRAPOLATED from a sample of {checked.height:,}"
    print(f"reference (phonenumbers per distinct value): {reference_seconds:.2f} s for {checked.height:,} values "
          f"= {per_value * 1e6:.1f} us/value; all {stats.distinct:,} distinct values: {full_seconds:.1f} s ({label})")
    print(f"  per row, as a naive map over all {column.len() - column.null_count():,} non-null rows: "
          f"{per_value * (column.len() - column.null_count()):.1f} s (EXTRAPOLATED from the per-value time)")
    print(f"speed-up of parse_phones over the per-distinct-value reference: {full_seconds / fast_seconds:.1f}x")

    mismatches = [
        (row, answer) for row, answer in zip(checked.iter_rows(), reference, strict=True) if row[1:] != answer
    ]
    assert not mismatches, f"{len(mismatches)} values differ from phonenumbers, e.g. {mismatches[:5]}"
    print(f"equality: parse_phones == reference_parse on all {checked.height:,} values checked")


if __name__ == "__main__":
    main()
