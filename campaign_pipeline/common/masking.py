"""Masks for personal data outside the output files (contract, "Privacy")."""

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars costs ~0.4 s to import: only the column masks need it, not the CLI's logs
    import polars as pl


def _shown_prefix(length: int) -> int:
    # Up to six leading characters (`+35840`), but always at least four hidden
    # ones: short numbers (`+2908999`) must not show whole.
    return max(0, min(6, length - 6))


def mask_phone(phone: str) -> str:
    """`+358401234567` -> `+35840*****67`: enough to recognise, not to dial."""
    if len(phone) < 6:
        return "*" * len(phone)
    shown = _shown_prefix(len(phone))
    return phone[:shown] + "*" * (len(phone) - shown - 2) + phone[-2:]


def mask_phone_expr(phone: "pl.Expr") -> "pl.Expr":
    """mask_phone as a polars expression, for whole columns."""
    import polars as pl

    length = phone.str.len_chars().cast(pl.Int64)
    shown = pl.min_horizontal(pl.lit(6), pl.max_horizontal(pl.lit(0), length - 6))
    stars = lambda n: pl.lit("*").repeat_by(n).list.join("")  # noqa: E731
    return (
        pl.when(length < 6)
        .then(stars(length))
        .otherwise(pl.concat_str(phone.str.slice(0, shown), stars(length - shown - 2), phone.str.slice(-2)))
    )


def mask_name(name: str) -> str:
    return name[:1] + "***" if name else ""


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else mask_name(email)


# A run of digits and phone punctuation standing on its own: not part of an id
# such as a UUID or `job-2026-11-23`, where digits sit between hyphens and letters.
_PHONE_LIKE = re.compile(r"(?<![\w-])\+?\d[\d \-().]{5,}\d(?![\w-])")
_EMAIL_LIKE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scrub(text: str) -> str:
    """Masks anything in free text that looks like a phone number or an email,
    for messages that may quote input (errors, log lines)."""
    text = _EMAIL_LIKE.sub(lambda m: mask_email(m.group()), text)
    return _PHONE_LIKE.sub(_mask_if_phone, text)


def _mask_if_phone(match: re.Match) -> str:
    text = match.group()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # a date, e.g. a partition key
        return text
    digits = re.sub(r"[^\d+]", "", text)
    return mask_phone(digits) if sum(c.isdigit() for c in digits) >= 7 else text


_NAME_COLUMNS = ("first_name", "last_name")
_KEY_COLUMNS = ("access_key", "access_keys")


def masked(frame: "pl.DataFrame") -> "pl.DataFrame":
    """The frame with every personal column masked, for previews in run metadata."""
    import polars as pl

    names = [c for c in _NAME_COLUMNS if c in frame.columns]
    keys = [c for c in _KEY_COLUMNS if c in frame.columns]
    return frame.with_columns(
        *(
            pl.when(pl.col(c).fill_null("") != "").then(pl.col(c).str.slice(0, 1) + "***").alias(c)
            for c in names
        ),
        *(pl.when(pl.col(c).fill_null("").str.contains(r"[^;]")).then(pl.lit("***")).alias(c) for c in keys),
        *([mask_phone_expr(pl.col("phone")).alias("phone")] if "phone" in frame.columns else []),
    )
