"""Postcodes: what one is, how it is written and how it is stored. The one home of the grammar.

    >>> p = uk_postcode("ts18 1hu")
    >>> p.display, p.key, p.kind
    ('TS18 1HU', 'TS181HU', <Kind.FULL: 'full'>)
    >>> [q.key for q in p.lookups()]
    ['TS181HU', 'TS18 1', 'TS18']
    >>> uk_parse("TS18 1CI").problem
    <Problem.SHAPE: 'shape'>

A UK postcode is an outward code, the *district* (``TS18``: an area of one or two letters, a
digit, perhaps one more letter or digit), then an inward code (``1HU``: the *sector* digit and
two letters). A ``UKPostcode`` is a full postcode or one of the two partial forms that people
and the ONS files use: a sector (``TS18 1``) or a district (``TS18``).

``uk_parse`` is the only place that decides what is a UK postcode. It takes any case, any
whitespace around and between the two parts (or none between them: ``TS181HU``; a sector needs
its space), full-width characters and decimal digits of any script; it gives a frozen
``UKPostcode``, or ``None`` with a ``Problem`` that says why (a form turns it into a message, the
importer into a row error). Its time is linear in the input: the regular expressions only ever
see a few characters.

The grammar: the outward code has one of the shapes A9, A99, AA9, AA99, A9A, AA9A, or is GIR
(``GIR 0AA``) or NPT (a Newport district the ONS files still hold); its letters must begin with
one of the 126 postcode areas (``UK_AREAS``); the inward code never uses C, I, K, M, O or V.
Not checked: that the postcode exists (only the ``Postcode`` table knows that).

The forms of a value:

    display  TS18 1HU / TS18 1 / TS18  how people write it; what Service.postcode and
                                       Story.postcode hold
    compact  TS181HU                   display without its space; what search also matches
    key      TS181HU / TS18 1 / TS18   services.Postcode.code: full postcodes and districts
                                       compact, sectors with their space (compact, sector
                                       "TS1 8" would be district "TS18")

Other countries fit beside it. A country has a frozen value type with the members of the
``PostalCode`` protocol (``region``, ``kind``, ``display``, ``compact``, ``key``, ``lookups()``)
and a parse function ``(text, *, kinds) -> Parsed``, registered in ``PARSERS`` under the region
code that ``Service.region`` uses; ``parse(text, region=...)`` dispatches. Ireland's Eircodes are
here (``D02 X285`` full, the routing key ``D02`` as the district), Canada's postal codes
(``K1A 0B1`` full, the forward sortation area ``K1A`` as the district) and Australia's
four-digit postcodes (full, nothing coarser). The story form checks an author's postcode with
the grammar of the region of the service the story is about. Only UK keys are stored in
``services.Postcode`` today, and its codes carry no region: before storing another country's
keys it needs a region column (``N91`` is an Eircode routing key, Mullingar, and also a UK
district's shape).

Standard library only: the demo-slice builder, a plain script, uses it too.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar


class Kind(enum.StrEnum):
    """How precise a postcode is. The values are those of ``services.Postcode.Kind``."""

    FULL = "full"
    SECTOR = "sector"
    DISTRICT = "district"


ALL_KINDS: frozenset[Kind] = frozenset(Kind)


class Problem(enum.StrEnum):
    """Why a text is not a postcode (of the kinds asked for)."""

    EMPTY = "empty"  # nothing but whitespace
    TOO_LONG = "too_long"  # longer than any way of writing one
    CHARACTERS = "characters"  # something other than letters, digits and whitespace
    SHAPE = "shape"  # letters and digits, not in the order a postcode has them
    AREA = "area"  # shaped like a UK postcode, but no UK postcode area begins so
    KIND = "kind"  # a postcode, not of a kind asked for (a district where a full one is needed)


class PostalCode(Protocol):
    """What every country's value offers; the UK's is ``UKPostcode``."""

    @property
    def region(self) -> str:
        """The region code of ``Service.region``: uk, ie, ..."""

    @property
    def kind(self) -> Kind: ...

    @property
    def display(self) -> str: ...

    @property
    def compact(self) -> str: ...

    @property
    def key(self) -> str:
        """The stored form (``services.Postcode.code``)."""

    def lookups(self) -> tuple[PostalCode, ...]:
        """This postcode, then each coarser one that contains it: where to look it up,
        most precise first."""


P = TypeVar("P", covariant=True)


@dataclass(frozen=True, slots=True)
class Parsed(Generic[P]):
    """What parsing found: a value, or None and the problem."""

    value: P | None
    problem: Problem | None = None


# Longest text (whitespace around it removed) worth looking at: any way of writing a postcode
# is shorter, and longer text is refused before anything else is done with it.
MAX_TEXT = 32
# Longest postcode kept (Service.postcode, Story.postcode; a story's form and the importers
# refuse longer ones).
MAX_STORED = 10

# --- United Kingdom -----------------------------------------------------------------------

# The outward code as a regular expression, upper case (scanners of free text build on it).
UK_OUTWARD_PATTERN = r"[A-Z]{1,2}\d[A-Z\d]?"
# Outward codes of another shape: Girobank's GIR 0AA, and NPT, a Newport district retired in
# the 1980s that the ONS postcode files still hold (ten sectors).
UK_SPECIAL_OUTWARD = frozenset({"GIR", "NPT"})
# Letters the inward code may use: Royal Mail never uses C, I, K, M, O, V there.
_UK_INWARD_LETTERS = "ABD-HJLNP-UW-Z"
# The postcode areas: 121 in Great Britain and Northern Ireland, the Crown dependencies (GY,
# JE, IM), British Forces (BF) and non-geographic (BX).
_UK_AREA_LIST = """
    AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN
    DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA
    LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG
    SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
