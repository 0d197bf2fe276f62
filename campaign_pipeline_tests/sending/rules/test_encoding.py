import random

import polars as pl
import pytest

from campaign_pipeline.sending.rules.encoding import (
    GSM_BASIC, GSM_EXTENSION, MAX_BODY_CHARACTERS, encoding_of, measure, segments, too_long, ucs2_character_counts,
)

EURO = "€"      # an extension character: two septets
EMOJI = "😀"    # outside the BMP: a surrogate pair, two UTF-16 units
CYR = "ж"       # one UTF-16 unit, not GSM


def test_the_tables_are_gsm_03_38():
    assert len(GSM_BASIC) == 127  # 128 code points less the escape to the extension table
    assert "\x1b" not in GSM_BASIC
    assert set(GSM_EXTENSION) == set("\f^{}\\[~]|€")
    assert "$" in GSM_BASIC and "¤" in GSM_BASIC and "¡" in GSM_BASIC and "¿" in GSM_BASIC


@pytest.mark.parametrize(("char", "encoding"), [
    ("é", "gsm7"), ("É", "gsm7"), ("Ç", "gsm7"), ("ç", "ucs2"), ("è", "gsm7"), ("à", "gsm7"),
    ("á", "ucs2"), ("ê", "ucs2"), ("õ", "ucs2"), ("Ä", "gsm7"), ("ö", "gsm7"), ("Å", "gsm7"), ("ß", "gsm7"),
    ("Δ", "gsm7"), ("δ", "ucs2"), ("€", "gsm7"), ("\n", "gsm7"), ("\r", "gsm7"), ("\t", "ucs2"),
    ("\u00a0", "ucs2"), ("’", "ucs2"), ("`", "ucs2"), ("\x1b", "ucs2"), (EMOJI, "ucs2"),
])
def test_one_character_decides_the_encoding(char, encoding):
    assert encoding_of(f"Hello {char}") == encoding


@pytest.mark.parametrize(("text", "encoding", "count"), [
    ("", "gsm7", 1),
    ("a" * 160, "gsm7", 1), ("a" * 161, "gsm7", 2),
    ("a" * 306, "gsm7", 2), ("a" * 307, "gsm7", 3),
    ("a" * 459, "gsm7", 3), ("a" * 460, "gsm7", 4),
    ("a" * 158 + EURO, "gsm7", 1), ("a" * 159 + EURO, "gsm7", 2),
    ("[" * 80, "gsm7", 1), ("[" * 81, "gsm7", 2),
    # an extension pair is never split: with the euro on septets 153-154 the first part holds 152
    ("a" * 151 + EURO + "a" * 153, "gsm7", 2),
    ("a" * 152 + EURO + "a" * 152, "gsm7", 3),
    ("a" * 152 + EURO + "a" * 151, "gsm7", 2),
    ("a" * 305 + EURO, "gsm7", 3),
    ("a" * 304 + EURO, "gsm7", 2),
    (CYR * 70, "ucs2", 1), (CYR * 71, "ucs2", 2),
    (CYR * 134, "ucs2", 2), (CYR * 135, "ucs2", 3), (CYR * 201, "ucs2", 3), (CYR * 202, "ucs2", 4),
    (EMOJI * 35, "ucs2", 1), (EMOJI * 35 + "a", "ucs2", 2),
    # a surrogate pair is never split: with the emoji on units 67-68 the first part holds 66
    (CYR * 65 + EMOJI + CYR * 67, "ucs2", 2),
    (CYR * 66 + EMOJI + CYR * 66, "ucs2", 3),
    (CYR * 66 + EMOJI + CYR * 65, "ucs2", 2),
    ("a" * 200 + "ç", "ucs2", 3),
])
def test_segments_at_every_boundary(text, encoding, count):
    assert (encoding_of(text), segments(text)) == (encoding, count)
    measured = measure(pl.Series([text]))
    assert measured.row(0, named=True)["encoding"] == encoding
    assert measured.row(0, named=True)["segments"] == count


def test_measure_names_the_characters_that_forced_ucs2():
    measured = measure(pl.Series(["Hei Äiti", "Moi ç ç", "Olá ç", "😀 x", None, "ж ok €"]))
    assert measured.columns == ["encoding", "segments", "ucs2_characters", "too_long"]
    assert measured["encoding"].to_list() == ["gsm7", "ucs2", "ucs2", "ucs2", "gsm7", "ucs2"]
    assert measured["ucs2_characters"].to_list()[0] == []
    assert measured["ucs2_characters"].to_list()[1] == ["ç"]  # once per message
    assert sorted(measured["ucs2_characters"].to_list()[2]) == sorted(["á", "ç"])
    assert ucs2_character_counts(measured) == {"ç": 2, "á": 1, "😀": 1, "ж": 1}
    assert list(ucs2_character_counts(measured)) == ["ç", "á", "ж", "😀"]  # most messages first, then by code point


def test_measure_of_no_bodies():
    measured = measure(pl.Series([], dtype=pl.String))
    assert measured.height == 0 and ucs2_character_counts(measured) == {}


NEAR_PART_ENDS = [159, 160, 161, 304, 305, 306, 307, 457, 458, 459, 460, 69, 70, 71, 132, 133, 134, 135, 199, 200, 201]


def _random_body(rng: random.Random) -> str:
    pool = rng.choice([
        ["a", "a", "a", " ", EURO, "[", "é", "ç", CYR, EMOJI, "\n"],
        ["a", "b", " ", EURO, "^", "\f"],
        ["a", CYR, EMOJI],
        [CYR, EMOJI, EMOJI],
    ])
    # lengths near where parts end, where a straddling pair changes the count, and anywhere
    target = rng.choice(NEAR_PART_ENDS) if rng.random() < 0.6 else rng.randint(0, 400)
    chars, units = [], 0
    while units < target:
        chars.append(rng.choice(pool))
        units += 2 if chars[-1] in (EURO, "[", "^", "\f", EMOJI) else 1
    return "".join(chars)


def test_measure_agrees_with_the_scalar_reference():
    rng = random.Random(20261202)
    bodies = [_random_body(rng) for _ in range(2500)]
    measured = measure(pl.Series(bodies))
    assert measured["encoding"].to_list() == [encoding_of(body) for body in bodies]
    assert measured["segments"].to_list() == [segments(body) for body in bodies]


def test_a_body_over_1600_code_points_is_too_long():
    assert MAX_BODY_CHARACTERS == 1600
    bodies = ["a" * 1600, "a" * 1601, EMOJI * 1600, EMOJI * 1601, EURO * 1600]
    assert [too_long(body) for body in bodies] == [False, True, False, True, False]
    assert measure(pl.Series(bodies))["too_long"].to_list() == [False, True, False, True, False]
