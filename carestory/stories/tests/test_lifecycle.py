"""The story lifecycle (stories/lifecycle.py): every (from, to) pair of ``Story.Status``, the
diagram in the module docstring, who may decide, and that no status change goes around it."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.errors import ConflictError
from carestory.stories import lifecycle, services
from carestory.stories.lifecycle import (
    TRANSITIONS,
    TransitionRefused,
    can_decide,
    decidable_statuses,
    story_transition,
)
from carestory.stories.models import Story
from carestory.stories.services import story_submit, story_verify, story_withdraw
from conftest import World
from tests.emails import verify_token
from tests.factories import StoryFactory, UserFactory, story_draft

pytestmark = pytest.mark.django_db

S = Story.Status

# The diagram, written out again on purpose: a change to the lifecycle must change this too.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        (S.AWAITING_VERIFICATION, S.IN_MODERATION),
        (S.IN_MODERATION, S.PUBLISHED),
        (S.IN_MODERATION, S.PROVIDER_REVIEW),
        (S.IN_MODERATION, S.REJECTED),
        (S.IN_MODERATION, S.AWAITING_AUTHOR),
        (S.IN_MODERATION, S.HELD),
        (S.AWAITING_AUTHOR, S.IN_MODERATION),
        (S.HELD, S.PUBLISHED),
        (S.HELD, S.PROVIDER_REVIEW),
        (S.HELD, S.REJECTED),
        (S.PROVIDER_REVIEW, S.PUBLISHED),
        (S.PROVIDER_REVIEW, S.HELD),
        # The author may withdraw from any state, including one added later.
        *((s, S.WITHDRAWN) for s in S if s != S.WITHDRAWN),
    }
)
# Every ordered pair of states, derived from Story.Status: a new state is covered by construction.
PAIRS = [(a, b) for a in S for b in S]
ACTIONS = sorted({action for _, action, _ in TRANSITIONS})


def _story_in(status: str) -> Story:
    published_at = timezone.now() if status == S.PUBLISHED else None
    return StoryFactory(status=status, published_at=published_at, services=[])


def _fields_for(target: str) -> dict[str, Any]:
    return {"published_at": timezone.now()} if target == S.PUBLISHED else {}


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_pair_of_states_is_allowed_or_refused(source: str, target: str) -> None:
    actor = UserFactory()
    assert ((source, target) in {(s, t) for s, _, t in TRANSITIONS}) == (
        (source, target) in ALLOWED
    )
    if (source, target) in ALLOWED:
        actions = [a for s, a, t in TRANSITIONS if (s, t) == (source, target)]
        assert actions
        for action in actions:
            story = _story_in(source)
            story_transition(
                story=story,
                to=target,
                action=action,
                actor=actor,
                version=story.version,
                fields=_fields_for(target),
            )
            moved = Story.objects.get(pk=story.pk)
            assert (moved.status, moved.version) == (target, story.version + 1)
            event = AuditEvent.objects.get(object_id=story.public_id)
            assert (event.action, event.actor) == (action, actor)
            assert event.changes["status"] == [source, target]
        return
    # Refused by every named transition, with or without a version: nothing is written.
    story = _story_in(source)
    for action in ACTIONS:
        for version in (story.version, None):
            with pytest.raises(TransitionRefused, match=f"^No transition {source} --"):
                story_transition(
                    story=story,
                    to=target,
                    action=action,
                    actor=actor,
                    version=version,
                    fields=_fields_for(target),
                )
    unchanged = Story.objects.get(pk=story.pk)
    assert (unchanged.status, unchanged.version) == (source, story.version)
    assert not AuditEvent.objects.filter(object_id=story.public_id).exists()


def test_a_transition_needs_its_own_name() -> None:
    """Allowed pairs are refused under another transition's name (go-ahead is not publish)."""
    story = _story_in(S.IN_MODERATION)
    with pytest.raises(TransitionRefused):
        story_transition(
            story=story,
            to=S.PUBLISHED,
            action="story.provider_go_ahead",
            actor=None,
            fields=_fields_for(S.PUBLISHED),
        )


