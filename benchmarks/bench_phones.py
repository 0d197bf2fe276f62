"""Benchmark: parse_phones against plain phonenumbers on a realistic phone column.

    .venv/bin/python benchmarks/bench_phones.py [--rows 1000000] [--distinct 500000]
        [--reference-sample N] [--region FI] [--seed 1]

Builds a column of `--rows` contact phones (about `--distinct` distinct strings,
2% null): mostly Finnish, written every way people write them, with foreign
numbers and junk mixed in. Times `parse_phones` on it, then the plain reference
(`reference_parse`, one phonenumbers call chain per distinct value) on every
distinct value, or on a random sample of `--reference-sample` of them with the
full time extrapolated and labelled so. Asserts that both agree on every value
the reference saw. Wall and CPU seconds are both printed: on a shared machine
the wall clock includes other people's work.
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

from campaign_pipeline.dataset.phones import parse_phones_with_stats, reference_parse  # noqa: E402

FINNISH_MOBILE = ["40", "41", "44", "45", "46", "50", "42", "43", "457", "4573"]
FINNISH_AREA = ["9", "2", "3", "5", "6", "8", "13", "14", "15", "16", "17", "19", "18"]
FOREIGN = {"SE": 4, "EE": 3, "NO": 2, "DE": 2, "GB": 2, "DK": 1, "US": 1, "RU": 1, "ES": 1}
JUNK = ["", "-", "n/a", "ei ole", "puuttuu", "040", "+358", "0", "123", "?", "xxx"]
JUNK_TAILS = [" (koti)", " ext. 12", " / 0401234567", "!"]


def digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count) if count else ""


def grouped(number: str, rng: random.Random) -> str:
    """A head of 2-4 digits, then groups of 3-4, joined by one separator (or none)."""
    separator = rng.choice([" ", " ", " ", "-", "", "."])
    groups, rest, size = [], number, rng.choice([2, 3, 3, 4])
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


def foreign(rng: random.Random, examples: dict[str, list[str]]) -> str:
    region = rng.choices(list(FOREIGN), weights=list(FOREIGN.values()))[0]
    code, nsn = rng.choice(examples[region]).split(" ")
    keep = max(1, len(nsn) - rng.randint(2, 5))
    nsn = nsn[:keep] + digits(rng, len(nsn) - keep)
    return f"+{code}{nsn}" if rng.random() < 0.6 else f"+{code} {grouped(nsn, rng)}"


def junk(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.4:
        return rng.choice(JUNK) + digits(rng, rng.choice([0, 0, 1, 2, 3]))
    if draw < 0.7:
        number = "0" + grouped(rng.choice(FINNISH_MOBILE) + digits(rng, 7), rng)
        return number + rng.choice(JUNK_TAILS)
    return digits(rng, rng.randint(1, 16))


def example_numbers() -> dict[str, list[str]]:
    """'<calling code> <national number>' of each foreign region's example numbers."""
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    examples = {}
    for region in FOREIGN:
        numbers = [phonenumbers.example_number_for_type(region, kind) for kind in kinds]
        examples[region] = [
            f"{n.country_code} {phonenumbers.national_significant_number(n)}"
            for n in numbers
            if n is not None
        ]
    return examples


def build_column(rows: int, distinct: int, seed: int) -> pl.Series:
    rng = random.Random(seed)
    examples = example_numbers()
    values: set[str] = set()
    while len(values) < distinct:
        draw = rng.random()
        if draw < 0.86:
            values.add(finnish(rng))
        elif draw < 0.96:
            values.add(foreign(rng, examples))
        else:
            values.add(junk(rng))
    pool = sorted(values)
    column: list[str | None] = pool + [rng.choice(pool) for _ in range(rows - len(pool))]
    for i in rng.sample(range(rows), rows // 50):  # contacts without a phone
        column[i] = None
    rng.shuffle(column)
    return pl.Series("phone", column, dtype=pl.String)


def timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=500_000)
    parser.add_argument(
        "--reference-sample", type=int, default=0, help="0: the reference sees every value"
    )
    parser.add_argument("--region", default="FI")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, polars {pl.__version__}, "
        f"phonenumbers {phonenumbers.__version__}, {os.cpu_count()} CPUs, "
        f"polars threads {pl.thread_pool_size()}, load average {os.getloadavg()[0]:.2f}"
    )
    column = build_column(args.rows, args.distinct, args.seed)
    non_null = column.len() - column.null_count()
    print(
        f"column: {column.len():,} rows, {column.null_count():,} null, "
        f"{column.drop_nulls().n_unique():,} distinct strings"
    )

    # Load the metadata once, as a long-running process would have.
    parse_phones_with_stats(column.head(1000), args.region)
    (frame, stats), fast_wall, fast_cpu = timed(
        lambda: parse_phones_with_stats(column, args.region)
    )
    print(
        f"parse_phones: {fast_wall:.2f} s wall ({fast_cpu:.2f} s CPU) for {column.len():,} rows"
        f" = {column.len() / fast_wall:,.0f} rows/s, {stats.distinct / fast_wall:,.0f}"
        " distinct values/s"
    )
    print(
        f"  fallback to phonenumbers: {stats.fallback:,} of {stats.distinct:,} distinct values"
        f" ({stats.fallback_share:.2%})"
    )
    print(
        f"  valid: {frame['e164'].is_not_null().sum():,}, "
        f"sms-capable: {frame['sms_capable'].sum():,}"
    )

    checked = frame
    if 0 < args.reference_sample < frame.height:
        checked = frame.sample(args.reference_sample, seed=args.seed)
    reference, ref_wall, ref_cpu = timed(
        lambda: [reference_parse(value, args.region) for value in checked["raw"]]
    )
    per_value = ref_wall / checked.height
    all_values = per_value * stats.distinct
    how = "measured" if checked.height == frame.height else "EXTRAPOLATED from the sample"
    print(
        f"reference, phonenumbers per distinct value: {ref_wall:.2f} s wall ({ref_cpu:.2f} s"
        f" CPU) for {checked.height:,} values = {per_value * 1e6:.1f} us/value"
    )
    print(f"  all {stats.distinct:,} distinct values: {all_values:.1f} s ({how})")
    print(
        f"  per row, as a naive map over all {non_null:,} non-null rows would: "
        f"{per_value * non_null:.1f} s (EXTRAPOLATED from the per-value time)"
    )
    print(
        f"speed-up over the per-distinct-value reference: {all_values / fast_wall:.1f}x wall,"
        f" {ref_cpu / checked.height * stats.distinct / fast_cpu:.1f}x CPU;"
        f" over the naive per-row map: {per_value * non_null / fast_wall:.1f}x wall"
    )

    mismatches = [
        (row, answer)
        for row, answer in zip(checked.iter_rows(), reference, strict=True)
        if row[1:] != answer
    ]
    assert not mismatches, f"{len(mismatches)} values differ, e.g. {mismatches[:5]}"
    print(f"equality: parse_phones == reference_parse on all {checked.height:,} values checked")


if __name__ == "__main__":
    main()
