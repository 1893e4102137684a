"""Word-level differences between two versions of a text, for moderators' eyes only.

``word_diff(old, new)`` gives a list of operations (equal, delete, insert) over words,
punctuation and whitespace; ``diff_html`` renders them with ``<del>``/``<ins>`` and hidden
text that tells screen-reader users where each change starts and ends.

The cost is bounded whatever the texts (a story is anonymous input, and a diff that takes
hours means a story that can never be moderated):

* equal texts are not compared at all, and the words the two versions start and end with
  are set aside before anything else;
* what is left is cut at the words that occur exactly once in each version, in the same
  order (patience diff: a longest increasing subsequence, O(n log n)), again and again;
* only the stretches between those anchors are compared word by word, with
  ``difflib.SequenceMatcher``, while what that can cost (old words x new words x the
  shorter of the two: SequenceMatcher looks for the longest run again after each run it
  finds) stays under ``MAX_COMPARED_COST``; a stretch beyond that is shown as its old words
  removed and its new words added (usually a rewritten paragraph, which is just that).

If anchoring itself would read the texts more than ``MAX_ANCHOR_PASSES`` times, the diff
shows the whole old text removed and the whole new text added. ``text_diff_html`` says when
either happened. Every path keeps the contract: joining the equal and delete texts gives
``old``; joining equal and insert gives ``new``.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Kind = Literal["equal", "delete", "insert"]

# Words, runs of punctuation and runs of whitespace: "Jane." changes as "Jane" and ".".
_TOKEN = re.compile(r"\w+|[^\w\s]+|\s+")

# What the stretches compared by SequenceMatcher may cost in all (old words x new words x the
# shorter): a few tenths of a second in the worst case ("a.a.a..." against "a a a ...").
MAX_COMPARED_COST = 20_000_000
# Texts (and stretches) this small (old words x new words) are compared by SequenceMatcher
# without looking for anchors first, exactly as they always were.
SMALL_CELLS = 40_000
# Anchoring may read the tokens this many times over before the diff gives up (it is
# usually two or three; a pathological text could make each round find one anchor only).
MAX_ANCHOR_PASSES = 12

# (old index, new index, length) of a run of equal tokens.
Block = tuple[int, int, int]


@dataclass(frozen=True)
class DiffOp:
    kind: Kind
    text: str


@dataclass(frozen=True)
class WordDiff:
    """The operations, and whether some stretches (``partial``) or the whole texts
    (``whole``) are shown as removed and added rather than word by word (the changes were
    too many, or the texts too repetitive, to compare in bounded time)."""

    ops: list[DiffOp]
    whole: bool = False
    partial: bool = False


def tokenize(text: str) -> list[str]:
    """Split into tokens that join back to exactly ``text``."""
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> list[DiffOp]:
    """The operations that turn ``old`` into ``new``, word by word.

    Joining the equal and delete texts gives ``old``; joining equal and insert gives ``new``.
    Adjacent operations of the same kind are merged; a replacement is a delete then an insert.
    """
    return compare(old, new).ops


def compare(old: str, new: str) -> WordDiff:
    """``word_diff``, saying also whether parts of it, or all, are shown removed and added
    rather than word by word."""
    if old == new:
        return WordDiff([DiffOp("equal", old)] if old else [])
    a, b = tokenize(old), tokenize(new)
    found = _matching_blocks(a, b)
    if found is None:
        ops = [DiffOp("delete", old), DiffOp("insert", new)]
        return WordDiff([op for op in ops if op.text], whole=True)
    blocks, partial = found
    runs: list[tuple[Kind, list[str]]] = []

    def add(kind: Kind, tokens: list[str]) -> None:
        if not tokens:
            return
        if runs and runs[-1][0] == kind:
            runs[-1][1].extend(tokens)
        else:
            runs.append((kind, list(tokens)))

    i = j = 0
    for ai, bj, size in [*blocks, (len(a), len(b), 0)]:
        add("delete", a[i:ai])
        add("insert", b[j:bj])
        add("equal", a[ai : ai + size])
        i, j = ai + size, bj + size
    if len(a) * len(b) > SMALL_CELLS:
        _slide_up(runs)
    ops = [DiffOp(kind, "".join(tokens)) for kind, tokens in runs]
    return WordDiff(_absorb_whitespace([op for op in ops if op.text]), partial=partial)


def _slide_up(runs: list[tuple[Kind, list[str]]]) -> None:
    """Move each lone deletion or insertion between two equal runs as far back as it can go
    and still say the same ("My nurse| Jane Smith| was", not "My nurse |Jane Smith |was"):
    where a change of repeated words sits is a matter of choice, and this is the choice
    SequenceMatcher makes on short texts, whichever way the diff was found."""
    for k in range(1, len(runs) - 1):
        (before_kind, before), (kind, change), (after_kind, after) = runs[k - 1 : k + 2]
        if before_kind != "equal" or after_kind != "equal" or kind == "equal":
            continue
        size = len(change)
        shift = 0
        while shift < len(before) and before[-1 - shift] == change[(size - 1 - shift) % size]:
            shift += 1
        if not shift:
            continue
        moved = before[len(before) - shift :] + change
        runs[k - 1] = (before_kind, before[: len(before) - shift])
        runs[k] = (kind, moved[:size])
        runs[k + 1] = (after_kind, moved[size:] + after)


def _matching_blocks(a: list[str], b: list[str]) -> tuple[list[Block], bool] | None:
    """The runs of equal tokens in order, and whether some stretch was left uncompared
    (too costly); None when anchoring would read the texts too many times."""
    if len(a) * len(b) <= SMALL_CELLS:
        # Short texts: exactly what SequenceMatcher finds (the longest runs first).
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return [(i, j, n) for i, j, n in matcher.get_matching_blocks() if n], False
    blocks: list[Block] = []
    cost = 0
    partial = False
    work = 0
    work_limit = MAX_ANCHOR_PASSES * (len(a) + len(b))
    # A stack of things to do, the next on top: a block to output, or a stretch to compare.
    todo: list[tuple[bool, int, int, int, int]] = [(False, 0, len(a), 0, len(b))]
    while todo:
        is_block, alo, ahi, blo, bhi = todo.pop()
        if is_block:
            blocks.append((alo, blo, ahi))
            continue
        # Common prefix and suffix.
        start = 0
        while alo + start < ahi and blo + start < bhi and a[alo + start] == b[blo + start]:
            start += 1
        end = 0
        while (
            ahi - end > alo + start
            and bhi - end > blo + start
            and a[ahi - end - 1] == b[bhi - end - 1]
        ):
            end += 1
        if end:
            todo.append((True, ahi - end, end, bhi - end, 0))
        mid = (alo + start, ahi - end, blo + start, bhi - end)
        if mid[0] < mid[1] and mid[2] < mid[3]:
            size = (mid[1] - mid[0]) * (mid[3] - mid[2])
            anchors = [] if size <= SMALL_CELLS else _anchors(a, b, *mid)
            work += (mid[1] - mid[0]) + (mid[3] - mid[2])
            if work > work_limit:
                return None
            if anchors:
                # Stretches between anchors, pushed last first so the first comes out first.
                ends = [*anchors, (mid[1], mid[3])]
                starts = [(mid[0], mid[2])] + [(i + 1, j + 1) for i, j in anchors]
                for (i0, j0), (i1, j1), anchor in reversed(
                    list(zip(starts, ends, [*anchors, None], strict=True))
                ):
                    if anchor is not None:
                        todo.append((True, anchor[0], 1, anchor[1], 0))
                    todo.append((False, i0, i1, j0, j1))
            else:
                stretch_cost = size * min(mid[1] - mid[0], mid[3] - mid[2])
                if cost + stretch_cost > MAX_COMPARED_COST:
                    partial = True  # no blocks: the stretch reads as a removal and an addition
                else:
                    cost += stretch_cost
                    matcher = difflib.SequenceMatcher(
                        None, a[mid[0] : mid[1]], b[mid[2] : mid[3]], autojunk=False
                    )
                    for i, j, n in reversed(matcher.get_matching_blocks()):
                        if n:
                            todo.append((True, mid[0] + i, n, mid[2] + j, 0))
        if start:
            todo.append((True, alo, start, blo, 0))
    return blocks, partial


def _anchors(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Tokens that occur exactly once in ``a[alo:ahi]`` and once in ``b[blo:bhi]``, the longest
    chain of them in the same order in both (patience sorting), as (old index, new index)."""
    a_counts = Counter(a[alo:ahi])
    b_counts = Counter(b[blo:bhi])
    b_at = {b[j]: j for j in range(blo, bhi) if b_counts[b[j]] == 1}
    pairs = [(i, b_at[a[i]]) for i in range(alo, ahi) if a_counts[a[i]] == 1 and a[i] in b_at]
    # Longest increasing subsequence of the new indexes, in old order.
    tails: list[int] = []  # new index ending the best chain of each length
    tail_at: list[int] = []  # which pair that is
    previous: list[int] = []
    for n, (_i, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k] = j
            tail_at[k] = n
        previous.append(tail_at[k - 1] if k else -1)
    chain: list[tuple[int, int]] = []
    n = tail_at[-1] if tail_at else -1
    while n != -1:
        chain.append(pairs[n])
        n = previous[n]
    chain.reverse()
    return chain


