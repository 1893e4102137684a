"""The word-level diff moderators read: removals, additions, escaping, screen-reader text."""

from __future__ import annotations

import itertools
import re

import pytest

from carestory.moderation.diff import DiffOp, diff_html, has_changes, text_diff_html, word_diff


def rebuild(ops: list[DiffOp]) -> tuple[str, str]:
    old = "".join(op.text for op in ops if op.kind != "insert")
    new = "".join(op.text for op in ops if op.kind != "delete")
    return old, new


def test_a_removed_name_is_one_deletion_between_equal_text() -> None:
    ops = word_diff("My nurse Jane Smith was lovely.", "My nurse was lovely.")

    assert ops == [
        DiffOp("equal", "My nurse"),
        DiffOp("delete", " Jane Smith"),
        DiffOp("equal", " was lovely."),
    ]


def test_replaced_words_are_a_deletion_then_an_insertion() -> None:
    ops = word_diff("My mum was scared", "My parent was scared")

    assert ops == [
        DiffOp("equal", "My "),
        DiffOp("delete", "mum"),
        DiffOp("insert", "parent"),
        DiffOp("equal", " was scared"),
    ]


def test_adjacent_changed_words_group_into_one_change() -> None:
    ops = word_diff("Nurse Jane Smith helped", "A nurse helped")

    assert [op.kind for op in ops] == ["delete", "insert", "equal"]
    assert ops[0].text == "Nurse Jane Smith"
    assert ops[1].text == "A nurse"


def test_punctuation_is_its_own_token() -> None:
    ops = word_diff("Thank you, Jane.", "Thank you.")

    assert ops == [DiffOp("equal", "Thank you"), DiffOp("delete", ", Jane"), DiffOp("equal", ".")]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", ""),
        ("", "new text"),
        ("old text", ""),
        ("same\n\nparagraphs", "same\n\nparagraphs"),
        ("Line one.\nLine two, with Jane.", "Line one.\n\nLine two.\nAnd a third."),
        ("caf\u00e9 na\u00efve \u2013 \u201cquotes\u201d", 'cafe naive - "quotes"'),
        ("a a a a b", "a b a b a"),
    ],
)
def test_the_operations_rebuild_both_texts_exactly(old: str, new: str) -> None:
    ops = word_diff(old, new)

    assert rebuild(ops) == (old, new)
    assert has_changes(ops) == (old != new)
    for first, second in itertools.pairwise(ops):
        assert first.kind != second.kind  # merged: never two runs of the same kind in a row


def test_html_marks_changes_with_ins_and_del_and_hidden_text_for_screen_readers() -> None:
    html = text_diff_html("The nurse was kind", "The nurse was very kind")

    assert "<ins>" in html and "very" in html
    assert "<del>" not in html
    assert 'class="nhsuk-u-visually-hidden">start of insertion' in html
    assert "end of insertion" in html


def test_html_escapes_every_piece_of_text() -> None:
    html = diff_html(word_diff("<b>calm</b> & kind", "<script>alert(1)</script> calm"))

    assert "<del>" in html and "<ins>" in html
    ours = re.compile(r'</?(?:ins|del)>|<span class="nhsuk-u-visually-hidden">|</span>')
    assert "<" not in ours.sub("", html)  # every other angle bracket was escaped
    assert "&lt;" in html
    assert "&amp;" in html


def test_texts_too_repetitive_to_compare_are_shown_whole_and_the_page_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from carestory.moderation import diff

    monkeypatch.setattr(diff, "SMALL_CELLS", 0)
    monkeypatch.setattr(diff, "MAX_ANCHOR_PASSES", 0)
    old, new = "a b c <b> " * 20, "c b a <b> " * 20
    result = diff.compare(old, new)

    assert result.whole
    assert result.ops == [DiffOp("delete", old), DiffOp("insert", new)]
    assert rebuild(result.ops) == (old, new)
    html = text_diff_html(old, new)
    assert html.startswith('<strong class="cs-diff-note">The changes are too many')
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_long_texts_are_compared_between_words_found_once_in_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above SMALL_CELLS the diff anchors on unique words; the changes are the same ones, and
    a removed name still reads as one deletion starting with its space."""
    from carestory.moderation import diff

    monkeypatch.setattr(diff, "SMALL_CELLS", 0)
    old = "My nurse Jane Smith was lovely. Dr Okafor explained everything. We went home."
    new = "My nurse was lovely. A doctor explained everything. We went home."
    ops = word_diff(old, new)

    assert rebuild(ops) == (old, new)
    assert ops[:3] == [
        DiffOp("equal", "My nurse"),
        DiffOp("delete", " Jane Smith"),
        DiffOp("equal", " was lovely. "),
    ]
    assert DiffOp("delete", "Dr Okafor") in ops and DiffOp("insert", "A doctor") in ops


def test_a_stretch_too_costly_to_compare_reads_as_removed_and_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from carestory.moderation import diff

    monkeypatch.setattr(diff, "SMALL_CELLS", 0)
    monkeypatch.setattr(diff, "MAX_COMPARED_COST", 0)
    old = "Dr Okafor explained everything carefully. We went home."
    new = "A doctor explained everything. We went home happy."
    result = diff.compare(old, new)

    assert result.partial and not result.whole
    assert rebuild(result.ops) == (old, new)
    assert DiffOp("delete", "Dr Okafor") in result.ops
    assert DiffOp("equal", " explained everything") in result.ops
    assert text_diff_html(old, new).startswith(
        '<strong class="cs-diff-note">Some changes are too many to show word by word'
    )