"""
UK_AREAS = frozenset(_UK_AREA_LIST.split())

_UK_OUTWARD = re.compile(UK_OUTWARD_PATTERN)
_UK_INWARD = re.compile(rf"\d[{_UK_INWARD_LETTERS}]{{2}}")
_UK_AREA = re.compile(r"[A-Z]+")
_SECTOR_DIGITS = frozenset(["", *"0123456789"])
# A full postcode in free text, either case, the two parts together or apart by one whitespace
# character, not part of a longer word. Each attempt reads a few characters: linear.
_UK_IN_TEXT = re.compile(
    r"(?<![\w-])[A-Za-z]{1,2}\d[A-Za-z\d]?\s?"
    rf"\d[{_UK_INWARD_LETTERS}{_UK_INWARD_LETTERS.lower()}]{{2}}(?![\w-])"
)


@dataclass(frozen=True, slots=True)
class UKPostcode:
    """A UK full postcode, sector or district. Make one with ``uk_parse`` or ``uk_postcode``."""

    outward: str  # "TS18"
    inward: str = ""  # "1HU" (full), "1" (sector) or "" (district)

    region: ClassVar[str] = "uk"

    def __post_init__(self) -> None:
        if _uk_problem(self.outward, self.inward) is not None:
            raise ValueError(f"not a UK postcode: {self.outward!r} {self.inward!r}")

    def __str__(self) -> str:
        return self.display

    @property
    def kind(self) -> Kind:
        return {3: Kind.FULL, 1: Kind.SECTOR}.get(len(self.inward), Kind.DISTRICT)

    @property
    def display(self) -> str:
        return f"{self.outward} {self.inward}" if self.inward else self.outward

    @property
    def compact(self) -> str:
        return self.outward + self.inward

    @property
    def key(self) -> str:
        return self.display if self.kind == Kind.SECTOR else self.compact

    @property
    def sector(self) -> UKPostcode | None:
        return UKPostcode(self.outward, self.inward[0]) if self.inward else None

    @property
    def district(self) -> UKPostcode:
        return UKPostcode(self.outward)

    def lookups(self) -> tuple[UKPostcode, ...]:
        """Full postcode, sector, district: as many of them as this one is precise enough for."""
        if self.kind == Kind.FULL:
            return (self, UKPostcode(self.outward, self.inward[0]), UKPostcode(self.outward))
        if self.kind == Kind.SECTOR:
            return (self, UKPostcode(self.outward))
        return (self,)


def _uk_area(outward: str) -> str:
    """The letters the outward code begins with ("TS"; "GIR" and "NPT" are their own)."""
    if outward in UK_SPECIAL_OUTWARD:
        return outward
    found = _UK_AREA.match(outward)
    return found.group(0) if found else ""


def _uk_problem(outward: str, inward: str) -> Problem | None:
    """What is wrong with an outward and an inward code (upper case), or None."""
    if not (outward in UK_SPECIAL_OUTWARD or _UK_OUTWARD.fullmatch(outward)):
        return Problem.SHAPE
    if not (inward in _SECTOR_DIGITS or _UK_INWARD.fullmatch(inward)):
        return Problem.SHAPE  # "" (a district), the sector digit, or digit and two letters
    if not (outward in UK_SPECIAL_OUTWARD or _uk_area(outward) in UK_AREAS):
        return Problem.AREA
    return None


def _words(text: str) -> list[str] | Problem:
    """The words of ``text`` in upper-case ASCII letters and digits: full-width forms folded
    (NFKC), decimal digits of any script as 0-9. A Problem if it cannot be a postcode."""
    text = text.strip()
    if not text:
        return Problem.EMPTY
    if len(text) > MAX_TEXT:
        return Problem.TOO_LONG
    text = unicodedata.normalize("NFKC", text)
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    words = text.split()
    if not all(c.isascii() and c.isalnum() for word in words for c in word):
        return Problem.CHARACTERS
    return [word.upper() for word in words]


def uk_parse(text: str, *, kinds: Collection[Kind] = ALL_KINDS) -> Parsed[UKPostcode]:
    """A UK postcode of one of ``kinds`` ("TS18 1HU", "ts181hu", "TS18 1", "TS18"), or why not."""
    words = _words(text)
    if isinstance(words, Problem):
        return Parsed(None, words)
    if len(words) == 1 and not _UK_OUTWARD.fullmatch(words[0]) and len(words[0]) > 3:
        words = [words[0][:-3], words[0][-3:]]  # written without its space: the inward is last
    if len(words) > 2:
        return Parsed(None, Problem.SHAPE)
    outward, inward = words[0], words[1] if len(words) == 2 else ""
    problem = _uk_problem(outward, inward)
    if problem is not None:
        return Parsed(None, problem)
    postcode = UKPostcode(outward, inward)
    if postcode.kind not in kinds:
        return Parsed(None, Problem.KIND)
    return Parsed(postcode)


def uk_postcode(text: str, *, kinds: Collection[Kind] = ALL_KINDS) -> UKPostcode | None:
    """``uk_parse(text, kinds=kinds).value``."""
    return uk_parse(text, kinds=kinds).value


def uk_postcodes_in(text: str) -> Iterator[tuple[int, int, UKPostcode]]:
    """Full UK postcodes written in free text: (start, end, postcode), in text order.

    Either case; the two parts together or apart by one whitespace character; not inside a
    longer word or joined by a hyphen. The automated checks use it to find postcodes in stories.
    """
    for match in _UK_IN_TEXT.finditer(text):
        postcode = uk_postcode(match.group(0), kinds=(Kind.FULL,))
        if postcode is not None:
            yield match.start(), match.end(), postcode


def uk_tidy(text: str) -> str:
    """How a UK service's postcode is stored (``Service.postcode``): a full postcode in its
    display form; any other text (an old or mistyped code) kept, its whitespace collapsed and
    upper case, since it is still part of the address."""
    postcode = uk_postcode(text, kinds=(Kind.FULL,))
    return postcode.display if postcode else " ".join(text.split()).upper()


def compact(text: str) -> str:
    """Any postcode as search also indexes it: no whitespace, upper case ("TS181HU")."""
    return "".join(text.split()).upper()


# --- Ireland --------------------------------------------------------------------------------

# Eircode: a routing key (a letter and two digits, or D6W) and a unique identifier of four
# characters, both from letters that cannot be confused with digits.
_EIRCODE_LETTERS = "ACDEFHKNPRTV-Y"
_ROUTING_KEY = re.compile(rf"[{_EIRCODE_LETTERS}]\d\d|D6W")
_UNIQUE_IDENTIFIER = re.compile(rf"[\d{_EIRCODE_LETTERS}]{{4}}")


@dataclass(frozen=True, slots=True)
class Eircode:
    """An Irish Eircode ("D02 X285") or its routing key alone ("D02", kind district).
    Make one with ``eircode_parse``."""

    routing_key: str
    unique: str = ""

    region: ClassVar[str] = "ie"

    def __post_init__(self) -> None:
        if not _ROUTING_KEY.fullmatch(self.routing_key) or not (
            self.unique == "" or _UNIQUE_IDENTIFIER.fullmatch(self.unique)
        ):
            raise ValueError(f"not an Eircode: {self.routing_key!r} {self.unique!r}")

    def __str__(self) -> str:
        return self.display

    @property
    def kind(self) -> Kind:
        return Kind.FULL if self.unique else Kind.DISTRICT

    @property
    def display(self) -> str:
        return f"{self.routing_key} {self.unique}" if self.unique else self.routing_key

    @property
    def compact(self) -> str:
        return self.routing_key + self.unique

    @property
    def key(self) -> str:
        return self.compact

    def lookups(self) -> tuple[Eircode, ...]:
        return (self, Eircode(self.routing_key)) if self.unique else (self,)


def eircode_parse(text: str, *, kinds: Collection[Kind] = ALL_KINDS) -> Parsed[Eircode]:
    """An Eircode of one of ``kinds`` ("D02 X285", "d02x285", "D02"), or why not."""
    words = _words(text)
    if isinstance(words, Problem):
        return Parsed(None, words)
    if len(words) == 1 and len(words[0]) == 7:
        words = [words[0][:3], words[0][3:]]
    if len(words) > 2 or not _ROUTING_KEY.fullmatch(words[0]):
        return Parsed(None, Problem.SHAPE)
    unique = words[1] if len(words) == 2 else ""
    if unique and not _UNIQUE_IDENTIFIER.fullmatch(unique):
        return Parsed(None, Problem.SHAPE)
    eircode = Eircode(words[0], unique)
    if eircode.kind not in kinds:
        return Parsed(None, Problem.KIND)
    return Parsed(eircode)


# --- Canada -------------------------------------------------------------------------------

# Canada Post: the forward sortation area (FSA) "K1A" is a letter (never D, F, I, O, Q, U, W or
# Z first), a digit and a letter; the local delivery unit (LDU) "0B1" a digit, a letter and a
# digit; no D, F, I, O, Q or U anywhere.
_CA_LETTERS = "ABCEGHJ-NPRSTV-Z"
_CA_FSA = re.compile(rf"[ABCEGHJ-NPRSTVXY]\d[{_CA_LETTERS}]")
_CA_LDU = re.compile(rf"\d[{_CA_LETTERS}]\d")


@dataclass(frozen=True, slots=True)
class CanadianPostalCode:
    """A Canadian postal code ("K1A 0B1") or its forward sortation area alone ("K1A", kind
    district). Make one with ``ca_parse``."""

    fsa: str
    ldu: str = ""

    region: ClassVar[str] = "ca"

    def __post_init__(self) -> None:
        if not _CA_FSA.fullmatch(self.fsa) or not (self.ldu == "" or _CA_LDU.fullmatch(self.ldu)):
            raise ValueError(f"not a Canadian postal code: {self.fsa!r} {self.ldu!r}")

    def __str__(self) -> str:
        return self.display

    @property
    def kind(self) -> Kind:
        return Kind.FULL if self.ldu else Kind.DISTRICT

    @property
    def display(self) -> str:
        return f"{self.fsa} {self.ldu}" if self.ldu else self.fsa

    @property
    def compact(self) -> str:
        return self.fsa + self.ldu

    @property
    def key(self) -> str:
        return self.compact

    def lookups(self) -> tuple[CanadianPostalCode, ...]:
        return (self, CanadianPostalCode(self.fsa)) if self.ldu else (self,)


def ca_parse(text: str, *, kinds: Collection[Kind] = ALL_KINDS) -> Parsed[CanadianPostalCode]:
    """A Canadian postal code of one of ``kinds`` ("K1A 0B1", "k1a0b1", "K1A"), or why not."""
    words = _words(text)
    if isinstance(words, Problem):
        return Parsed(None, words)
    if len(words) == 1 and len(words[0]) == 6:
        words = [words[0][:3], words[0][3:]]
    if len(words) > 2 or not _CA_FSA.fullmatch(words[0]):
        return Parsed(None, Problem.SHAPE)
    ldu = words[1] if len(words) == 2 else ""
    if ldu and not _CA_LDU.fullmatch(ldu):
        return Parsed(None, Problem.SHAPE)
    code = CanadianPostalCode(words[0], ldu)
    if code.kind not in kinds:
        return Parsed(None, Problem.KIND)
    return Parsed(code)


# --- Australia ----------------------------------------------------------------------------

_AU_POSTCODE = re.compile(r"\d{4}")


@dataclass(frozen=True, slots=True)
class AustralianPostcode:
    """An Australian postcode: four digits ("2000", "0800"), with nothing coarser. Make one
    with ``au_parse``. Which state it is in is not decided here (ranges overlap for PO boxes)."""

    digits: str

    region: ClassVar[str] = "au"

    def __post_init__(self) -> None:
        if not _AU_POSTCODE.fullmatch(self.digits):
            raise ValueError(f"not an Australian postcode: {self.digits!r}")

    def __str__(self) -> str:
        return self.display

    @property
    def kind(self) -> Kind:
        return Kind.FULL

    @property
    def display(self) -> str:
        return self.digits

    @property
    def compact(self) -> str:
        return self.digits

    @property
    def key(self) -> str:
        return self.digits

    def lookups(self) -> tuple[AustralianPostcode, ...]:
        return (self,)


def au_parse(text: str, *, kinds: Collection[Kind] = ALL_KINDS) -> Parsed[AustralianPostcode]:
    """An Australian postcode ("2000", "0800"), or why not."""
    words = _words(text)
    if isinstance(words, Problem):
        return Parsed(None, words)
    if len(words) != 1 or not _AU_POSTCODE.fullmatch(words[0]):
        return Parsed(None, Problem.SHAPE)
    if Kind.FULL not in kinds:
        return Parsed(None, Problem.KIND)
    return Parsed(AustralianPostcode(words[0]))


# --- Every country ------------------------------------------------------------------------


class Parser(Protocol):
    def __call__(self, text: str, *, kinds: Collection[Kind] = ...) -> Parsed[PostalCode]: ...


PARSERS: Mapping[str, Parser] = {
    "uk": uk_parse,
    "ie": eircode_parse,
    "ca": ca_parse,
    "au": au_parse,
}


def parse(
    text: str, *, region: str = "uk", kinds: Collection[Kind] = ALL_KINDS
) -> Parsed[PostalCode]:
    """A postcode of ``region`` (a ``Service.region`` code); LookupError for a region whose
    grammar is not here yet."""
    parser = PARSERS.get(region)
    if parser is None:
        raise LookupError(f"no postcode grammar for region {region!r}")
    return parser(text, kinds=kinds)
