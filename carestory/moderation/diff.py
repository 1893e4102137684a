"""Word-level differences between two versions of a text, for moderators' eyes only.

``word_diff(old, new)`` gives a list of operations (equal, delete, insert) over words,
punctuation and whitespace; ``diff_html`` renders them with ``<del>``/``<ins>`` and hidden
text that tells screen-reader users where each change starts and ends.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Kind = Literal["equal", "delete", "insert"]

# Words, runs of punctuation and runs of whitespace: "Jane." changes as "Jane" and ".".
_TOKEN = re.compile(r"\w+|[^\w\s]+|\s+")


@dataclass(frozen=True)
class DiffOp:
    kind: Kind
    text: str


def tokenize(text: str) -> list[str]:
    """Split into tokens that join back to exactly ``text``."""
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> list[DiffOp]:
    """The operations that turn ``old`` into ``new``, word by word.

    Joining the equal and delete texts gives ``old``; joining equal and insert gives ``new``.
    Adjacent operations of the same kind are merged; a replacement is a delete then an insert.
    """
    a, b = tokenize(old), tokenize(new)
    ops: list[DiffOp] = []

    def add(kind: Kind, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if ops and ops[-1].kind == kind:
            ops[-1] = DiffOp(kind, ops[-1].text + text)
        else:
            ops.append(DiffOp(kind, text))

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return _absorb_whitespace(ops)


def _absorb_whitespace(ops: list[DiffOp]) -> list[DiffOp]:
    """A lone space kept between two changes reads better inside them: "a b" -> "c d" is one
    deletion and one insertion, not four fragments."""
    result: list[DiffOp] = []
    i = 0
    while i < len(ops):
        op = ops[i]
        between_changes = (
            op.kind == "equal"
            and op.text.isspace()
            and 0 < i < len(ops) - 1
            and ops[i - 1].kind != "equal"
            and ops[i + 1].kind != "equal"
        )
        if between_changes:
            # Fold into the surrounding delete and insert runs.
            result.append(DiffOp("delete", op.text))
            result.append(DiffOp("insert", op.text))
        else:
            result.append(op)
        i += 1
    return _regroup(result)


def _regroup(ops: list[DiffOp]) -> list[DiffOp]:
    """Within each run of changes, all deletions first, then all insertions, merged."""
    result: list[DiffOp] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        if deleted:
            result.append(DiffOp("delete", "".join(deleted)))
        if inserted:
            result.append(DiffOp("insert", "".join(inserted)))
        deleted.clear()
        inserted.clear()

    for op in ops:
        if op.kind == "equal":
            flush()
            if result and result[-1].kind == "equal":
                result[-1] = DiffOp("equal", result[-1].text + op.text)
            else:
                result.append(op)
        elif op.kind == "delete":
            deleted.append(op.text)
        else:
            inserted.append(op.text)
    flush()
    return result


def has_changes(ops: list[DiffOp]) -> bool:
    return any(op.kind != "equal" for op in ops)


def diff_html(ops: list[DiffOp]) -> SafeString:
    """``<del>`` and ``<ins>`` with visually hidden start and end markers for screen readers.

    Every piece of text is escaped; the result is safe to put in a template.
    """
    parts: list[str] = []
    for op in ops:
        if op.kind == "equal":
            parts.append(str(conditional_escape(op.text)))
            continue
        if op.kind == "delete":
            tag, start, end = "del", _("start of deletion"), _("end of deletion")
        else:
            tag, start, end = "ins", _("start of insertion"), _("end of insertion")
        parts.append(
            format_html(
                '<{tag}><span class="nhsuk-u-visually-hidden">{start}: </span>{text}'
                '<span class="nhsuk-u-visually-hidden"> ({end})</span></{tag}>',
                tag=tag,
                start=start,
                text=op.text,
                end=end,
            )
        )
    return mark_safe("".join(parts))  # each part was escaped above


def text_diff_html(old: str, new: str) -> SafeString:
    return diff_html(word_diff(old, new))
