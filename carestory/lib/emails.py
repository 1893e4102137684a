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
characters) is ``email_problem``'s, the same check as the forms' EmailField; normalising
never raises and accepts any string, so it can be used on untrusted input such as a sign-in
form's username.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy

MAX_EMAIL_LENGTH = 254

#: What a person is told about an address they typed: on the forms (their type check) and by
#: the services (stories/services.story_draft_check), written once.
EMAIL_MISSING = gettext_lazy("Enter your email address")
EMAIL_INVALID = gettext_lazy("Enter an email address in the correct format, like name@example.com")


def email_problem(value: str) -> str:
    """What is wrong with an address a person typed (missing, too long, not an address), or
    "": the same check as the forms' EmailField, for a caller with no form."""
    value = value.strip()
    if not value:
        return str(EMAIL_MISSING)
    if len(value) > MAX_EMAIL_LENGTH:
        return str(EMAIL_INVALID)
    try:
        validate_email(value)
    except ValidationError:
        return str(EMAIL_INVALID)
    return ""


def normalise_email(value: str) -> str:
    """The canonical form of an address: stripped, NFKC, case-folded. Idempotent."""
    folded = unicodedata.normalize("NFKC", value.strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()
