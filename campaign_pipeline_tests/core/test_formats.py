import json

import polars as pl
import pytest

from campaign_pipeline.core import columns as C
from campaign_pipeline.core import formats


def frame(rows):
    return pl.DataFrame(rows, schema={"name": pl.String, "count": pl.Int64}, orient="row")


def test_csv_quotes_only_where_rfc_4180_needs_it_and_ends_every_line():
    data = frame([("a,b", 1), ('say "hi"', 2), ("two\nlines", 3), ("cr\rhere", 4), ("", 5), (None, 6), (" Åsa ", 7)])
    assert formats.to_csv(data) == (
        'name,count\n"a,b",1\n"say ""hi""",2\n"two\nlines",3\n"cr\rhere",4\n,5\n,6\n Åsa ,7\n'
    ).encode()


def test_an_empty_dataset_is_the_header_alone_or_an_empty_array():
    empty = pl.DataFrame(schema=C.DATASET)
    assert formats.to_csv(empty) == (",".join(C.DATASET) + "\n").encode()
    assert formats.to_json(empty) == b"[]"


def test_json_keeps_column_order_integers_as_numbers_and_empty_as_empty_string():
    data = frame([("Åsa", 2), (None, 3)])
    assert json.loads(formats.to_json(data)) == [{"name": "Åsa", "count": 2}, {"name": "", "count": 3}]
    assert formats.to_json(data).startswith(b'[{"name":"\xc3\x85sa","count":2}')


def test_every_format_reads_back_to_the_same_frame():
    data = pl.DataFrame(
        {name: (["x, \"y\"", ""] if dtype == pl.String else [1, 2]) for name, dtype in C.DATASET.items()},
        schema=C.DATASET,
    )
    for fmt in formats.FORMATS:
        assert formats.decode(formats.encode(data, fmt), fmt, C.DATASET).equals(data), fmt


def test_the_extension_names_the_format_whatever_its_case():
    assert [formats.format_of_path(p) for p in ("d.csv", "d.JSON", "s3://b/runs/d.Parquet", "d.txt", "d", "dir.json/d")] == [
        "csv", "json", "parquet", None, None, None,
    ]


def test_the_output_format_follows_the_name_and_refuses_a_contradicting_flag():
    assert formats.output_format("d.parquet", None) == "parquet"
    assert formats.output_format("d.json", "json") == "json"
    assert formats.output_format("d.txt", None) == "csv" and formats.output_format(None, None) == "csv"
    assert formats.output_format("d", "parquet") == "parquet" and formats.output_format(None, "json") == "json"
    with pytest.raises(ValueError, match=r"d\.csv names a CSV file"):
        formats.output_format("d.csv", "json")
