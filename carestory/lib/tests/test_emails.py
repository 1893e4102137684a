"""One normal form for email addresses."""

from __future__ import annotations

import pytest

from carestory.lib.emails import normalise_email


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Someone@Example.ORG", "someone@example.org"),
        ("  someone@example.org \n", "someone@example.org"),
        ("".join(chr(ord(c) + 0xFEE0) for c in "Someone@example.org"), "someone@example.org"),
        ("\u212aate@example.org", "kate@example.org"),  # the Kelvin sign
        ("o\ufb03ce@example.org", "office@example.org"),  # a ligature
        ("someone@STRASSE.example", "someone@strasse.example"),
        ("someone@straße.example", "someone@strasse.example"),  # as IDNA 2003 maps it
        ("\u3000someone@example.org\u3000", "someone@example.org"),  # ideographic spaces
        ("", ""),
    ],
)
def test_normalise_email(given: str, expected: str) -> None:
    assert normalise_email(given) == expected


def test_normalising_twice_changes_nothing() -> None:
    """Every code point, between letters: the normal form is a fixed point."""
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        once = normalise_email(f"a{chr(code)}b@example.org")
        assert normalise_email(once) == once, hex(code)
