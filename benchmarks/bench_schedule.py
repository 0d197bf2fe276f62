"""Benchmark: scheduling a campaign over a large dataset on SQLite, beside the floor.

    .venv/bin/python benchmarks/bench_schedule.py [--rows 1000000] [--keep DIR]

Writes a dataset CSV of `--rows` rows with the build's writer (5% of the first
names need UCS-2, 2% of the bodies run past one segment), creates a campaign
on it in a fresh SQLite campaign database, and times `schedule_campaign`: read
the file, render every body, measure encodings and segments, insert one
message row per phone and mark the campaign scheduled, in one transaction.

The floor is the least any implementation pays for the insert alone: the same
message rows, already built as tuples, inserted by sqlite3's bare executemany
in one transaction into a fresh database with the same schema and indexes.
Goal: schedule within 3x of the floor and under 30 s. Wall and CPU seconds are
both printed: on a shared machine the wall clock includes other people's work.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaign_pipeline.dataset import formats  # noqa: E402
from campaign_pipeline.dataset.columns import DATASET  # noqa: E402
from campaign_pipeline.sending import audience, campaigns  # noqa: E402
from campaign_pipeline.sending.db.engine import open_database  # noqa: E402
from campaign_pipeline.sending.organizations import set_organization  # noqa: E402
from campaign_pipeline.sending.rules.templates import check_template  # noqa: E402

BODY = "Hei {first_name}! Luokan {group_name} kuvat ovat valmiina: https://kuvat.example/{access_key} Vastaa STOP"
LONG_TAIL = " Tilaa ennen perjantaita, niin kuvat ehtivät jouluksi. Kysyttävää? Soita meille arkisin 9-16."


def dataset(rows: int) -> pl.DataFrame:
    index = pl.int_range(0, rows, eager=True)
    first = (pl.when(index % 20 == 0).then(pl.lit("Юлия")).when(index % 7 == 0).then(pl.lit("Émilie"))
             .otherwise(pl.lit("Anna")))
    group = pl.when(index % 50 == 0).then(pl.lit("5B" + LONG_TAIL)).otherwise(pl.lit("5B"))
    frame = pl.DataFrame({"i": index}).select(
        organization_id=pl.lit("org-1"), segment=pl.lit("buyer"),
        phone=pl.format("+35840{}", pl.col("i").cast(pl.String).str.zfill(7)), region=pl.lit("FI"),
        first_name=first, last_name=pl.lit("Äijälä"), job_id=pl.lit("job-1"), job_name=pl.lit("Kevät 2026"),
        activity_id=pl.lit("act-1"), activity_name=pl.lit("Luokka 5B"), group_name=group,
        subject_id=pl.format("subj-{}", pl.col("i")), access_key=pl.format("K{}", pl.col("i")),
        contact_source=pl.lit("user"), consent_at=pl.lit("2026-10-01T07:00:00Z"), locale=pl.lit("fi-FI"),
        subject_count=pl.lit(1, dtype=pl.Int64), subject_ids=pl.format("subj-{}", pl.col("i")),
        access_keys=pl.format("K{}", pl.col("i")),
    )
    return frame.select(list(DATASET))


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def fresh_database(folder: Path, name: str):
    engine = open_database(f"sqlite:///{folder / name}")
    set_organization(engine, "org-1", {})
    return engine


def floor(folder: Path, rows: list[tuple], columns: list[str]) -> tuple[float, float]:
    engine = fresh_database(folder, "floor.db")
    campaign = campaigns.create_campaign(engine, "org-1", name="floor", body="x", dataset=folder / "dataset.csv")
    engine.dispose()
    connection = sqlite3.connect(folder / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    rows = [(campaign["id"], *row) for row in rows]
    sql = f"INSERT INTO messages ({', '.join(['campaign_id', *columns])}) VALUES ({', '.join('?' * (len(columns) + 1))})"

    def insert():
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, rows)
        connection.execute("COMMIT")

    _, wall, cpu = timed(insert)
    connection.close()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "dataset.csv"
        path.write_bytes(formats.to_csv(dataset(args.rows)))
        print(f"{platform.python_implementation()} {platform.python_version()}, polars {pl.__version__}, "
              f"sqlite {sqlite3.sqlite_version}; {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB CSV")

        # The stages on their own, to see where the time goes.
        (rows, _), wall, cpu = timed(audience.read_dataset_file, path, "org-1", "buyer")
        print(f"  read dataset       {wall:6.2f} s wall {cpu:6.2f} s cpu")
        frozen, wall, cpu = timed(audience.messages_for, rows, check_template(BODY))
        print(f"  render + measure   {wall:6.2f} s wall {cpu:6.2f} s cpu")
        counts = frozen.group_by("encoding", "segments").len().sort("encoding", "segments").rows()
        print(f"  (encoding, segments, messages): {counts}")

        engine = fresh_database(folder, "campaign.db")
        campaign_id = campaigns.create_campaign(engine, "org-1", name="bench", body=BODY, dataset=path)["id"]
        result, wall, cpu = timed(campaigns.schedule_campaign, engine, "org-1", campaign_id)
        engine.dispose()
        assert result["messages"] == args.rows, result
        print(f"schedule_campaign    {wall:6.2f} s wall {cpu:6.2f} s cpu  ({args.rows / wall:,.0f} messages/s)")

        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        columns = ["organization_id", "kind", "phone", "subject_id", "body", "encoding", "segments", "status",
                   "attempts", "polls", "created_at", "updated_at"]
        tuples = frozen.select(
            pl.lit("org-1").alias("organization_id"), pl.lit("campaign").alias("kind"), "phone", "subject_id",
            "body", "encoding", "segments", pl.lit("pending").alias("status"), pl.lit(0).alias("attempts"),
            pl.lit(0).alias("polls"), pl.lit(now).alias("created_at"), pl.lit(now).alias("updated_at"),
        ).rows()
        floor_wall, floor_cpu = floor(folder, tuples, columns)
        print(f"floor: executemany   {floor_wall:6.2f} s wall {floor_cpu:6.2f} s cpu")
        print(f"ratio {wall / floor_wall:.2f}x the floor (goal <= 3x), {'under' if wall < 30 else 'OVER'} 30 s")


if __name__ == "__main__":
    main()
