"""Benchmark: `suppress import` of 10^6 mixed-format numbers into SQLite,
beside the floor: a bare executemany of the same final rows in one transaction.

    .venv/bin/python benchmarks/bench_suppress_import.py [--rows 1000000] [--distinct 700000] [--seed 1]

The file is the phone benchmark's column (bench_phones.py: Finnish numbers
written every way, foreign ones, junk), one entry a line. The import is timed
as the command runs it: read the file, normalize, stage, insert in one
transaction, commit. The floor inserts the rows the import ended with, already
normalized and sorted, with sqlite3's executemany on the same schema and
PRAGMAs: what a single transaction of plain tuples costs. Also times the
end-to-end command (`campaign-cli suppress import`, a new process). Wall and
CPU seconds are printed: on a shared machine the wall clock includes other
people's work.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_phones import build_column  # noqa: E402

from campaign_pipeline.common.logs import JsonLog  # noqa: E402
from campaign_pipeline.sending import suppressions  # noqa: E402
from campaign_pipeline.sending.db.engine import open_database  # noqa: E402
from campaign_pipeline.files.suppression_file import read_suppression_file  # noqa: E402


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=700_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-suppress-"))
    column = build_column(options.rows, options.distinct, options.seed).fill_null("n/a")
    source = folder / "numbers.txt"
    # one entry a line: blank-looking junk would be dropped as blank lines, so write it visibly
    source.write_text("".join(f"{(value.strip() or 'n/a')}\n" for value in column))
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cpus")
    print(f"file: {options.rows:,} lines, {source.stat().st_size / 1e6:.1f} MB")

    url = f"sqlite:///{folder / 'import.db'}"
    engine = open_database(url)
    log = JsonLog(stream=open(os.devnull, "w"))

    def run_import():
        entries = read_suppression_file(source)
        return suppressions.import_entries(engine, "org-1", entries, "FI", "dnc", "import:numbers.txt", log=log)

    counts, wall, cpu = timed(run_import)
    print(f"import: {wall:.2f} s wall, {cpu:.2f} s cpu -> {counts.as_dict()}")
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.exec_driver_sql(
            "SELECT organization_id, phone, reason, source, created_at FROM suppressions ORDER BY phone")]
    engine.dispose()

    floor_db = folder / "floor.db"
    open_database(f"sqlite:///{floor_db}").dispose()  # the same schema
    connection = sqlite3.connect(floor_db, isolation_level=None)
    for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
        connection.execute(f"PRAGMA {pragma}")

    def run_floor():
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO suppressions (organization_id, phone, reason, source, created_at) VALUES (?, ?, ?, ?, ?)",
            rows)
        connection.execute("COMMIT")

    _, floor_wall, floor_cpu = timed(run_floor)
    connection.close()
    print(f"floor (executemany of the {len(rows):,} final rows, one transaction): "
          f"{floor_wall:.2f} s wall, {floor_cpu:.2f} s cpu")
    print(f"import / floor: {wall / floor_wall:.2f}x wall, {cpu / floor_cpu:.2f}x cpu")

    cli = Path(sys.executable).parent / "campaign-cli"
    env = {**os.environ, "CAMPAIGN_DB_URL": f"sqlite:///{folder / 'cli.db'}"}
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    done = subprocess.run([cli, "suppress", "import", "--org", "org-1", source], env=env, capture_output=True,
                          text=True)
    print(f"campaign-cli suppress import (new process, migrated database): {time.perf_counter() - start:.2f} s wall"
          f" -> {done.stdout.strip()}")
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
