"""Free-text phone numbers, read the libphonenumber way, at column speed.

Contract rule 5: a contact's phone qualifies when it parses (libphonenumber
rules, the run's default region for national formats) to a valid number of type
MOBILE or FIXED_LINE_OR_MOBILE. `reference_parse` is that definition, call for
call, with the `phonenumbers` package. At ~50 us a call it is too slow for half a
million distinct strings, so `parse_phones` gives the same answers another way:

* each distinct string is decided once;
* strings of the shape people actually type (ASCII digits grouped by spaces,
  hyphens, dots and parentheses, at most one '+' in front) are decided by polars
  expressions that replay phonenumbers' own steps (`parse`, `is_valid_number`,
  `number_type`, `region_code_for_number`) on the metadata of the regions
  involved. The metadata patterns only use digits, classes, groups,
  alternation, repetition and `$`, which Rust's regex engine reads as Python's
  `re` does, down to which alternative a prefix match takes (leftmost-first);
* every other string, and every case the replay does not pin down (an unknown
  calling code after '+', non-geographic calling codes, regions whose national
  prefix is rewritten by a transform rule, national numbers with a leading
  zero), goes to `reference_parse`. Dispatching, not guessing.

The replay follows phonenumbers 9's phonenumberutil.py; the tests compare it
with `reference_parse` on generated and real corpora, every region included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "PARSED_PHONES_SCHEMA",
    "PhoneParseStats",
    "check_region",
    "parse_phones",
    "parse_phones_with_stats",
    "reference_parse",
]

PARSED_PHONES_SCHEMA = pl.Schema(
    {"raw": pl.String, "e164": pl.String, "region": pl.String, "sms_capable": pl.Boolean}
)
_ANSWERS = ("e164", "region", "sms_capable")

_SMS_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

# phonenumbers' limits (phonenumberutil._MIN_LENGTH_FOR_NSN and friends).
_MIN_NSN_LENGTH = 2
_MAX_NSN_LENGTH = 17
_MAX_INPUT_LENGTH = 250

# The shape the replay decides: any whitespace around, leading punctuation, one
# optional '+', then ASCII digits with space/hyphen/dot/parentheses. In such a
# string phonenumbers keeps the span from the first '+' or digit to the last
# digit, and finds in it no extension label, RFC 3966 part, letter or second
# number; with three digits or more the span is a viable number.
_SIMPLE_SHAPE = r"^\s*[ ().\-]*\+?[0-9 ().\-]*\s*$"
_MIN_SIMPLE_DIGITS = 3

# _number_type_helper tests these before fixed line and mobile; a match on any
# of them makes the number valid but not SMS-capable.
_SPECIAL_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)

_NON_GEO = phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY


# --- the definition of truth ---------------------------------------------------------


def check_region(default_region: str) -> str:
    """Upper-cases the region and refuses one phonenumbers does not know."""
    region = default_region.upper() if isinstance(default_region, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown phone region {default_region!r}: expected an ISO 3166-1 alpha-2 "
            "code that phonenumbers supports, such as 'FI'"
        )
    return region


def reference_parse(
    raw: str, default_region: str = "FI"
) -> tuple[str | None, str | None, bool]:
    """(e164, region, sms_capable) by plain phonenumbers calls; (None, None, False)
    when the string does not parse or the number is not valid."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None, None, False
    if not phonenumbers.is_valid_number(number):
        return None, None, False
    return (
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(number),
        phonenumbers.number_type(number) in _SMS_TYPES,
    )


# --- the public entry points ---------------------------------------------------------


@dataclass(frozen=True)
class PhoneParseStats:
    """How many distinct values there were, and how many needed phonenumbers itself."""

    distinct: int
    fallback: int

    @property
    def fallback_share(self) -> float:
        return self.fallback / self.distinct if self.distinct else 0.0


def parse_phones(raw: pl.Series, default_region: str = "FI") -> pl.DataFrame:
    """One row per distinct non-null value of `raw`, sorted by it, with the
    columns of PARSED_PHONES_SCHEMA: exactly what `reference_parse` answers."""
    return parse_phones_with_stats(raw, default_region)[0]


