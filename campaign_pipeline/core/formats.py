"""The bytes of the output files (contract, "Output"): one writer per format,
shared by the command line and the IO manager so both give identical files."""

import io
from pathlib import PurePosixPath

import polars as pl

FORMATS = ("csv", "json", "parquet")


def format_of_path(path: str) -> str | None:
    """The format a file name means by its extension, in any case (`.csv`, `.json`,
    `.parquet`); None when it names none. Local paths and s3:// keys alike."""
    suffix = PurePosixPath(path).suffix.lower().removeprefix(".")
    return suffix if suffix in FORMATS else None


def output_format(path: str | None, requested: str | None) -> str:
    """The format to write `path` in: the one asked for, else the one its name
    means, else CSV. Asking for one the name contradicts is a ValueError."""
    named = format_of_path(path) if path else None
    if requested and named and requested != named:
        raise ValueError(f"{path} names a {named.upper()} file, not {requested.upper()}")
    return requested or named or "csv"


def _strings(frame: pl.DataFrame) -> list[str]:
    return [name for name, dtype in frame.schema.items() if dtype == pl.String]


def to_csv(frame: pl.DataFrame) -> bytes:
    # Empty strings leave as nulls so polars writes them unquoted: RFC 4180 needs
    # no quotes there, and the contract asks for quoting only where it does.
    plain = frame.with_columns(
        pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in _strings(frame)
    )
    return plain.write_csv(line_terminator="\n", quote_style="necessary").encode()


def to_json(frame: pl.DataFrame) -> bytes:
    return frame.with_columns(pl.col(_strings(frame)).fill_null("")).write_json().encode()


def to_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def encode(frame: pl.DataFrame, fmt: str) -> bytes:
    writers = {"csv": to_csv, "json": to_json, "parquet": to_parquet}
    try:
        return writers[fmt](frame)
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)}") from None


def decode(data: bytes, fmt: str, schema: dict | None = None) -> pl.DataFrame:
    """Reads back what `encode` wrote (for the IO manager's inputs)."""
    if fmt == "parquet":
        return pl.read_parquet(io.BytesIO(data))
    if fmt == "json":
        frame = pl.read_json(io.BytesIO(data), schema=schema) if data.strip() != b"[]" else pl.DataFrame(schema=schema)
        return frame
    return pl.read_csv(io.BytesIO(data), schema=schema, empty_string_is_null=False).with_columns(
        pl.col(pl.String).fill_null("")
    )
