"""A campaign's audience read from a dataset file, as `campaign-cli build` writes it."""

import polars as pl
import pytest

from campaign_pipeline.dataset.columns import DATASET
from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.audience import read_dataset_file
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_reads_the_build_formats_keeping_only_the_organization_and_segment(write_dataset, fmt):
    path = write_dataset([
        dataset_row("+358401111111", first_name='Anna, "Annie"'),
        dataset_row("+358402222222", organization_id="org-2"),
        dataset_row("+358403333333", segment="non_buyer"),
        dataset_row("+358404444444", first_name="Émilie 😀", subject_count=3),
    ], fmt)
    audience, _ = read_dataset_file(path, "org-1", "buyer")
    assert audience["phone"].to_list() == ["+358401111111", "+358404444444"]
    assert audience["first_name"].to_list() == ['Anna, "Annie"', "Émilie 😀"]
    assert audience.columns == list(DATASET)
    # Every column is text: a template renders subject_count like any other column.
    assert set(audience.schema.values()) == {pl.String}
    assert audience["subject_count"].to_list() == ["1", "3"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_empty_dataset_is_an_empty_audience(write_dataset, fmt):
    audience, _ = read_dataset_file(write_dataset([], fmt), "org-1", "buyer")
    assert audience.height == 0 and audience.columns == list(DATASET)


def test_a_repeated_phone_is_one_recipient_the_first_row_wins(write_dataset):
    path = write_dataset([
        dataset_row("+358401111111", first_name="First"),
        dataset_row("+358402222222"),
        dataset_row("+358401111111", first_name="Second"),
    ])
    audience, _ = read_dataset_file(path, "org-1", "buyer")
    assert audience["phone"].to_list() == ["+358401111111", "+358402222222"]
    assert audience["first_name"].to_list()[0] == "First"


def test_empty_values_stay_empty_strings(write_dataset):
    audience, _ = read_dataset_file(write_dataset([dataset_row(group_name="", access_key="")]), "org-1", "buyer")
    assert audience.row(0, named=True)["group_name"] == ""
    assert audience.row(0, named=True)["access_key"] == ""


def test_a_file_of_another_shape_names_the_missing_columns(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("phone,first_name,organization_id\n+358401234567,Anna,org-1\n")
    with pytest.raises(InputError) as error:
        read_dataset_file(path, "org-1", "buyer")
    message = str(error.value)
    assert "missing columns" in message and "segment" in message and "access_keys" in message
    assert "first_name" not in message.split("missing columns", 1)[1]


def test_a_json_file_of_another_shape_names_the_missing_columns(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('[{"phone": "+358401234567"}]')
    with pytest.raises(InputError, match="missing columns.*organization_id"):
        read_dataset_file(path, "org-1", "buyer")


@pytest.mark.parametrize("content", [
    b"", b"\x00\xff\xfe garbage \x00", b'[{"phone": "+358401234567", ', b'{"not": "a list"}', b"[1, 2]",
    b'[{"phone": "+358401234567", "first_name": {"nested": "Anna Secret"}}]',
    b'phone,first_name\n"+358401234567,Anna Secret\n',
])
def test_an_unreadable_file_is_a_usage_error_that_quotes_none_of_it(tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match="broken.json") as error:
        read_dataset_file(path, "org-1", "buyer")
    assert "Secret" not in str(error.value) and "1234567" not in str(error.value)


def test_a_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_dataset_file(tmp_path / "nope.csv", "org-1", "buyer")
    with pytest.raises(InputError, match="not a file"):
        read_dataset_file(tmp_path, "org-1", "buyer")


def test_a_phone_not_in_e164_is_a_usage_error_that_does_not_show_it(write_dataset):
    path = write_dataset([dataset_row("+358401111111"), dataset_row("040 123 4567")])
    with pytest.raises(InputError) as error:
        read_dataset_file(path, "org-1", "buyer")
    assert "E.164" in str(error.value) and "1 row" in str(error.value)
    assert "123 4567" not in str(error.value)


def test_a_file_of_one_segment_is_that_segments_audience(write_dataset):
    path = write_dataset([dataset_row("+358401111111", segment="non_buyer"),
                          dataset_row("+358402222222", segment="non_buyer", organization_id="org-2")])
    audience, segment = read_dataset_file(path, "org-1", None)
    assert (segment, audience["phone"].to_list()) == ("non_buyer", ["+358401111111"])
    assert read_dataset_file(path, "org-1", "non_buyer")[1] == "non_buyer"
    with pytest.raises(InputError, match="holds only non_buyer rows, no buyer: give --segment non_buyer"):
        read_dataset_file(path, "org-1", "buyer")


def test_a_file_of_both_segments_is_narrowed_to_buyers_unless_told(write_dataset):
    path = write_dataset([dataset_row("+358401111111", segment="non_buyer"), dataset_row("+358402222222")])
    assert read_dataset_file(path, "org-1", None)[0]["phone"].to_list() == ["+358402222222"]
    audience, segment = read_dataset_file(path, "org-1", "non_buyer")
    assert (segment, audience["phone"].to_list()) == ("non_buyer", ["+358401111111"])
    assert read_dataset_file(write_dataset([], name="empty.csv"), "org-1", None)[1] == "buyer"
