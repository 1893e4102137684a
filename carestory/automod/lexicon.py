"""Loading the rules: word lists (.txt) and patterns (.json) under ``rules/``, read once.

Moderators change behaviour by editing those files, not this code. A ``.txt`` file holds one
entry a line; blank lines and lines starting with ``#`` are ignored; entries are lower-cased.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent / "rules"
MODELS_DIR = Path(__file__).resolve().parent / "models"
# Carestory's shared list of common first names (also used for screen names).
LIB_FIRST_NAMES = Path(__file__).resolve().parents[1] / "lib" / "data" / "first_names.txt"


def read_lines(path: Path) -> list[str]:
    """The entries of a one-a-line list file, lower-cased, without comments or blanks."""
    entries = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            entries.append(line.lower())
    return entries


@cache
def word_list(name: str) -> frozenset[str]:
    """``rules/<name>.txt`` as a set of lower-cased entries."""
    return frozenset(read_lines(RULES_DIR / f"{name}.txt"))


@cache
def json_rules(name: str) -> Any:
    """``rules/<name>.json``, parsed."""
    with (RULES_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


@cache
def first_names() -> frozenset[str]:
    """Names that are rarely anything else: Carestory's list, the built list and nicknames,
    minus the names that are also ordinary words (those need context: see ``name_words``)."""
    names = set(read_lines(LIB_FIRST_NAMES))
    names |= word_list("first_names")
    names |= word_list("nicknames")
    return frozenset(names - name_words())


@cache
def core_first_names() -> frozenset[str]:
    """The common British first names and nicknames only (no generated list): the names
    trusted even when a story is written all in lower case ("i think she was called becky")."""
    names = set(read_lines(LIB_FIRST_NAMES)) | word_list("nicknames")
    return frozenset(names - name_words())


@cache
def name_words() -> frozenset[str]:
    """First names that are also ordinary English words (Will, Joy, Hope, Rose, Sunny)."""
    return word_list("name_words")


@cache
def compiled(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """A compiled regular expression, cached by its text."""
    return re.compile(pattern, flags)