def parse_phones_with_stats(
    raw: pl.Series, default_region: str = "FI"
) -> tuple[pl.DataFrame, PhoneParseStats]:
    """`parse_phones`, and how many distinct values took the fallback."""
    region = check_region(default_region)
    distinct = raw.cast(pl.String).drop_nulls().unique().sort()
    # The replay works region by region; a value's rank puts the answers back in
    # order with an integer sort instead of a second string sort.
    values = pl.DataFrame({"raw": distinct}).with_row_index("rank")
    replayed, undecided = _replay(values, region)
    fallback = _reference_answers(undecided, region)
    frame = pl.concat([replayed, fallback], rechunk=True).sort("rank").drop("rank")
    return frame, PhoneParseStats(distinct=values.height, fallback=undecided.height)


def _reference_answers(undecided: pl.DataFrame, region: str) -> pl.DataFrame:
    """reference_parse for each (rank, raw) row: the only per-value Python loop."""
    answers = [reference_parse(value, region) for value in undecided["raw"]]
    schema = {name: PARSED_PHONES_SCHEMA[name] for name in _ANSWERS}
    return undecided.hstack(pl.DataFrame(answers, schema=schema, orient="row"))


# --- region metadata, as the replay needs it -----------------------------------------


@dataclass(frozen=True)
class _Desc:
    """A PhoneNumberDesc: a full-match pattern gated by possible lengths."""

    pattern: str
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class _Region:
    code: str
    calling_code: str
    international_prefix: str | None
    national_prefix_for_parsing: str | None
    general: _Desc
    local_only_lengths: tuple[int, ...]
    special: tuple[_Desc, ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line_pattern: bool
    leading_digits: str | None
    # A transform rule rewrites the national prefix instead of dropping it.
    parse_replayable: bool


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None  # phonenumbers reads a missing pattern as "never matches"
    return _Desc(pattern, tuple(desc.possible_length))


@cache
def _region(code: str) -> _Region | None:
    """The region's metadata; None when polars cannot compile one of its patterns."""
    metadata = PhoneMetadata.metadata_for_region(code)
    if metadata is None or _desc(metadata.general_desc) is None:
        return None
    if not metadata.general_desc.possible_length:
        return None  # _test_number_length would fail on it
    special = (_desc(getattr(metadata, name)) for name in _SPECIAL_TYPES)
    region = _Region(
        code=code,
        calling_code=str(metadata.country_code),
        international_prefix=metadata.international_prefix,
        national_prefix_for_parsing=metadata.national_prefix_for_parsing or None,
        general=_desc(metadata.general_desc),
        local_only_lengths=tuple(metadata.general_desc.possible_length_local_only),
        special=tuple(desc for desc in special if desc is not None),
        fixed_line=_desc(metadata.fixed_line),
        mobile=_desc(metadata.mobile),
        same_mobile_and_fixed_line_pattern=bool(metadata.same_mobile_and_fixed_line_pattern),
        leading_digits=metadata.leading_digits,
        parse_replayable=not metadata.national_prefix_transform_rule,
    )
    return region if all(_compiles(pattern) for pattern in _patterns(region)) else None


def _patterns(region: _Region) -> list[str]:
    descs = [region.general, *region.special, region.fixed_line, region.mobile]
    prefixes = [
        region.international_prefix,
        region.national_prefix_for_parsing,
        region.leading_digits,
    ]
    return [d.pattern for d in descs if d is not None] + [p for p in prefixes if p is not None]


def _compiles(pattern: str) -> bool:
    try:
        pl.select(_full_match(pl.lit(""), pattern))
    except pl.exceptions.PolarsError:
        return False
    return True


@cache
def _calling_code_regions(calling_code: str) -> tuple[_Region, ...] | None:
    """The regions sharing a calling code, in phonenumbers' order; None if any is
    unusable (non-geographic, or a pattern polars cannot compile)."""
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(calling_code), ())
    if not codes or _NON_GEO in codes:
        return None
    # region_code_for_number skips regions without metadata; so do we.
    known = [code for code in codes if PhoneMetadata.metadata_for_region(code) is not None]
    regions = [_region(code) for code in known]
    return tuple(regions) if regions and None not in regions else None


