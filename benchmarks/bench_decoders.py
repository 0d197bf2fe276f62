"""Which JSON decoder for the export's nested subjects? Figures, side by side.

    .venv/bin/python benchmarks/bench_decoders.py [--subjects 200000]

On one generated export, in one process: parsing every job line with the
standard library and with orjson (untyped, no validation), validating every
activity's subjects with msgspec's typed decoder (what decode.py does), and
flattening the validated subjects with pyarrow's and with polars' JSON readers
under the same explicit schema (what decode.py does with pyarrow).
"""

import argparse
import io
import json
import sys
import time
from pathlib import Path

import msgspec
import orjson
import polars as pl
import pyarrow.json as pa_json

from campaign_pipeline.dataset import decode
from campaign_pipeline.files.export_file import iter_export_lines

sys.path.insert(0, str(Path(__file__).parent))
from bench_build import ensure_export  # noqa: E402


def timed(label: str, megabytes: float, work) -> None:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:<52}{seconds:>8.2f} s{megabytes / seconds:>9.0f} MB/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=200_000)
    args = parser.parse_args()
    lines = list(iter_export_lines(ensure_export(args.subjects, 2026)))
    megabytes = sum(map(len, lines)) / 1e6
    print(f"{args.subjects:,} subject records, {megabytes:.0f} MB of JSON\n")

    timed("json.loads, every line (untyped)", megabytes, lambda: [json.loads(line) for line in lines])
    timed("orjson.loads, every line (untyped)", megabytes, lambda: [orjson.loads(line) for line in lines])

    arrays = [raw for row, raw in decode.iter_activities(lines) if raw is not None]
    subject_mb = sum(map(len, arrays)) / 1e6

    def validate():
        for raw in arrays:
            try:
                decode._subjects.decode(raw)
            except msgspec.ValidationError:
                decode._raw_items.decode(raw)

    timed("msgspec typed decode of subjects (validation)", subject_mb, validate)

    batcher = decode._SubjectBatcher()
    valid = [batcher._keep_valid(raw, "", "", "") for raw in arrays]
    buffer = b"\n".join(b'{"activity_index":%d,"subjects":%s}' % (i, raw) for i, raw in enumerate(valid))
    timed(
        "pyarrow read_json, explicit schema (flatten)",
        subject_mb,
        lambda: pa_json.read_json(
            io.BytesIO(buffer),
            read_options=pa_json.ReadOptions(block_size=max(1 << 20, 2 * max(map(len, valid)) + 64)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=decode._BATCH_SCHEMA, unexpected_field_behavior="ignore"
            ),
        ),
    )
    polars_schema = pl.from_arrow(decode._BATCH_SCHEMA.empty_table()).schema
    timed(
        "polars read_ndjson, explicit schema (flatten)",
        subject_mb,
        lambda: pl.read_ndjson(io.BytesIO(buffer), schema=polars_schema),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
