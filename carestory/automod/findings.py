"""The automated checks' findings, kept between views of the workbench.

The worker's check job (``stories.check``) analyses a story after it is saved; the workbench
lists what it found as suggested edits. Analysing a long story takes 0.2 to 0.9 s, so the job
keeps its findings (``stories.StoryFindings``) and the workbench reads them instead of
analysing again on every view.

Findings are offsets into one exact text, so they are kept with a key of that text, of the
checks themselves (every file of ``automod/``: rules, word lists, the learned model) and of
the language their replacements and messages were translated into. Any edit (the author's, a
moderator's, an applied suggestion), a new version of the checks or a moderator reading in
another language changes the key, and the kept findings are not used: the workbench analyses
the text it shows (and keeps what it found for the next view).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import get_language

from carestory.automod import Finding

_AUTOMOD = Path(__file__).resolve().parent  # this package: its code, rules and model


@cache
def checks_version() -> str:
    """A digest of every file the checks are made of, computed once per process."""
    digest = hashlib.sha256()
    for path in sorted(
        p
        for p in _AUTOMOD.rglob("*")
        if p.is_file() and p.suffix != ".pyc" and p.relative_to(_AUTOMOD).parts[0] != "tests"
    ):
        digest.update(path.relative_to(_AUTOMOD).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def findings_key(*, title: str, body: str) -> str:
    """Names one text of a story as analysed by this version of the checks, in the active
    language."""
    digest = hashlib.sha256(checks_version().encode())
    for part in (get_language() or "", title, body):
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


def findings_to_json(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "field": f.field,
            "start": f.start,
            "end": f.end,
            "label": f.label,
            "rule": f.rule,
            "severity": f.severity,
            "suggestion": f.suggestion,
            "message": f.message,
        }
        for f in findings
    ]


def findings_from_json(data: Sequence[dict[str, Any]]) -> list[Finding]:
    return [
        Finding(
            field=item["field"],
            start=item["start"],
            end=item["end"],
            label=item["label"],
            rule=item["rule"],
            severity=item["severity"],
            suggestion=item["suggestion"],
            message=item["message"],
        )
        for item in data
    ]