@cache
def _main_region_codes() -> dict[str, str]:
    """Calling code -> the region whose metadata phonenumbers.parse goes on with."""
    return {
        str(calling_code): codes[0]
        for calling_code, codes in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
        if codes[0] != _NON_GEO
    }


# --- expressions for phonenumbers' rules ---------------------------------------------
#
# Stages materialize regex results as columns, so no pattern runs twice on a row,
# and gate a pattern by nulling the rows it does not concern (polars skips nulls),
# so a rule only costs what phonenumbers would spend on the same rows.

# Metadata patterns only ever meet ASCII digit strings here, where Python's Unicode
# `\d` and an ASCII `\d` agree; `(?-u)` asks Rust for the ASCII one, which
# compiles several times faster.
_ASCII = "(?-u)"


def _full_match(number: pl.Expr, pattern: str) -> pl.Expr:
    """_match_national_number: the pattern matches the whole number."""
    return number.str.contains(f"{_ASCII}^(?:{pattern})$")


def _starts_with_match(number: pl.Expr, pattern: str) -> pl.Expr:
    """`re.match(pattern, number)` succeeds: a prefix of the number matches."""
    return number.str.contains(f"{_ASCII}^(?:{pattern})")


def _prefix_length(number: pl.Expr, pattern: str) -> pl.Expr:
    """Length of `re.match(pattern, number)`, null when it does not match."""
    if pattern.isascii() and pattern.isdigit():  # a plain prefix, such as "0"
        return pl.when(number.str.starts_with(pattern)).then(pl.lit(len(pattern), pl.UInt32))
    return number.str.extract(f"{_ASCII}^({pattern})", 1).str.len_bytes()


def _length_in(number: pl.Expr, lengths: tuple[int, ...]) -> pl.Expr:
    if not lengths:
        return pl.lit(False)
    return number.str.len_bytes().is_in(list(lengths))


def _matches_desc(number: pl.Expr, desc: _Desc | None) -> pl.Expr:
    """_is_number_matching_desc: possible lengths first, then the full pattern."""
    if desc is None:
        return pl.lit(False)
    if not desc.lengths:
        return _full_match(number, desc.pattern)
    right_length = pl.when(_length_in(number, desc.lengths)).then(number)
    return _full_match(right_length, desc.pattern).fill_null(False)


def _too_long(number: pl.Expr, region: _Region) -> pl.Expr:
    """_test_number_length(number, metadata) is TOO_LONG."""
    longer = number.str.len_bytes() > max(region.general.lengths)
    return longer & ~_length_in(number, region.local_only_lengths)


def _possible_or_too_long(number: pl.Expr, region: _Region) -> pl.Expr:
    """_test_number_length is IS_POSSIBLE or TOO_LONG: when parse() keeps a number
    with its national prefix stripped."""
    possible = _length_in(number, region.general.lengths)
    longer = number.str.len_bytes() > max(region.general.lengths)
    return (possible | longer) & ~_length_in(number, region.local_only_lengths)


