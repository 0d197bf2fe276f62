"""parse_phones must answer exactly as reference_parse (plain phonenumbers) does.

The fast path replays phonenumbers' parsing in polars expressions, so the only
acceptable test is equality with the reference on inputs that stress every
branch of that replay: national, international, IDD and country-code-without-plus
forms, national prefixes, multi-region calling codes, wrong lengths, and the
junk people type into a phone field (which must reach the fallback).
"""

import gzip
import json
import random
from pathlib import Path

import phonenumbers
import polars as pl
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

import campaign_pipeline
from campaign_pipeline.dataset.phones import (
    check_region,
    parse_phones,
    parse_phones_with_stats,
    reference_parse,
)

SAMPLE_EXPORT = Path(campaign_pipeline.__file__).parent / "sample" / "portal_export.jsonl.gz"
OUTPUT_SCHEMA = pl.Schema(
    {"raw": pl.String, "e164": pl.String, "region": pl.String, "sms_capable": pl.Boolean}
)
CORPUS_REGIONS = ["FI", "SE", "US", "GB", "DE"]


# --- the truth, and how to compare with it -----------------------------------------


def reference_frame(values: list[str | None], region: str) -> pl.DataFrame:
    distinct = sorted({value for value in values if value is not None})
    answers = [reference_parse(value, region) for value in distinct]
    return pl.DataFrame(
        {
            "raw": distinct,
            "e164": [answer[0] for answer in answers],
            "region": [answer[1] for answer in answers],
            "sms_capable": [answer[2] for answer in answers],
        },
        schema=OUTPUT_SCHEMA,
    )


def assert_matches_reference(values: list[str | None], region: str) -> pl.DataFrame:
    got = parse_phones(pl.Series(values, dtype=pl.String), region)
    want = reference_frame(values, region)
    if not got.equals(want):
        both = got.join(want, on="raw", how="full", suffix="_ref", nulls_equal=True)
        differ = both.filter(
            pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_ref")) for c in got.columns)
        )
        pytest.fail(
            f"{differ.height} values differ from phonenumbers, region {region}:\n{differ.head(25)}"
        )
    return got


# --- a deterministic corpus of what people type ------------------------------------

FINNISH_MOBILE_PREFIXES = ["40", "41", "42", "43", "44", "45", "46", "49", "50", "457", "4573"]
FINNISH_AREA_CODES = ["9", "2", "3", "5", "6", "8", "13", "14", "15", "16", "17", "18", "19"]
FOREIGN_REGIONS = ["SE", "NO", "DK", "EE", "DE", "GB", "US", "CA", "AX", "FR", "RU", "IT"]
JUNK = [
    # empty, punctuation only, words, too short
    "", " ", "+", "++", "+ ", "-", "()", "n/a", "N/A", "none", "0", "00", "000", "+0", "+00",
    "+358", "+3584", "+35840", "00358", "003584", "358", "3584", "1", "12", "123", "+1", "+123",
    # labels, RFC 3966, extensions, two numbers, letters
    "puh. 040 123 4567", "tel:+358401234567", "tel:+358-40-123-4567;phone-context=+358",
    "040 123 4567 ext. 12", "040 123 4567 x12", "040-123-4567 #12", "+358401234567;ext=12",
    "040 1234567, 050 7654321", "040 123 4567 / 050 765 4321", "040 123 4567\\x12",
    "1-800-FLOWERS", "040-CALL-NOW", "0400abc123", "+358 40 123 456 7 8", "+358-40-12-34-56-7",
    # fullwidth and Arabic-Indic digits, other spaces
    "＋３５８ ４０ １２３ ４５６７", "０４０１２３４５６７", "٠٤٠١٢٣٤٥٦٧", "+358\u00a040\u00a0123\u00a04567",
    "040\t123\t4567", "\t0401234567\n", "040 123 4567\n", "+358 40 123 4567 ", "  +358401234567",
    # plus signs, brackets and prefixes in odd places
    "++358401234567", "+-358401234567", "+(358) 40 123 4567", "(+358) 40 123 4567",
    "+358 (0) 40 123 4567", "+358 (0)40-123 4567", "0 (40) 123 4567", "(040) 123 4567",
    ".040.123.4567.", "040--123--4567", "+0401234567", "+00358401234567", "00 358 40 123 4567",
    "990358401234567", "00000", "0000000000",
    # non-geographic and unknown calling codes, leading zeros, shared calling codes
    "+800 1234 5678", "+808 1234 5678", "+882 1234 5678", "+979 123 456 789", "+999 123 4567",
    "+39 06 6988 1234", "+39 333 123 4567", "+44 7911 123456", "+44 1481 123456",
    "+44 7624 123456", "+7 701 123 4567", "+7 912 345 6789", "+1 242 359 1234",
    "+1 613 555 0123", "+1 202 555 0123", "+590 690 12 34 56", "+262 692 12 34 56",
    "+599 9 123 4567", "+47 79 12 34 56", "+61 8 9162 1234",
    # national prefixes with transform rules
    "+54 9 11 1234 5678", "+55 11 91234 5678", "+52 1 55 1234 5678", "+81 90 1234 5678",
    # longer than phonenumbers reads
    "x" * 300, "4" * 260, "+" + "3" * 255,
]


