"""The postcode value type: what parses, to what, and what does not, with the reason."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carestory.lib.postcodes import (
    ALL_KINDS,
    MAX_TEXT,
    PARSERS,
    UK_AREAS,
    AustralianPostcode,
    CanadianPostalCode,
    Eircode,
    Kind,
    Problem,
    UKPostcode,
    au_parse,
    ca_parse,
    compact,
    eircode_parse,
    parse,
    uk_parse,
    uk_postcode,
    uk_postcodes_in,
    uk_tidy,
)

# --- UK: what parses ----------------------------------------------------------------------

VALID = [
    # text, display, key, kind, keys to look it up by
    ("TS18 1HU", "TS18 1HU", "TS181HU", Kind.FULL, ("TS181HU", "TS18 1", "TS18")),
    ("ts18 1hu", "TS18 1HU", "TS181HU", Kind.FULL, ("TS181HU", "TS18 1", "TS18")),
    ("TS181HU", "TS18 1HU", "TS181HU", Kind.FULL, ("TS181HU", "TS18 1", "TS18")),
    ("  SE1   7EH ", "SE1 7EH", "SE17EH", Kind.FULL, ("SE17EH", "SE1 7", "SE1")),
    ("EC1A1BB", "EC1A 1BB", "EC1A1BB", Kind.FULL, ("EC1A1BB", "EC1A 1", "EC1A")),
    ("w1a 0ax", "W1A 0AX", "W1A0AX", Kind.FULL, ("W1A0AX", "W1A 0", "W1A")),
    ("M1 1AE", "M1 1AE", "M11AE", Kind.FULL, ("M11AE", "M1 1", "M1")),
    ("B33 8TH", "B33 8TH", "B338TH", Kind.FULL, ("B338TH", "B33 8", "B33")),
    ("DN55 1PT", "DN55 1PT", "DN551PT", Kind.FULL, ("DN551PT", "DN55 1", "DN55")),
    ("\tTS18\n1HU\r\n", "TS18 1HU", "TS181HU", Kind.FULL, ("TS181HU", "TS18 1", "TS18")),
    ("GIR 0AA", "GIR 0AA", "GIR0AA", Kind.FULL, ("GIR0AA", "GIR 0", "GIR")),
    ("JE2 3QS", "JE2 3QS", "JE23QS", Kind.FULL, ("JE23QS", "JE2 3", "JE2")),  # Jersey
    ("BF1 3AA", "BF1 3AA", "BF13AA", Kind.FULL, ("BF13AA", "BF1 3", "BF1")),  # BFPO
    ("TS18 1", "TS18 1", "TS18 1", Kind.SECTOR, ("TS18 1", "TS18")),
    ("ts1 8", "TS1 8", "TS1 8", Kind.SECTOR, ("TS1 8", "TS1")),
    ("NPT 0", "NPT 0", "NPT 0", Kind.SECTOR, ("NPT 0", "NPT")),  # in the ONS files
    ("TS18", "TS18", "TS18", Kind.DISTRICT, ("TS18",)),
    ("ls1", "LS1", "LS1", Kind.DISTRICT, ("LS1",)),
    ("NPT", "NPT", "NPT", Kind.DISTRICT, ("NPT",)),
    # Unicode: full-width forms, the ideographic and no-break spaces, digits of other scripts.
    (
        "\uff34\uff33\uff11\uff18\u3000\uff11\uff28\uff35",
        "TS18 1HU",
        "TS181HU",
        Kind.FULL,
        ("TS181HU", "TS18 1", "TS18"),
    ),
    ("TS18\u00a01HU", "TS18 1HU", "TS181HU", Kind.FULL, ("TS181HU", "TS18 1", "TS18")),
    ("TS\u0661\u0668 \u0661HU", "TS18 1HU", "TS181HU", Kind.FULL, ("TS181HU", "TS18 1", "TS18")),
]


@pytest.mark.parametrize(("text", "display", "key", "kind", "keys"), VALID)
def test_valid(text: str, display: str, key: str, kind: Kind, keys: tuple[str, ...]) -> None:
    parsed = uk_parse(text)
    assert parsed.problem is None
    postcode = parsed.value
    assert postcode is not None
    assert (postcode.display, postcode.key, postcode.kind) == (display, key, kind)
    assert str(postcode) == display
    assert postcode.compact == display.replace(" ", "")
    assert tuple(p.key for p in postcode.lookups()) == keys
    assert [p.kind for p in postcode.lookups()] == [Kind.FULL, Kind.SECTOR, Kind.DISTRICT][
        3 - len(keys) :
    ]
    assert uk_postcode(text) == postcode
    assert uk_parse(display).value == postcode  # the display form parses back to the same value


def test_parts() -> None:
    postcode = UKPostcode("TS18", "1HU")
    assert postcode == uk_postcode("ts181hu")
    assert (postcode.outward, postcode.inward) == ("TS18", "1HU")
    assert postcode.sector == UKPostcode("TS18", "1")
    assert postcode.district == UKPostcode("TS18")
    assert UKPostcode("TS18", "1").sector == UKPostcode("TS18", "1")
    assert UKPostcode("TS18").sector is None
    assert postcode.region == "uk"


def test_sector_and_district_keys_never_collide() -> None:
    # Compact, sector "TS1 8" would be district "TS18": sectors keep their space.
    sector, district = uk_postcode("TS1 8"), uk_postcode("TS18")
    assert sector is not None and district is not None
    assert (sector.key, district.key) == ("TS1 8", "TS18")


def test_a_value_is_frozen_and_always_valid() -> None:
    postcode = UKPostcode("TS18", "1HU")
    with pytest.raises(dataclasses.FrozenInstanceError):
        postcode.outward = "XX1"  # type: ignore[misc]
    for outward, inward in [("ZZ9", "9ZZ"), ("ts18", "1hu"), ("TS18", "1CI"), ("TS18", "12")]:
        with pytest.raises(ValueError, match="not a UK postcode"):
            UKPostcode(outward, inward)


# --- UK: what does not parse, and why -------------------------------------------------------

INVALID = [
    ("", Problem.EMPTY),
    ("   \n\t ", Problem.EMPTY),
    ("<script>", Problem.CHARACTERS),
    ("TS18-1HU", Problem.CHARACTERS),
    ("TS18.1HU", Problem.CHARACTERS),
    ("TS18\u200b1HU", Problem.CHARACTERS),  # a zero-width space is not whitespace
    ("ßT1 1AA", Problem.CHARACTERS),  # upper-cased it would be two letters: not taken
    ("\u0130S1 1AA", Problem.CHARACTERS),  # dotted capital I
    ("TS18 1H\u00da", Problem.CHARACTERS),  # an accented letter
    ("T" * (MAX_TEXT + 1), Problem.TOO_LONG),
    ("TS18 1HU" * 1000, Problem.TOO_LONG),
    ("Leeds", Problem.SHAPE),
    ("TS18 1HU 1HU", Problem.SHAPE),
    ("T S18 1HU", Problem.SHAPE),
    ("TS 181HU", Problem.SHAPE),
    ("TS181", Problem.SHAPE),  # a sector needs its space
    ("TS18 1H", Problem.SHAPE),
    ("TS18 12", Problem.SHAPE),
    ("TS18 1CI", Problem.SHAPE),  # C, I, K, M, O, V are never in the inward code
    ("TS18 1HV", Problem.SHAPE),
    ("123 4AB", Problem.SHAPE),
    ("ABC1 1AA", Problem.SHAPE),
    ("A1B2 1AA", Problem.SHAPE),
    ("1", Problem.SHAPE),
    ("ZZ9 9ZZ", Problem.AREA),  # the usual invented postcode: no area ZZ
    ("Q1", Problem.AREA),
    ("XX1 1AA", Problem.AREA),
]


@pytest.mark.parametrize(("text", "problem"), INVALID)
def test_invalid(text: str, problem: Problem) -> None:
    parsed = uk_parse(text)
    assert parsed.value is None
    assert parsed.problem == problem
    assert uk_postcode(text) is None


@pytest.mark.parametrize(
    ("text", "kinds", "kind"),
    [
        ("TS18 1HU", {Kind.FULL}, Kind.FULL),
        ("TS18 1", {Kind.SECTOR}, Kind.SECTOR),
        ("TS18", {Kind.FULL, Kind.DISTRICT}, Kind.DISTRICT),
        ("TS18 1", {Kind.FULL}, None),
        ("TS18", {Kind.FULL, Kind.SECTOR}, None),
        ("TS18 1HU", {Kind.DISTRICT}, None),
    ],
)
def test_kinds_asked_for(text: str, kinds: set[Kind], kind: Kind | None) -> None:
    parsed = uk_parse(text, kinds=kinds)
    if kind is None:
        assert (parsed.value, parsed.problem) == (None, Problem.KIND)
    else:
        assert parsed.value is not None and parsed.value.kind == kind


def test_the_areas() -> None:
    assert len(UK_AREAS) == 126
    assert {"TS", "LS", "M", "EC", "GY", "JE", "IM", "BF", "BX", "ZE"} <= UK_AREAS
    assert not {"ZZ", "Q", "XX", "NPT"} & UK_AREAS


@given(st.text(max_size=60))
def test_any_text_parses_or_says_why(text: str) -> None:
    parsed = uk_parse(text)
    assert (parsed.value is None) != (parsed.problem is None)
    if parsed.value is not None:
        assert uk_parse(parsed.value.display).value == parsed.value
        assert parsed.value.display.isascii() and parsed.value.display.isupper()


@given(
    st.sampled_from(sorted(UK_AREAS)),
    st.integers(0, 99),
    st.sampled_from(["", "A", "B", "W"]),
    st.integers(0, 9),
    st.text("ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2),
)
def test_every_area_and_shape_round_trips(
    area: str, number: int, letter: str, sector: int, unit: str
) -> None:
    outward = f"{area}{number}{letter}"
    if letter and number >= 10:  # the shapes: A9, A99, AA9, AA99, A9A, AA9A
        return
    postcode = uk_postcode(f"{outward.lower()}  {sector}{unit.lower()}")
    assert postcode is not None
    assert postcode.display == f"{outward} {sector}{unit}"
    assert uk_postcode(postcode.compact) == postcode
    assert [p.key for p in postcode.lookups()] == [
        f"{outward}{sector}{unit}",
        f"{outward} {sector}",
        outward,
    ]


# --- UK: in free text, tidying, compact ----------------------------------------------------


def test_postcodes_in_text() -> None:
    text = "Send it to SW1A 1AA or m14 6hr, then TS18\n1HU. Not ZZ9 9ZZ, A-TS18 1HU or TS18 1CI."
    found = [(text[start:end], p.display) for start, end, p in uk_postcodes_in(text)]
    assert found == [("SW1A 1AA", "SW1A 1AA"), ("m14 6hr", "M14 6HR"), ("TS18\n1HU", "TS18 1HU")]
    assert list(uk_postcodes_in("TS18 1HU" * 3)) == []  # one long word
    assert list(uk_postcodes_in("")) == []


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("ts181hu", "TS18 1HU"),
        ("  TS18   1HU ", "TS18 1HU"),
        ("TS18", "TS18"),  # not a full postcode: kept, tidied
        ("gy1  1aa", "GY1 1AA"),
        ("zz99zz", "ZZ99ZZ"),
        ("BFPO 123", "BFPO 123"),
        ("", ""),
    ],
)
def test_uk_tidy(text: str, stored: str) -> None:
    assert uk_tidy(text) == stored


def test_compact() -> None:
    assert compact(" ts18 1hu ") == "TS181HU"
    assert compact("D08 NHY1") == "D08NHY1"
    assert compact("2000") == "2000"


# --- Ireland, and the registry ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "display", "kind", "keys"),
    [
        ("D02 X285", "D02 X285", Kind.FULL, ("D02X285", "D02")),
        ("d02x285", "D02 X285", Kind.FULL, ("D02X285", "D02")),
        ("D08 NHY1", "D08 NHY1", Kind.FULL, ("D08NHY1", "D08")),
        ("A65 F4E2", "A65 F4E2", Kind.FULL, ("A65F4E2", "A65")),
        ("D6W 1234", "D6W 1234", Kind.FULL, ("D6W1234", "D6W")),
        ("n91", "N91", Kind.DISTRICT, ("N91",)),
    ],
)
def test_eircode_valid(text: str, display: str, kind: Kind, keys: tuple[str, ...]) -> None:
    eircode = eircode_parse(text).value
    assert eircode is not None
    assert (eircode.display, eircode.kind, eircode.region) == (display, kind, "ie")
    assert tuple(p.key for p in eircode.lookups()) == keys
    assert parse(text, region="ie").value == eircode


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", Problem.EMPTY),
        ("B02 X285", Problem.SHAPE),  # B starts no routing key
        ("D02 X28", Problem.SHAPE),
        ("D02 B285", Problem.SHAPE),
        ("TS18 1HU", Problem.SHAPE),
        ("D02-X285", Problem.CHARACTERS),
    ],
)
def test_eircode_invalid(text: str, problem: Problem) -> None:
    assert eircode_parse(text).problem == problem


def test_an_eircode_value_is_always_valid() -> None:
    assert Eircode("D02", "X285").display == "D02 X285"
    with pytest.raises(ValueError, match="not an Eircode"):
        Eircode("B02")
    with pytest.raises(ValueError, match="not an Eircode"):
        Eircode("D02", "x285")


def test_the_registry() -> None:
    assert set(PARSERS) == {"uk", "ie", "ca", "au"}
    assert parse("ts18 1hu").value == UKPostcode("TS18", "1HU")  # the UK by default
    assert parse("D02 X285", region="uk").problem == Problem.SHAPE
    assert parse("N91", region="uk").value == UKPostcode("N91")  # both grammars: see the notes
    assert parse("N91", region="ie", kinds={Kind.FULL}).problem == Problem.KIND
    assert {Kind.FULL, Kind.SECTOR, Kind.DISTRICT} == ALL_KINDS
    with pytest.raises(LookupError, match="'nz'"):
        parse("6011", region="nz")


@pytest.mark.parametrize(
    ("text", "display", "kind", "keys"),
    [
        ("K1A 0B1", "K1A 0B1", Kind.FULL, ("K1A0B1", "K1A")),
        (" k1a0b1 ", "K1A 0B1", Kind.FULL, ("K1A0B1", "K1A")),
        ("\uff4d\uff15\uff56\u3000\uff13\uff4c\uff19", "M5V 3L9", Kind.FULL, ("M5V3L9", "M5V")),
        ("H2X", "H2X", Kind.DISTRICT, ("H2X",)),
    ],
)
def test_canadian_valid(text: str, display: str, kind: Kind, keys: tuple[str, ...]) -> None:
    code = parse(text, region="ca").value
    assert isinstance(code, CanadianPostalCode)
    assert (code.display, code.kind, tuple(p.key for p in code.lookups())) == (display, kind, keys)
    assert code.region == "ca" and code.compact == display.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", Problem.EMPTY),
        ("D1A 0B1", Problem.SHAPE),  # D never starts a forward sortation area
        ("K1A 0O1", Problem.SHAPE),  # O is never used
        ("K1A0B", Problem.SHAPE),
        ("K1A 0B1 X", Problem.SHAPE),
        ("K1A-0B1", Problem.CHARACTERS),
        ("K" * 40, Problem.TOO_LONG),
    ],
)
def test_canadian_invalid(text: str, problem: Problem) -> None:
    assert ca_parse(text).problem == problem


def test_canadian_kinds_and_values() -> None:
    assert ca_parse("K1A", kinds={Kind.FULL}).problem == Problem.KIND
    with pytest.raises(ValueError, match="not a Canadian postal code"):
        CanadianPostalCode("Z1A")


@pytest.mark.parametrize(
    ("text", "display"),
    [("2000", "2000"), (" 0800 ", "0800"), ("\uff13\uff10\uff10\uff10", "3000")],
)
def test_australian_valid(text: str, display: str) -> None:
    code = parse(text, region="au").value
    assert isinstance(code, AustralianPostcode)
    assert (code.display, code.key, code.kind, code.lookups()) == (
        display,
        display,
        Kind.FULL,
        (code,),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("200", Problem.SHAPE),
        ("20000", Problem.SHAPE),
        ("NSW 2000", Problem.SHAPE),
        ("2000!", Problem.CHARACTERS),
        ("", Problem.EMPTY),
    ],
)
def test_australian_invalid(text: str, problem: Problem) -> None:
    assert au_parse(text).problem == problem
    assert au_parse("2000", kinds={Kind.DISTRICT}).problem == Problem.KIND
    with pytest.raises(ValueError, match="not an Australian postcode"):
        AustralianPostcode("200A")
