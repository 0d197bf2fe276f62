import polars as pl
import pytest

from campaign_pipeline.dataset.columns import DATASET
from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.rules.templates import TemplateError, check_template, render, render_one


def test_placeholders_name_dataset_columns_and_double_braces_are_literal():
    template = check_template("Hi {first_name}, {{code}}: {access_key}}}")
    assert template.columns == ("first_name", "access_key")
    assert render_one(template, {"first_name": "Anna", "access_key": "AK1"}) == "Hi Anna, {code}: AK1}"


def test_values_lose_surrounding_whitespace_and_null_is_empty():
    template = check_template("[{first_name}] [{last_name}]")
    rows = pl.DataFrame({"first_name": ["  Anna \t", None, ""], "last_name": ["Äijälä\n", " B ", None]})
    assert render(template, rows).to_list() == ["[Anna] [Äijälä]", "[] [B]", "[] []"]


def test_rendering_agrees_row_by_row_and_keeps_inner_spaces():
    template = check_template("{job_name}:{first_name}")
    rows = pl.DataFrame({"job_name": [" Spring  2026 "], "first_name": ["Anna Maria"]})
    assert render(template, rows).to_list() == [render_one(template, rows.row(0, named=True))]
    assert render_one(template, rows.row(0, named=True)) == "Spring  2026:Anna Maria"


def test_a_body_without_placeholders_renders_once_per_row():
    template = check_template("Photos are ready {{soon}}")
    assert render(template, pl.DataFrame({"phone": ["a", "b"]})).to_list() == ["Photos are ready {soon}"] * 2
    assert render(template, pl.DataFrame({"phone": []}, schema={"phone": pl.String})).len() == 0


def test_a_non_string_column_renders_as_text():
    template = check_template("{subject_count} kids")
    assert render(template, pl.DataFrame({"subject_count": [2]})).to_list() == ["2 kids"]
    assert render_one(template, {"subject_count": 3}) == "3 kids"


def test_without_a_row_placeholders_stay_as_written():
    template = check_template("Hi { first_name }, {{x}} {access_key}")
    assert render_one(template, None) == "Hi { first_name }, {x} {access_key}"


def test_whitespace_inside_braces_is_allowed():
    template = check_template("Hi { first_name }")
    assert template.columns == ("first_name",)
    assert render_one(template, {"first_name": "Anna"}) == "Hi Anna"


@pytest.mark.parametrize("body", ["", "   ", "\n\t "])
def test_an_empty_or_blank_body_is_refused(body):
    with pytest.raises(TemplateError, match="empty body"):
        check_template(body)


def test_an_unknown_column_is_named_with_the_valid_ones():
    with pytest.raises(TemplateError) as raised:
        check_template("Hi {firstname}")
    message = str(raised.value)
    assert "unknown column 'firstname' at character 4" in message
    assert all(column in message for column in DATASET)


@pytest.mark.parametrize(("body", "problem"), [
    ("Hi {first_name", "unclosed '{' at character 4"),
    ("Hi first_name}", "unmatched '}' at character 14"),
    ("a {first_{name}}", "'{' inside a placeholder at character 10"),
    ("a {} b", "empty placeholder at character 3"),
    ("}}}", "unmatched '}' at character 3"),
    ("{{{", "unclosed '{' at character 3"),
])
def test_an_unbalanced_brace_is_placed(body, problem):
    with pytest.raises(TemplateError, match=problem):
        check_template(body)


def test_template_errors_are_usage_errors():
    assert issubclass(TemplateError, ValueError) and issubclass(TemplateError, InputError)