def _calling_code(digits: pl.Expr) -> pl.Expr:
    """_extract_country_code: the first 1-, 2- or 3-digit head that is a calling code."""
    known = [str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    chain = None
    for width in (1, 2, 3):
        head = digits.str.slice(0, width)
        is_code = head.is_in([code for code in known if len(code) == width])
        chain = pl.when(is_code).then(head) if chain is None else chain.when(is_code).then(head)
    return chain.otherwise(pl.lit(None, pl.String))


def _main_region(calling_code: pl.Expr) -> pl.Expr:
    main_regions = _main_region_codes()
    return calling_code.replace_strict(main_regions, default=None, return_dtype=pl.String)


def _with_prefix_stripped(
    frame: pl.DataFrame, source: str, target: str, region: _Region
) -> pl.DataFrame:
    """_maybe_strip_national_prefix_carrier_code without a transform rule: drop the
    national prefix, unless the number fit the general pattern with it and no
    longer does without it."""
    number = pl.col(source)
    if not region.national_prefix_for_parsing:
        return frame.with_columns(number.alias(target))
    cut = _prefix_length(number, region.national_prefix_for_parsing)
    frame = frame.with_columns(_np_cut=cut).with_columns(
        _np_rest=number.str.slice(pl.col("_np_cut"))
    )
    general = region.general.pattern
    prefixed = pl.when(pl.col("_np_cut").is_not_null()).then(number)
    declined = _full_match(prefixed, general) & ~_full_match(pl.col("_np_rest"), general)
    kept = pl.col("_np_rest").is_null() | declined
    stripped = pl.when(kept).then(number).otherwise(pl.col("_np_rest"))
    return frame.with_columns(stripped.alias(target)).drop("_np_cut", "_np_rest")


def _with_kind(
    frame: pl.DataFrame, region: _Region, valid: str, sms: str | None = None
) -> pl.DataFrame:
    """_number_type_helper on the nsn column in `region`, reduced to what the
    contract needs: is the type known (valid), is it MOBILE or FIXED_LINE_OR_MOBILE."""
    nsn = pl.col("nsn")
    same_patterns = region.same_mobile_and_fixed_line_pattern
    specials = (_matches_desc(nsn, desc) for desc in region.special)
    frame = frame.with_columns(
        _general=_matches_desc(nsn, region.general),
        # Tested before fixed line and mobile; a match is valid but not SMS-capable.
        _special=pl.any_horizontal(pl.lit(False), *specials),
        _fixed=_matches_desc(nsn, region.fixed_line),
        # With identical patterns the mobile pattern is never consulted.
        _mobile=pl.lit(False) if same_patterns else _matches_desc(nsn, region.mobile),
    )
    general, special, fixed, mobile = (
        pl.col(name) for name in ("_general", "_special", "_fixed", "_mobile")
    )
    kinds = {valid: general & (special | fixed | mobile)}
    if sms is not None:
        # Fixed line with identical patterns, or mobile, means an SMS-capable type.
        kinds[sms] = general & ~special & (fixed if same_patterns else mobile)
    return frame.with_columns(**kinds).drop("_general", "_special", "_fixed", "_mobile")


# --- the replay, stage by stage ------------------------------------------------------


def _replay(values: pl.DataFrame, home_code: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decide what the expressions can. Takes (rank, raw) rows; returns the decided
    rows with their answers, and the undecided (rank, raw) rows."""
    home = _region(home_code)
    if home is None:
        return _answers(values.clear().with_columns(_nothing_known())), values
    undecided: list[pl.DataFrame] = []

    def set_aside(frame: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
        undecided.append(frame.filter(condition).select("rank", "raw"))
        return frame.filter(~condition)

    frame = set_aside(_simple_shapes(values), ~pl.col("simple"))
    frame = set_aside(_with_country_code(frame, home), pl.col("parse_region").is_null())
    frame = set_aside(_per_group(frame, "parse_region", _with_nsn), pl.col("undecided"))
    # A null nsn means parse() raised: the national number is too short or too long.
    raised = frame.filter(pl.col("nsn").is_null()).with_columns(_nothing_known())
    parsed = frame.filter(pl.col("nsn").is_not_null())
    frame = set_aside(_per_group(parsed, "cc", _with_classification), pl.col("undecided"))
    return pl.concat([_answers(frame), _answers(raised)]), pl.concat(undecided)


def _simple_shapes(values: pl.DataFrame) -> pl.DataFrame:
    raw = pl.col("raw")
    values = values.with_columns(digits=raw.str.replace_all(r"[^0-9]", ""))
    return values.with_columns(
        # In the shape a '+' can only stand before the first digit.
        plus=raw.str.contains("+", literal=True),
        simple=raw.str.contains(_SIMPLE_SHAPE)
        & (raw.str.len_chars() <= _MAX_INPUT_LENGTH)
        & (pl.col("digits").str.len_bytes() >= _MIN_SIMPLE_DIGITS),
    )


def _with_country_code(frame: pl.DataFrame, home: _Region) -> pl.DataFrame:
    """_maybe_extract_country_code. Adds cc, national (the number before its
    national prefix is stripped) and parse_region (whose metadata parse() goes on
    with; null sends the row to the fallback)."""
    digits, plus = pl.col("digits"), pl.col("plus")
    if home.international_prefix is None:
        idd = pl.lit(None, pl.UInt32)  # phonenumbers tries "NonMatch": never digits
    else:
        idd = _prefix_length(pl.when(~plus).then(digits), home.international_prefix)
    after_idd = digits.str.slice(idd)
    # An IDD followed by a 0 is not stripped: calling codes never start with 0.
    via_idd = idd.is_not_null() & ~after_idd.str.starts_with("0")
    frame = frame.with_columns(
        international=pl.when(plus).then(digits).when(via_idd).then(after_idd)
    )
    abroad = _from_international(frame.filter(pl.col("international").is_not_null()))
    at_home = _from_home(frame.filter(pl.col("international").is_null()), home)
    columns = ["rank", "raw", "cc", "national", "parse_region"]
    return pl.concat([abroad.select(columns), at_home.select(columns)])


def _from_international(frame: pl.DataFrame) -> pl.DataFrame:
    """After a '+' or an IDD: the calling code, and what follows it. Two digits or
    fewer, or an unknown code, make parse() raise or retry: the fallback decides."""
    number = pl.col("international")
    long_enough = number.str.len_bytes() > _MIN_NSN_LENGTH
    frame = frame.with_columns(cc=pl.when(long_enough).then(_calling_code(number)))
    return frame.with_columns(
        national=number.str.slice(pl.col("cc").str.len_bytes()),
        parse_region=_main_region(pl.col("cc")),
    )


def _from_home(frame: pl.DataFrame, home: _Region) -> pl.DataFrame:
    """No '+' and no IDD. The home calling code written without '+' is read as one
    when the number fits the general pattern only without it, or is too long with
    it; otherwise the whole number is national to the home region."""
    if not home.parse_replayable:  # the stripping below would need the transform rule
        return frame.with_columns(
            cc=pl.lit(None, pl.String),
            national=pl.lit(None, pl.String),
            parse_region=pl.lit(None, pl.String),
        )
    digits, home_cc = pl.col("digits"), home.calling_code
    frame = frame.with_columns(
        _rest=pl.when(digits.str.starts_with(home_cc)).then(digits.str.slice(len(home_cc)))
    )
    frame = _with_prefix_stripped(frame, "_rest", "_without_cc", home)
    with_cc = pl.when(pl.col("_rest").is_not_null()).then(digits)
    general = home.general.pattern
    fits_only_without = ~_full_match(with_cc, general) & _full_match(
        pl.col("_without_cc"), general
    )
    frame = frame.with_columns(
        _cc_written=(fits_only_without | _too_long(with_cc, home)).fill_null(False)
    )
    written = pl.col("_cc_written")
    # Once a calling code is read, parse() goes on with its main region's metadata.
    main_region = _main_region_codes().get(home_cc)
    return frame.with_columns(
        cc=pl.lit(home_cc),
        national=pl.when(written).then(pl.col("_without_cc")).otherwise(digits),
        parse_region=pl.when(written).then(pl.lit(main_region)).otherwise(pl.lit(home.code)),
    )


def _with_nsn(frame: pl.DataFrame, region_code: str | None) -> pl.DataFrame:
    """The end of parse(): the national prefix stays stripped when what remains has
    a possible length (or is too long); then phonenumbers' length limits.

    nsn is null where parse() raises; undecided marks the rows for the fallback.
    """
    region = _region(region_code) if region_code else None
    if region is None or not region.parse_replayable:
        return frame.with_columns(nsn=pl.lit(None, pl.String), undecided=pl.lit(True))
    frame = _with_prefix_stripped(frame, "national", "_stripped", region)
    national, stripped = pl.col("national"), pl.col("_stripped")
    nsn = pl.when(_possible_or_too_long(stripped, region)).then(stripped).otherwise(national)
    parses = (national.str.len_bytes() >= _MIN_NSN_LENGTH) & (
        nsn.str.len_bytes() <= _MAX_NSN_LENGTH
    )
    frame = frame.with_columns(nsn=pl.when(parses).then(nsn)).drop("_stripped")
    # parse() sets leading zeros aside (italian_leading_zero): not replayed.
    return frame.with_columns(undecided=pl.col("nsn").str.starts_with("0").fill_null(False))


def _with_classification(frame: pl.DataFrame, calling_code: str | None) -> pl.DataFrame:
    """region_code_for_number, then is_valid_number and number_type in that region."""
    regions = _calling_code_regions(calling_code) if calling_code else None
    if regions is None:
        return frame.with_columns(_nothing_known(), undecided=pl.lit(True))
    frame = _with_region(frame, regions)
    by_code = {region.code: region for region in regions}

    def classify(part: pl.DataFrame, code: str | None) -> pl.DataFrame:
        if code is None:  # no region claims the number: not valid
            return part.with_columns(valid=pl.lit(False), sms=pl.lit(False))
        return _with_kind(part, by_code[code], valid="valid", sms="sms")

    return _per_group(frame, "region", classify).with_columns(undecided=pl.lit(False))


def _with_region(frame: pl.DataFrame, regions: tuple[_Region, ...]) -> pl.DataFrame:
    """_region_code_for_number_from_list: the first region, in phonenumbers' order,
    whose leading digits start the number or, lacking those, for which it is valid."""
    if len(regions) == 1:
        return frame.with_columns(region=pl.lit(regions[0].code))
    claims = {}
    for region in regions:
        claim = f"_claim_{region.code}"
        if region.leading_digits is not None:
            leads = _starts_with_match(pl.col("nsn"), region.leading_digits)
            frame = frame.with_columns(leads.alias(claim))
        else:
            frame = _with_kind(frame, region, valid=claim)
        claims[claim] = region.code
    first = pl.coalesce(
        [pl.when(pl.col(claim)).then(pl.lit(code)) for claim, code in claims.items()]
    )
    return frame.with_columns(region=first).drop(list(claims))


def _nothing_known() -> list[pl.Expr]:
    """The classification columns of a row that is not a valid number."""
    return [
        pl.lit(None, pl.String).alias("region"),
        pl.lit(False).alias("valid"),
        pl.lit(False).alias("sms"),
        pl.lit(None, pl.String).alias("cc"),
        pl.lit(None, pl.String).alias("nsn"),
    ]


def _answers(frame: pl.DataFrame) -> pl.DataFrame:
    valid = pl.col("valid")
    answers = frame.select(
        "rank",
        "raw",
        e164=pl.when(valid).then(pl.concat_str(pl.lit("+"), pl.col("cc"), pl.col("nsn"))),
        region=pl.when(valid).then(pl.col("region")),
        sms_capable=valid & pl.col("sms"),
    )
    return answers.cast(dict(PARSED_PHONES_SCHEMA))


def _per_group(
    frame: pl.DataFrame, key: str, stage: Callable[[pl.DataFrame, str | None], pl.DataFrame]
) -> pl.DataFrame:
    """Apply a region-specific stage to each group of rows sharing `key`.

    The loop is over the regions and calling codes present, never over rows. A
    stage reads a null key as "no usable region"; an empty frame goes through it
    that way too, so that the columns it adds exist for the stages after it.
    """
    if frame.is_empty():
        return stage(frame, None)
    groups = frame.partition_by(key, as_dict=True).items()
    return pl.concat([stage(part, value) for (value,), part in groups], how="diagonal_relaxed")