def test_the_state_is_checked_in_the_database_not_the_copy() -> None:
    story = _story_in(S.IN_MODERATION)
    stale = Story.objects.get(pk=story.pk)
    story_transition(
        story=story, to=S.REJECTED, action="story.reject", actor=None, version=story.version
    )
    # The copy still says in_moderation: allowed on paper, refused by the row, with or
    # without a version.
    for version in (stale.version, None):
        with pytest.raises(ConflictError):
            story_transition(
                story=stale,
                to=S.PUBLISHED,
                action="story.publish",
                actor=None,
                version=version,
                fields=_fields_for(S.PUBLISHED),
            )
    row = Story.objects.get(pk=story.pk)
    assert (row.status, row.version) == (S.REJECTED, story.version + 1)
    assert AuditEvent.objects.filter(object_id=story.public_id).count() == 1


def test_a_stale_version_is_a_conflict_and_no_version_checks_the_state_alone() -> None:
    story = _story_in(S.IN_MODERATION)
    Story.objects.filter(pk=story.pk).update(version=story.version + 1)  # an edit, same state
    with pytest.raises(ConflictError):
        story_transition(
            story=story, to=S.REJECTED, action="story.reject", actor=None, version=story.version
        )
    assert Story.objects.get(pk=story.pk).status == S.IN_MODERATION
    story_transition(story=story, to=S.REJECTED, action="story.reject", actor=None)
    row = Story.objects.get(pk=story.pk)
    assert (row.status, row.version) == (S.REJECTED, story.version + 2)


def test_the_docstring_draws_exactly_the_transitions() -> None:
    doc = lifecycle.__doc__ or ""
    drawn: set[tuple[str, str, str]] = set()
    for source, action, target in re.findall(
        r"^ {4}(\(every other state\)|\w+) --(story\.\w+)--> (\w+)$", doc, re.M
    ):
        sources = [s for s in S if s != target] if source == "(every other state)" else [source]
        drawn |= {(s, action, target) for s in sources}
    assert drawn == set(TRANSITIONS)
    for status in S:
        assert f"``{status}``" in doc or f"{status} --" in doc or f"--> {status}" in doc


# --- Who may decide ---------------------------------------------------------------------------


def _personas() -> dict[str, User]:
    return {
        "moderator": UserFactory(moderator=True),
        "senior": UserFactory(moderator=True, is_senior_moderator=True),
        "inactive senior": UserFactory(moderator=True, is_senior_moderator=True, is_active=False),
        "senior flag only": UserFactory(is_senior_moderator=True),
        "reader": UserFactory(),
    }


@pytest.mark.parametrize("status", list(S))
def test_can_decide_in_moderation_any_moderator_held_senior_only(status: str) -> None:
    expected = {
        "moderator": status == S.IN_MODERATION,
        "senior": status in (S.IN_MODERATION, S.HELD),
        "inactive senior": False,
        "senior flag only": False,
        "reader": False,
    }
    story = Story(status=status)
    for name, user in _personas().items():
        assert can_decide(story, user) == expected[name], name
        assert (status in decidable_statuses(user)) == expected[name], name


def test_the_named_state_sets_are_what_the_diagram_draws() -> None:
    """DECIDABLE and SERVICES_CHANGEABLE are written out for readers; the diagram decides."""
    for action in ("story.publish", "story.approve", "story.reject"):
        assert lifecycle.starts_from(action) == lifecycle.DECIDABLE, action
    assert lifecycle.starts_from("story.question_ask") == (S.IN_MODERATION,)
    assert lifecycle.starts_from("story.question_cancel") == (S.AWAITING_AUTHOR,)
    assert set(lifecycle.SERVICES_CHANGEABLE) == {*lifecycle.DECIDABLE, S.AWAITING_AUTHOR}
    assert lifecycle.starts_from("story.nothing") == ()


@pytest.mark.parametrize("status", list(S))
def test_services_change_only_before_a_decision(status: str) -> None:
    story = Story(status=status)
    personas = _personas()
    moderator_may = status in (S.IN_MODERATION, S.AWAITING_AUTHOR)
    assert lifecycle.can_change_services(story, personas["moderator"]) == moderator_may
    senior_may = status in (S.IN_MODERATION, S.HELD, S.AWAITING_AUTHOR)
    assert lifecycle.can_change_services(story, personas["senior"]) == senior_may
    assert not lifecycle.can_change_services(story, personas["reader"])


# --- Verification and withdrawal go through it --------------------------------------------------


