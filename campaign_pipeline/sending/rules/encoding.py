"""SMS encoding and segment counts (sending.md, "Dry run and forecast").

GSM-7 when every character is in GSM 03.38's basic table (3GPP TS 23.038,
6.2.1) or its extension table (6.2.1.1, two septets each: the escape and the
character); UCS-2 otherwise, counted in UTF-16 code units. One segment holds
160 septets / 70 units; a longer message is sent in parts of at most 153
septets / 67 units (the rest of each part is the concatenation header), and a
phone never splits an extension pair or a surrogate pair across parts, so a
part that would end in the middle of one ends one unit earlier.

Choices where the contract is silent: 0x09 is the capital `Ç` as in TS
23.038 (a lowercase `ç` forces UCS-2, as it does at the providers); an empty
body (or a null) counts as one GSM-7 segment, since an SMS is at least one
part.

`encoding_of` and `segments` are the per-message reference; `measure` does
the same for a whole audience with polars expressions and only walks, in
Python, the bodies whose count a straddling pair could change: those with
two-unit characters whose length falls in the last k-1 units before k parts.
"""

import re

import polars as pl

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"  # 0x00-0x1A; 0x1B is the escape, not a character
    "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[]~|€"

GSM7, UCS2 = "gsm7", "ucs2"
MAX_BODY_CHARACTERS = 1600  # sending step 6: a longer rendered body is skipped (`too_long`)
_SINGLE = {GSM7: 160, UCS2: 70}
_PART = {GSM7: 153, UCS2: 67}

_BASIC, _EXTENSION = frozenset(GSM_BASIC), frozenset(GSM_EXTENSION)


def _class(chars: str, negate: bool = False) -> str:
    # \x{...} escapes every character, so the class reads the same to Rust's regex (polars) and Python's re.
    body = "".join(f"\\x{{{ord(c):04X}}}" for c in sorted(chars))
    return f"[{'^' if negate else ''}{body}]"


_NOT_GSM = _class(GSM_BASIC + GSM_EXTENSION, negate=True)
_WIDE = {GSM7: _class(GSM_EXTENSION), UCS2: "[\\x{10000}-\\x{10FFFF}]"}
_WIDE_RE = {GSM7: re.compile(f"[{re.escape(GSM_EXTENSION)}]"), UCS2: re.compile("[\U00010000-\U0010FFFF]")}


def encoding_of(text: str) -> str:
    """'gsm7' when GSM 03.38 (basic plus extension table) can hold the text, else 'ucs2'."""
    return GSM7 if all(char in _BASIC or char in _EXTENSION for char in text) else UCS2


def too_long(text: str) -> bool:
    """Over 1,600 characters (code points, whatever the encoding)."""
    return len(text) > MAX_BODY_CHARACTERS


def segments(text: str) -> int:
    """How many SMS parts the text is sent as: the reference, one character at a time."""
    encoding = encoding_of(text)
    if encoding == GSM7:
        sizes = [2 if char in _EXTENSION else 1 for char in text]
    else:
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    if sum(sizes) <= _SINGLE[encoding]:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > _PART[encoding]:
            count, used = count + 1, 0
        used += size
    return count


def _parts_of_long(text: str, encoding: str) -> int:
    """`segments` of a text over one segment, from where its two-unit characters start."""
    wide = set()
    for k, match in enumerate(_WIDE_RE[encoding].finditer(text)):
        wide.add(match.start() + k)  # every earlier two-unit character shifts this one by one unit
    total, part = len(text) + len(wide), _PART[encoding]
    count, start = 1, 0
    while total - start > part:
        end = start + part
        start = end - 1 if end - 1 in wide else end  # a pair starting on the part's last unit moves on
        count += 1
    return count


def measure(bodies: pl.Series) -> pl.DataFrame:
    """Per body: `encoding` ('gsm7'|'ucs2'), `segments`, `ucs2_characters` (the distinct
    characters that forced UCS-2, in order of appearance; empty for GSM-7) and `too_long`.
    A null body is empty."""
    text = pl.col("body").fill_null("")
    encoding = pl.when(text.str.contains(_NOT_GSM)).then(pl.lit(UCS2)).otherwise(pl.lit(GSM7))
    frame = pl.DataFrame({"body": bodies.cast(pl.String)}).with_columns(encoding=encoding).with_columns(
        wide=pl.when(pl.col("encoding") == GSM7).then(text.str.count_matches(_WIDE[GSM7]))
        .otherwise(text.str.count_matches(_WIDE[UCS2])).cast(pl.Int64),
    ).with_columns(units=text.str.len_chars().cast(pl.Int64) + pl.col("wide"))
    single = pl.when(pl.col("encoding") == GSM7).then(_SINGLE[GSM7]).otherwise(_SINGLE[UCS2])
    part = pl.when(pl.col("encoding") == GSM7).then(_PART[GSM7]).otherwise(_PART[UCS2])
    # k = ceil(units / part) parts are needed; with no two-unit character they suffice. With some,
    # greedy parts hold at least part - 1 units each, so k still suffice unless the body ends in the
    # last k - 1 units before part * k: only those few are walked.
    parts = (pl.col("units") + part - 1) // part
    frame = frame.with_columns(
        segments=pl.when(pl.col("units") <= single).then(1)
        .when((pl.col("wide") == 0) | (pl.col("units") <= part * parts - (parts - 1))).then(parts)
        .otherwise(None).cast(pl.Int64),
        ucs2_characters=pl.when(pl.col("encoding") == UCS2)
        .then(text.str.extract_all(_NOT_GSM).list.unique(maintain_order=True))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    frame = _count_straddling(frame)
    return frame.select("encoding", "segments", "ucs2_characters",
                        too_long=text.str.len_chars() > MAX_BODY_CHARACTERS)


def _count_straddling(frame: pl.DataFrame) -> pl.DataFrame:
    # Long bodies with two-unit characters just under a multiple of the part size: whether a
    # pair straddles a part boundary decides, so walk each distinct one.
    long = frame.with_row_index("row").filter(pl.col("segments").is_null())
    if long.height == 0:
        return frame
    distinct = long.select("body", "encoding").unique()
    counted = distinct.with_columns(found=pl.Series(
        [_parts_of_long(body, encoding) for body, encoding in distinct.iter_rows()], dtype=pl.Int64))
    found = long.join(counted, on=["body", "encoding"], how="left")
    return frame.with_columns(segments=frame["segments"].scatter(found["row"], found["found"]))


def ucs2_character_counts(measured: pl.DataFrame) -> dict[str, int]:
    """The forecast's `ucs2_characters`: character -> number of messages it appears in,
    most messages first, then by code point."""
    counts = (measured.select(pl.col("ucs2_characters").explode().alias("char")).drop_nulls()
              .group_by("char").len().sort(["len", "char"], descending=[True, False]))
    return dict(counts.iter_rows())