def _absorb_whitespace(ops: list[DiffOp]) -> list[DiffOp]:
    """A lone space kept between two changes reads better inside them: "a b" -> "c d" is one
    deletion and one insertion, not four fragments."""
    result: list[DiffOp] = []
    for i, op in enumerate(ops):
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
    return _regroup(result)


def _regroup(ops: list[DiffOp]) -> list[DiffOp]:
    """Within each run of changes, all deletions first, then all insertions, merged."""
    result: list[DiffOp] = []
    equal: list[str] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush_changes() -> None:
        if deleted:
            result.append(DiffOp("delete", "".join(deleted)))
        if inserted:
            result.append(DiffOp("insert", "".join(inserted)))
        deleted.clear()
        inserted.clear()

    def flush_equal() -> None:
        if equal:
            result.append(DiffOp("equal", "".join(equal)))
        equal.clear()

    for op in ops:
        if op.kind == "equal":
            flush_changes()
            equal.append(op.text)
        else:
            flush_equal()
            (deleted if op.kind == "delete" else inserted).append(op.text)
    flush_changes()
    flush_equal()
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
    """The diff as HTML; when some of it, or all, is shown removed and added rather than word
    by word, a note says so first."""
    return compared_html(compare(old, new))


def compared_html(result: WordDiff) -> SafeString:
    """``text_diff_html`` of a comparison already made."""
    html = diff_html(result.ops)
    if result.whole:
        note = _("The changes are too many to show word by word; here are both versions.")
    elif result.partial:
        note = _(
            "Some changes are too many to show word by word: those parts show the old words "
            "removed and the new words added."
        )
    else:
        return html
    return mark_safe(format_html('<strong class="cs-diff-note">{}</strong>\n', note) + html)
