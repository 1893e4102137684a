"""Screen names must not identify the author (plain pytest, no database)."""

from __future__ import annotations

import pytest

from carestory.lib.screen_names import FIRST_NAMES_FILE, first_names, screen_name_problem

REFUSED = [
    # empty
    ("", "empty"),
    ("   ", "empty"),
    ("\t\n", "empty"),
    # too long (> 40 characters)
    ("A very grateful patient from the Teesside area", "too_long"),
    ("x" * 41, "too_long"),
    # email
    ("john.smith@example.com", "email"),
    ("me@home", "email"),
    ("@teessidecarer", "email"),
    ("worried mum @ stockton", "email"),
    # phone
    ("ring me 07700 900123", "phone"),
    ("07700900123", "phone"),
    ("+44 7700 900123", "phone"),
    ("+44 (0)7700-900-123", "phone"),
    ("(01642) 850850", "phone"),
    ("call 016 4285 0850", "phone"),
    ("Patient 1234567", "phone"),
    # full name
    ("Sarah Jones", "full_name"),
    ("sarah jones", "full_name"),
    ("SARAH JONES", "full_name"),
    ("Sarah J", "full_name"),
    ("Sarah J.", "full_name"),
    ("Dave Smith", "full_name"),
    ("Jenny Patel", "full_name"),
    ("Sue O'Brien", "full_name"),
    ("Mary Smith-Jones", "full_name"),
    ("John Thomas", "full_name"),
    ("Sarah Young", "full_name"),
    ("Max Power", "full_name"),
    ("Peter Ward", "full_name"),
    ("Worried mum Sarah Jones", "full_name"),
    ("SarahJones", "full_name"),
    ("sarah.jones", "full_name"),
    ("sarah_jones", "full_name"),
    ("J Smith", "full_name"),
    ("J. Smith", "full_name"),
    ("Mr Patel", "full_name"),
    ("Mrs Brown", "full_name"),
    ("Ms Khan", "full_name"),
    ("Miss Taylor", "full_name"),
    ("Dr Smith", "full_name"),
    ("Dr. Smith", "full_name"),
    ("mr patel", "full_name"),
    ("Mrs Sarah Jones", "full_name"),
    # birth year
    ("Dave1982", "birth_year"),
    ("john82", "birth_year"),
    ("John_82", "birth_year"),
    ("sarah.75", "birth_year"),
    ("82john", "birth_year"),
    ("Born 1975", "birth_year"),
    ("mum of two 2019", "birth_year"),
    ("Carer 1958", "birth_year"),
    ("Grateful 2030", "birth_year"),
]

ACCEPTED = [
    "Grateful patient",
    "Worried mum",
    "Teesside carer",
    "Anonymous",
    "Patient 123",
    "Happy",
    "Night owl",
    "A daughter",
    "Proud dad",
    "Mum of two",
    "Long-time carer",
    "NHS fan",
    "Relieved husband",
    "Dave",
    "sarah",
    "Sue from Stockton",
    "Dave a carer",
    "Jack of all trades",
    "Mum of Amy",
    "Amy's mum",
    "Mr Happy",
    "Mr Grumpy",
    "Joe public",
    "Dr Who",
    "Frank opinion",
    "Will power",
    "Max power",
    "Jack of all trades, good at none",
    "X ray patient",
    "Bed 12 on ward 3",
    "Patient 1899",
    "Year 3031",
    "mum82",
    "Carer since 98",
    "  Grateful   patient  ",
    "x" * 40,
]


@pytest.mark.parametrize(("name", "code"), REFUSED)
def test_refused(name: str, code: str) -> None:
    assert screen_name_problem(name) == code


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted(name: str) -> None:
    assert screen_name_problem(name) is None


def test_first_names_file_is_loaded_once_and_lower_cased() -> None:
    names = first_names()
    assert first_names() is names
    assert 350 <= len(names) <= 600
    for expected in ("sarah", "john", "dave", "sue", "jenny", "mohammed", "grace"):
        assert expected in names
    # Ordinary words the accepted pseudonyms rely on are not in the list.
    for word in ("grateful", "worried", "happy", "night", "anonymous", "patient", "hope"):
        assert word not in names
    assert all(name == name.lower().strip() for name in names)


def test_first_names_file_has_no_duplicates() -> None:
    lines = [
        line.strip().lower()
        for line in FIRST_NAMES_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == len(set(lines))


def test_full_width_characters_are_folded() -> None:
    full_width_phone = "call \uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13"
    assert screen_name_problem(full_width_phone) == "phone"
    assert screen_name_problem("me\uff20example.com") == "email"