def grouped(digits: str, rng: random.Random) -> str:
    """Digits in groups of 2-4 with one separator, the way people write them."""
    separator = rng.choice([" ", " ", "-", ".", "", "  ", " - "])
    groups, rest = [], digits
    while rest:
        size = rng.randint(2, 4)
        groups.append(rest[:size])
        rest = rest[size:]
    return separator.join(groups)


def random_digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def finnish_nsn(rng: random.Random) -> str:
    if rng.random() < 0.6:
        prefix = rng.choice(FINNISH_MOBILE_PREFIXES)
        return prefix + random_digits(rng, rng.choice([7, 7, 7, 6, 8, 5, 9]) - len(prefix) + 2)
    area = rng.choice(FINNISH_AREA_CODES)
    return area + random_digits(rng, rng.choice([6, 7, 7, 5, 8, 4, 9]))


def finnish_written(nsn: str, rng: random.Random) -> str:
    body = grouped(nsn, rng)
    form = rng.randrange(12)
    if form < 4:
        text = "0" + body
    elif form < 6:
        text = "+358 " + body if rng.random() < 0.5 else "+358" + nsn
    elif form == 6:
        text = "00358 " + body
    elif form == 7:
        text = "358" + nsn if rng.random() < 0.5 else "358 " + body
    elif form == 8:
        text = rng.choice(["+358 (0) ", "+358(0)", "+358 (0)"]) + body
    elif form == 9:
        text = f"(0{nsn[:2]}) {grouped(nsn[2:], rng)}"
    elif form == 10:
        text = "0" + nsn
    else:
        text = rng.choice(["+358-", "+358.", "00 358 ", "(+358) "]) + body
    if rng.random() < 0.08:
        text = rng.choice([" ", "  ", "\t"]) + text + rng.choice(["", " ", "\n"])
    return text