def test_verification_bumps_the_version_and_is_audited(world: World) -> None:
    draft = story_draft(email="teller@example.org", services=[world.ward])
    story = story_submit(draft=draft, idempotency_key=uuid.uuid4()).story
    assert story.status == S.AWAITING_VERIFICATION
    assert story_verify(raw_token=verify_token()) is not None
    row = Story.objects.get(pk=story.pk)
    assert (row.status, row.version) == (S.IN_MODERATION, story.version + 1)
    event = AuditEvent.objects.get(action="story.verify", object_id=story.public_id)
    assert event.actor == story.author
    assert event.changes["status"] == [S.AWAITING_VERIFICATION, S.IN_MODERATION]


def test_withdrawal_bumps_the_version_and_audits_the_state_it_left(world: World) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    stale = Story.objects.get(pk=story.pk)
    story_transition(
        story=story,
        to=S.PUBLISHED,
        action="story.publish",
        actor=world.moderator,
        version=story.version,
        fields=_fields_for(S.PUBLISHED),
    )
    story_withdraw(story=stale, author=world.author)  # the author's page said in_moderation
    row = Story.objects.get(pk=story.pk)
    assert (row.status, row.version) == (S.WITHDRAWN, story.version + 2)
    assert row.withdrawn_at is not None
    event = AuditEvent.objects.get(action="story.withdraw", object_id=story.public_id)
    assert event.actor == world.author
    assert event.changes["status"] == [S.PUBLISHED, S.WITHDRAWN]
    story_withdraw(story=stale, author=world.author)  # twice: nothing more happens
    assert Story.objects.get(pk=story.pk).version == story.version + 2
    assert AuditEvent.objects.filter(action="story.withdraw").count() == 1


def test_withdrawal_wins_a_decision_that_lands_between_its_read_and_its_write(
    world: World, monkeypatch: Any
) -> None:
    story = StoryFactory(author=world.author, services=[world.ward])
    real = lifecycle.story_transition
    calls: list[str] = []

    def decided_meanwhile(**kwargs: Any) -> None:
        calls.append(kwargs["story"].status)
        if len(calls) == 1:  # a moderator rejects it just before the author's UPDATE
            Story.objects.filter(pk=story.pk).update(status=S.REJECTED, version=story.version + 1)
        real(**kwargs)

    monkeypatch.setattr(services, "story_transition", decided_meanwhile)
    story_withdraw(story=story, author=world.author)
    assert calls == [S.IN_MODERATION, S.REJECTED]
    row = Story.objects.get(pk=story.pk)
    assert (row.status, row.version) == (S.WITHDRAWN, story.version + 2)
    event = AuditEvent.objects.get(action="story.withdraw")
    assert event.changes["status"] == [S.REJECTED, S.WITHDRAWN]


# --- Nothing goes around it -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]  # carestory/
NOT_CODE = {"migrations", "tests"}


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _status_writes(tree: ast.AST) -> list[int]:
    """Lines that set a Story's status: ``Story....update(status=...)``,
    ``update_if_version(Story, ..., status=...)``, ``story.status = ...``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            keywords = {k.arg for k in node.keywords}
            if "status" not in keywords:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("update", "update_or_create"):
                if "Story" in _names_in(func.value):
                    found.append(node.lineno)
            elif (
                isinstance(func, ast.Name)
                and func.id == "update_if_version"
                and node.args
                and "Story" in _names_in(node.args[0])
            ):
                found.append(node.lineno)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and "story" in ast.unparse(target.value).lower()
                ):
                    found.append(node.lineno)
    return sorted(found)


def test_no_story_status_change_goes_around_the_lifecycle() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if NOT_CODE & set(relative.parts):
            continue
        if relative == Path("stories/lifecycle.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{relative}:{line}" for line in _status_writes(tree)]
    assert offenders == [], "use stories/lifecycle.story_transition"


def test_the_guard_above_finds_the_forms_it_looks_for() -> None:
    source = """
Story.objects.filter(pk=1).update(status="published")
update_if_version(Story, pk=1, expected_version=2, status="held")
story.status = "withdrawn"
Story.objects.filter(pk=1).update(claimed_by=None)
"""
    assert _status_writes(ast.parse(source)) == [2, 3, 4]
