"""What a service code is: the one rule for the service tree (staff typing a code) and the
importers (a file's codes).

A code is stored in capitals; it begins with a letter or a digit and holds only letters,
digits, '.', '-' and '_'; it is at most CODE_MAX characters. Codes appear in page addresses
(/services/<code>/), where all of these are safe. The import format has always allowed '.'
and '_' (docs/data-import.md), so a service the import made may have such a code; the tree
accepts the same codes, so that it can name every service the import can make.
"""

from __future__ import annotations

import re

CODE_MAX = 20  # Service.code, ServiceRedirect.old_code
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")


def code_well_formed(code: str) -> bool:
    """Whether ``code`` (already in capitals) uses only the characters a code may."""
    return CODE_PATTERN.match(code) is not None
