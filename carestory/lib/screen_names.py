"""Screen-name checks: authors write under an anonymous screen name, never under a real identity.

`screen_name_problem()` returns None for an acceptable name, or a short machine code the caller
turns into a message:

* ``invisible``   a bidi control, zero-width or other invisible character
* ``empty``       nothing but spaces
* ``too_long``    more than 40 characters
* ``no_letters``  no letter or digit at all (only punctuation or symbols)
* ``email``       an email address, or any ``@``
* ``phone``       a phone-number-like run of 7 or more digits (spaces, dashes, brackets and
                  +44 allowed)
* ``full_name``   looks like a real full name: "Sarah Jones", "sarah jones", "Sarah J", "J Smith",
                  "Mr Patel", "Dr Smith"
* ``birth_year``  a year from 1900 to 2030 ("Dave1982"), or two digits glued to a first name
                  ("john82")

Checks run in that order and the first problem wins. Framework-free: no Django here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

MAX_LENGTH = 40
FIRST_NAMES_FILE = Path(__file__).resolve().parent / "data" / "first_names.txt"

TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "revd"})

# Words that follow a first name in ordinary pseudonyms ("Sue from Stockton", "Jack of all
# trades", "Mr Happy") and so do not look like a surname. Deliberately not exhaustive: a word
# missing here makes "Firstname word" read as a full name, and the author picks another name.
_NOT_SURNAMES_TEXT = """
    a an the and or but nor of in on at to from for with without by about as into onto off
    over under up down out after before again also too very so just only still here there
    then now not no yes all any some one two three four five both each every other another
    my me mine your yours his her hers our ours their theirs its it we us you they them he
    she him i who what when where why how which this that these those
    is am are was were be been being do does did done have has had will would can could
    shall should may might must says said say writes wrote speaks talks tells thinks knows
    mum mummy mam mom mother dad daddy father parent parents son sons daughter daughters
    wife husband partner brother sister sibling twin twins gran granny grandma grandmother
    nan nana nanna grandad granddad grandpa grandfather grandson granddaughter aunt auntie
    aunty uncle niece nephew cousin family relative relatives friend friends neighbour
    carer carers patient patients baby babies child children kid kids boy boys girl girls
    man men woman women lady ladies gent gentleman person people user member staff nurse
    doctor student teacher worker volunteer visitor resident fan fans guy guys lad lass
    happy sad glad grateful thankful worried anxious angry upset tired hopeful proud
    relieved disappointed frustrated concerned confused scared lucky pleased satisfied
    unhappy impressed amazed shocked annoyed fed anonymous unknown private
    old young new local first last long big little small good bad well better best worse
    poorly sick ill busy quiet kind true real honest fair positive negative
    care opinion opinions feedback story stories view views voice thanks thank praise
    experience appointment hospital surgery ward clinic service services health heart
    mind life time day days night nights morning evening week year years shift
    power matters counts says owl lark bird cat dog bear fox
    grumpy nobody nice average ordinary independent public everyday
    north south east west teesside northern southern
    nhs gp ae section
"""
_NOT_SURNAMES = frozenset(_NOT_SURNAMES_TEXT.split())
# Common UK surnames that are also everyday words: a surname when written with a capital
# ("Sarah Young", "Max Power"), a word when not ("Max power").
_SURNAMES_IF_CAPITALISED = frozenset(
    {"young", "ward", "fox", "bird", "day", "west", "north", "long", "little", "power", "best"}
    | {"small", "good", "well", "kind", "fair", "rich", "bear"}
)

_EMAIL = re.compile(r"@")
_DIGIT_RUN = re.compile(r"[+(]?\d(?:[\d\s\-().]*\d)?")
_YEAR = re.compile(r"(?<!\d)(?:19\d\d|20[0-2]\d|2030)(?!\d)")
_LETTERS = r"[^\W\d_]+"
_NAME_THEN_DIGITS = re.compile(rf"(?<![^\W\d_])({_LETTERS})[._-]?(\d\d)(?!\d)")
_DIGITS_THEN_NAME = re.compile(rf"(?<!\d)(\d\d)[._-]?({_LETTERS})(?![^\W\d_])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(rf"{_LETTERS}(?:['\u2019]{_LETTERS})*")


# Format (bidi controls, zero-width characters), private-use, unassigned and surrogate code
# points: nothing a reader can see.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn", "Cs"})
# Letters by category that show as blank space: the Hangul fillers.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """The common first names from data/first_names.txt, lower-cased. Read once."""
    names: set[str] = set()
    for line in FIRST_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip().lower()
        if name:
            names.add(name)
    return frozenset(names)


def _normalise(name: str) -> str:
    # NFKC folds full-width digits, letters and the full-width at sign into plain ones.
    return " ".join(unicodedata.normalize("NFKC", name).split())


def _has_phone(text: str) -> bool:
    return any(sum(ch.isdigit() for ch in m.group()) >= 7 for m in _DIGIT_RUN.finditer(text))


def _looks_like_surname(word: str) -> bool:
    lowered = word.lower()
    if len(lowered) < 2 or lowered in TITLES:
        return False
    if lowered in _SURNAMES_IF_CAPITALISED:
        return word[0].isupper()
    return lowered not in _NOT_SURNAMES


def _is_initial(words: list[str], index: int) -> bool:
    """A lone letter standing for a name: "Sarah J", but not the article in "Dave a carer"."""
    word = words[index].lower()
    if len(word) != 1:
        return False
    last = index == len(words) - 1
    return last or word not in {"a", "i"}


def _looks_like_full_name(text: str) -> bool:
    # "SarahJones" and "sarah.jones" are names too: split camel case, treat punctuation as space.
    words = [w.replace("\u2019", "'") for w in _WORD.findall(_CAMEL.sub(" ", text))]
    names = first_names()
    for index, word in enumerate(words[:-1]):
        lowered = word.lower()
        following = words[index + 1]
        if lowered in names and (_looks_like_surname(following) or _is_initial(words, index + 1)):
            return True
        if lowered in TITLES and _looks_like_surname(following):
            return True
        # "J Smith", "J. Smith": an initial then a surname ("X ray", "A daughter" are not).
        if (
            len(lowered) == 1
            and lowered not in {"a", "i", "o", "x"}
            and _looks_like_surname(following)
        ):
            return True
    return False


def _has_birth_year(text: str) -> bool:
    if _YEAR.search(text):
        return True
    names = first_names()
    if any(m.group(1).lower() in names for m in _NAME_THEN_DIGITS.finditer(text)):
        return True
    return any(m.group(2).lower() in names for m in _DIGITS_THEN_NAME.finditer(text))


def screen_name_problem(name: str) -> str | None:
    """None when `name` is an acceptable anonymous screen name, else a short problem code."""
    if any(
        unicodedata.category(c) in _INVISIBLE_CATEGORIES or c in _INVISIBLE_LETTERS for c in name
    ):
        # Bidi controls can make a name read differently from what it is; zero-width and
        # other format characters make two names look the same.
        return "invisible"
    text = _normalise(name)
    if not text:
        return "empty"
    if len(text) > MAX_LENGTH:
        return "too_long"
    if not any(c.isalnum() for c in text):
        return "no_letters"
    if _EMAIL.search(text):
        return "email"
    if _has_phone(text):
        return "phone"
    if _looks_like_full_name(text):
        return "full_name"
    if _has_birth_year(text):
        return "birth_year"
    return None
