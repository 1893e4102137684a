"""One normal form for email addresses, used wherever an address is stored, looked up or
counted (accounts, story submission, both sign-in forms, the sign-in throttle).

``normalise_email`` strips surrounding white space, applies Unicode NFKC and case folding (and
NFKC again, so the result is stable: normalising twice gives the same string). Two spellings
that differ only in case or by compatibility characters (fullwidth letters, ligatures, the
Kelvin sign) become one address, so they are one account and one throttle key.

Decision: we normalise, we do not reject. The forms' EmailValidator only accepts an ASCII
local part, where this is plain lower-casing (every mail provider we send through treats case
as the same mailbox); in the domain it is the mapping that IDNA's nameprep already applies
before any mail is sent, so the mailbox reached never changes. Validity (one ``@``, allowed
characters) stays the form's job; this function never raises and accepts any string, so it can
be used on untrusted input such as a sign-in form's username.
"""

from __future__ import annotations

import unicodedata

MAX_EMAIL_LENGTH = 254


def normalise_email(value: str) -> str:
    """The canonical form of an address: stripped, NFKC, case-folded. Idempotent."""
    folded = unicodedata.normalize("NFKC", value.strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()
