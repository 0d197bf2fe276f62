"""Inserting a whole frame into a table at the driver's speed.

SQLAlchemy's executemany of dictionaries costs several microseconds a row in
Python; an audience of 10^6 messages goes instead as plain tuples to the
driver's executemany (SQLite) or as one COPY (PostgreSQL), inside the caller's
transaction. Values must already be what the column stores, except datetimes,
which go through the column type's own bind processing (once per distinct
value: a bulk insert holds few distinct instants).
"""

from __future__ import annotations

import io

import polars as pl
from sqlalchemy import Connection, Table


def bulk_insert(connection: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Inserts every row of `frame` (columns named as `table`'s) into `table`."""
    if frame.height == 0:
        return 0
    frame = _bound_datetimes(connection, table, frame)
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in frame.columns)
    if connection.dialect.name == "postgresql":
        # CSV as COPY reads it: an unquoted empty field is NULL, `""` an empty string.
        data = frame.write_csv(include_header=False, line_terminator="\n", quote_style="necessary")
        with connection.connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {quote(table.name)} ({columns}) FROM STDIN WITH (FORMAT csv)", io.StringIO(data))
    else:
        marks = ", ".join("?" * frame.width)
        connection.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})", frame.rows())
    return frame.height


def _bound_datetimes(connection: Connection, table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    replaced = []
    for name, dtype in frame.schema.items():
        if not isinstance(dtype, pl.Datetime):
            continue
        bind = table.c[name].type.bind_processor(connection.dialect) or (lambda value: value)
        distinct = frame[name].unique().drop_nulls().to_list()
        mapping = {value: str(bind(value)) for value in distinct}
        replaced.append(pl.col(name).replace_strict(mapping, default=None, return_dtype=pl.String))
    return frame.with_columns(replaced) if replaced else frame
