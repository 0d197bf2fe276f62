from campaign_pipeline.core.suppressions import normalize_suppressions, suppression_entries


def test_a_csv_with_a_phone_column_is_read_by_that_column():
    text = "\n\nname, Phone ,reason\nA,040 123 4567,opt-out\nB,\"+358 50 123 4567\",x\n"
    assert suppression_entries(text) == ["040 123 4567", "+358 50 123 4567"]


def test_plain_text_is_one_number_a_line_without_blank_and_comment_lines():
    text = "# do not contact\n0401234567\n\n  +358501234567  \n   # also a comment\n"
    assert suppression_entries(text) == ["0401234567", "+358501234567"]


def test_a_single_column_header_that_is_not_phone_is_plain_text():
    assert suppression_entries("number\n0401234567\n") == ["number", "0401234567"]


def test_entries_in_any_format_normalize_to_e164_and_garbage_is_ignored():
    entries = ["040 123 4567", "+358401234567", "00358 40 1234567", "n/a", "", "123"]
    assert normalize_suppressions(entries, "FI").to_list() == ["+358401234567"]
    assert normalize_suppressions(["070-123 45 67"], "SE").to_list() == ["+46701234567"]


def test_each_entry_is_parsed_in_entry_order_with_null_for_the_invalid_ones():
    from campaign_pipeline.core.suppressions import parse_suppression_entries

    entries = ["n/a", "040 123 4567", "+358401234567", "", "050 765 4321", "n/a"]
    assert parse_suppression_entries(entries, "FI").to_list() == [
        None, "+358401234567", "+358401234567", None, "+358507654321", None]