def foreign_written(rng: random.Random, region: str) -> str:
    """A number near the region's example mobile or landline, in one of the ways
    phonenumbers formats it, or as E.164 without '+', or after 00, or bare."""
    kind = rng.choice([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind)
    example = example or phonenumbers.example_number(region)
    nsn = phonenumbers.national_significant_number(example)
    keep = rng.randint(1, max(1, len(nsn) - 1))
    mutated = nsn[:keep] + random_digits(rng, len(nsn) - keep + rng.choice([0, 0, 0, 0, -1, 1]))
    try:
        number = phonenumbers.parse("+" + str(example.country_code) + mutated)
    except phonenumbers.NumberParseException:
        return "+" + str(example.country_code) + mutated
    form = rng.randrange(6)
    if form < 2:
        style = [PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL][form]
        return phonenumbers.format_number(number, style)
    if form == 5:
        return grouped(phonenumbers.national_significant_number(number), rng)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return [e164, "00" + e164[1:], e164[1:]][form - 2]


def digit_noise(rng: random.Random) -> str:
    text = random_digits(rng, rng.randint(1, 20))
    return rng.choice(["", "", "+", "0", "00", "+0", "1", "358"]) + text


def generated_corpus(size: int = 50_000, seed: int = 20240601) -> list[str]:
    """Distinct strings: mostly Finnish, a fair share foreign, noise and junk."""
    rng = random.Random(seed)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    values = set(JUNK)
    for length in range(1, 21):
        for prefix in ("", "+", "00", "0"):
            for _ in range(60):
                values.add(prefix + random_digits(rng, length))
    while len(values) < size:
        draw = rng.random()
        if draw < 0.50:
            values.add(finnish_written(finnish_nsn(rng), rng))
        elif draw < 0.72:
            values.add(foreign_written(rng, rng.choice(FOREIGN_REGIONS)))
        elif draw < 0.80:
            values.add(foreign_written(rng, rng.choice(regions)))
        elif draw < 0.93:
            values.add(digit_noise(rng))
        else:
            values.add(garbled(finnish_written(finnish_nsn(rng), rng), rng))
    return sorted(values)


def garbled(text: str, rng: random.Random) -> str:
    """A number with what people add around or inside it."""
    middle = len(text) // 2
    return rng.choice(
        [
            text + rng.choice([" ext. 12", " x 5", "#", " (home)", ";", "/", "!"]),
            rng.choice(["tel ", "puh: ", "GSM ", "+", "(", "-"]) + text,
            text.replace("4", "４"),
            text[:middle] + rng.choice(["/", ",", "_", "*", "\t", "\u00a0"]) + text[middle:],
        ]
    )


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return generated_corpus()


# --- (a) equality on the generated corpus --------------------------------------------


@pytest.mark.parametrize("region", CORPUS_REGIONS)
def test_generated_corpus_matches_phonenumbers(corpus: list[str], region: str) -> None:
    assert len(corpus) >= 50_000
    assert_matches_reference(corpus, region)


def test_every_region_as_default_matches_phonenumbers() -> None:
    """Each region's own numbers, written every way, with that region as the default."""
    rng = random.Random(7)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        assert_matches_reference([foreign_written(rng, region) for _ in range(30)], region)


KNOWN_ANSWERS = [
    ("040 123 4567", "FI", ("+358401234567", "FI", True)),
    ("+358 4573 123 456", "FI", ("+3584573123456", "FI", True)),
    ("09 123 4567", "FI", ("+35891234567", "FI", False)),  # a landline
    ("+358 18 123456", "FI", ("+35818123456", "AX", False)),  # Åland shares 358
    ("018 12345", "FI", ("+3581812345", "AX", False)),
    ("+39 06 6988 1234", "FI", ("+390669881234", "VA", False)),  # Vatican shares 39
    ("n/a", "FI", (None, None, False)),
    ("070-123 45 67", "SE", ("+46701234567", "SE", True)),
    ("(202) 555-0123", "US", ("+12025550123", "US", True)),
    ("0151 12345678", "DE", ("+4915112345678", "DE", True)),
]


@pytest.mark.parametrize(("raw", "region", "answer"), KNOWN_ANSWERS)
def test_known_answers(raw: str, region: str, answer: tuple) -> None:
    assert reference_parse(raw, region) == answer
    assert parse_phones(pl.Series([raw]), region).row(0) == (raw, *answer)


# --- (b) equality on the bundled sample export ---------------------------------------


def listed(value: object) -> list:
    return value if isinstance(value, list) else []


def export_phones(path: Path) -> list[str]:
    """Every user and delivery phone string in an export; malformed parts are skipped."""
    phones: list[str] = []

    def add(contact: object) -> None:
        if isinstance(contact, dict) and isinstance(contact.get("phone"), str):
            phones.append(contact["phone"])

    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            job = json.loads(line)
            if not isinstance(job, dict):
                continue
            activities = [a for a in listed(job.get("activities")) if isinstance(a, dict)]
            subjects = [s for a in activities for s in listed(a.get("subjects"))]
            for subject in (s for s in subjects if isinstance(s, dict)):
                add(subject.get("user"))
                for delivery in listed(subject.get("deliveries")):
                    add(delivery)
    return phones


def test_sample_export_phones_match_phonenumbers() -> None:
    if not SAMPLE_EXPORT.exists():
        pytest.skip(f"{SAMPLE_EXPORT} is not there yet")
    phones = export_phones(SAMPLE_EXPORT)
    assert phones, "the sample export has no phone strings"
    assert_matches_reference(phones, "FI")


# --- (c) the fast path really decides the common shapes ------------------------------


def realistic_finnish_column(count: int = 20_000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    values = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.85:
            values.append(finnish_written(finnish_nsn(rng), rng))
        elif draw < 0.96:
            values.append(foreign_written(rng, rng.choice(FOREIGN_REGIONS)))
        else:
            values.append(rng.choice(JUNK))
    return values


def test_fast_path_decides_the_common_shapes() -> None:
    values = realistic_finnish_column()
    frame, stats = parse_phones_with_stats(pl.Series(values), "FI")
    assert stats.distinct == frame.height == len(set(values))
    assert stats.fallback_share < 0.10, f"{stats.fallback} of {stats.distinct} took the fallback"


PLAIN_SHAPES = [
    "0401234567", "040 123 4567", "+358 40 123 4567", "00358401234567", "358401234567",
    "+358 (0) 9 123 4567", "(09) 123 4567", "+46 70 123 45 67", "+1 (202) 555-0123",
    "+44 7911 123456", " 050-765 4321 ", "040.123.4567", "+358 18 12345", "+358 40 1",
    "40 123 4567",
]


@pytest.mark.parametrize("value", PLAIN_SHAPES)
def test_plain_shapes_skip_the_fallback(value: str) -> None:
    _, stats = parse_phones_with_stats(pl.Series([value]), "FI")
    assert stats.fallback == 0


@pytest.mark.parametrize(
    ("value", "region"),
    [("070-123 45 67", "SE"), ("(202) 555-0123", "US"), ("07911 123456", "GB"),
     ("030 1234567", "DE"), ("+358 40 123 4567", "DE"), ("00358 40 123 4567", "SE")],
)
def test_plain_shapes_skip_the_fallback_in_other_regions(value: str, region: str) -> None:
    _, stats = parse_phones_with_stats(pl.Series([value]), region)
    assert stats.fallback == 0


UNUSUAL_SHAPES = [
    "040 123 4567 ext. 12", "０４０１２３４５６７", "tel:+358401234567", "n/a", "+800 1234 5678",
    "+999 123 4567", "040\t123\t4567", "12",
]


@pytest.mark.parametrize("value", UNUSUAL_SHAPES)
def test_unusual_shapes_take_the_fallback(value: str) -> None:
    _, stats = parse_phones_with_stats(pl.Series([value]), "FI")
    assert stats.fallback == 1


# --- (d) the frame's contract --------------------------------------------------------


def test_nulls_dropped_and_duplicates_collapsed() -> None:
    frame = parse_phones(pl.Series(["040 123 4567", None, "040 123 4567", "n/a", None, "n/a"]))
    assert frame["raw"].to_list() == ["040 123 4567", "n/a"]


def test_columns_dtypes_and_order() -> None:
    values = ["b", "+358401234567", "a", "0401234567", "Ä", "Z", " 040", "é", "040 123 4567"]
    frame = parse_phones(pl.Series(values))
    assert frame.schema == OUTPUT_SCHEMA
    assert frame["raw"].to_list() == sorted(values)  # by code point
    assert frame["sms_capable"].null_count() == 0


@pytest.mark.parametrize(
    "series",
    [pl.Series([], dtype=pl.String), pl.Series([None, None], dtype=pl.String), pl.Series([None])],
)
def test_empty_input(series: pl.Series) -> None:
    frame, stats = parse_phones_with_stats(series)
    assert frame.height == 0
    assert frame.schema == OUTPUT_SCHEMA
    assert (stats.distinct, stats.fallback) == (0, 0)


def test_region_is_case_insensitive() -> None:
    assert check_region("fi") == "FI"
    numbers = pl.Series(["0401234567", "070-123 45 67"])
    assert parse_phones(numbers, "se").equals(parse_phones(numbers, "SE"))


@pytest.mark.parametrize("bad", ["XX", "ZZ", "001", "", "FIN"])
def test_unknown_region_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown phone region"):
        check_region(bad)
    with pytest.raises(ValueError, match="unknown phone region"):
        parse_phones(pl.Series(["0401234567"]), bad)
