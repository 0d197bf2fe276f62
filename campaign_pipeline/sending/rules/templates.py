"""Message body templates (sending.md, "Campaigns"): `{column}` placeholders, `{{`/`}}` literal braces.

A template is checked once, at `campaign create`/`update`, and rendered for a
whole audience at `schedule` with one polars expression. Choices where the
contract is silent:
- a body of only whitespace is as empty as an empty one;
- whitespace inside the braces is allowed: `{ first_name }` is `{first_name}`;
- positions in messages are 1-based characters (code points) of the body;
- a null value renders as nothing, like a value of only whitespace.
"""

from dataclasses import dataclass

import polars as pl

from campaign_pipeline.dataset.columns import DATASET
from campaign_pipeline.common.errors import InputError


class TemplateError(InputError, ValueError):
    """The body cannot be a template; the message names the problem and where."""


@dataclass(frozen=True)
class Placeholder:
    column: str
    written: str  # as it stands in the body, braces included, for the audience-less test message


@dataclass(frozen=True)
class Template:
    body: str
    parts: tuple[str | Placeholder, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(part.column for part in self.parts if isinstance(part, Placeholder))


def check_template(body: str) -> Template:
    """The template of `body`, or TemplateError naming the first problem."""
    if not body.strip():
        raise TemplateError("empty body: the message needs some text")
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    i, n = 0, len(body)
    while i < n:
        char = body[i]
        if char in "{}" and body.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "}":
            raise TemplateError(f"unmatched '}}' at character {i + 1} (write '}}}}' for a literal brace)")
        elif char == "{":
            end = _placeholder_end(body, i)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_placeholder(body, i, end))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return Template(body, tuple(parts))


def _placeholder_end(body: str, start: int) -> int:
    for j in range(start + 1, len(body)):
        if body[j] == "}":
            return j
        if body[j] == "{":
            raise TemplateError(f"'{{' inside a placeholder at character {j + 1} "
                                f"(the placeholder opened at character {start + 1})")
    raise TemplateError(f"unclosed '{{' at character {start + 1} (write '{{{{' for a literal brace)")


def _placeholder(body: str, start: int, end: int) -> Placeholder:
    column = body[start + 1:end].strip()
    if not column:
        raise TemplateError(f"empty placeholder at character {start + 1}")
    if column not in DATASET:
        raise TemplateError(f"unknown column {column!r} at character {start + 1}; "
                            f"the columns are {', '.join(DATASET)}")
    return Placeholder(column, body[start:end + 1])


def render(template: Template, rows: pl.DataFrame) -> pl.Series:
    """The body for every row, in row order (a String series named `body`)."""
    if not template.columns:
        return pl.repeat(_literal_text(template), rows.height, dtype=pl.String, eager=True).alias("body")
    pieces = [pl.lit(part, dtype=pl.String) if isinstance(part, str)
              else pl.col(part.column).cast(pl.String).str.strip_chars().fill_null("")
              for part in template.parts]
    return rows.select(pl.concat_str(pieces).alias("body")).to_series()


def render_one(template: Template, row: dict | None) -> str:
    """The body for one row (a test message); with no row the placeholders stay as written.

    One row goes through `render` so that a test message reads exactly as the
    campaign's messages will (same whitespace rules).
    """
    if row is None:
        return "".join(part if isinstance(part, str) else part.written for part in template.parts)
    if not template.columns:
        return _literal_text(template)
    columns = dict.fromkeys(template.columns)
    frame = pl.DataFrame({column: [None if row.get(column) is None else str(row[column])] for column in columns},
                         schema={column: pl.String for column in columns})
    return render(template, frame).item()


def _literal_text(template: Template) -> str:
    return "".join(part for part in template.parts if isinstance(part, str))
