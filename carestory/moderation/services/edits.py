"""Editing the public version without deciding: the moderator's save, an automated
suggestion applied at its span, the services changed; every text change kept as a
``StoryRevision``. What the moderator typed is one ``StoryEdit``; the steps the decisions
share when they save it too (``_story_edit_fields``, ``_after_edit``) live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.errors import ConflictError, Problems
from carestory.moderation.selectors import analyse_safely
from carestory.moderation.services.checks import (
    require_can_change_services,
    require_may_decide,
    require_moderator,
    require_status,
)
from carestory.moderation.services.claims import _claim, clean_note, moderator_note_add
from carestory.services.models import Service
from carestory.stories.lifecycle import (
    DECIDABLE,
    SERVICES_CHANGEABLE,
    story_update_keeping_state,
)
from carestory.stories.models import (
    Criticality,
    Story,
    StoryRevision,
    StoryService,
    StoryTag,
    Tag,
)
from carestory.stories.services import story_text_clean, story_title_clean

_S = Story.Status


@dataclass(frozen=True, kw_only=True)
class StoryEdit:
    """What a moderator typed on the workbench for the public version, and the ``version`` of
    the story it was typed over (a save on a story changed since is a conflict). The workbench
    builds it once; the decisions that save it take it whole: ``story_moderate_save``,
    ``decisions.story_publish``, ``questions.story_question_ask`` and
    ``safeguarding.story_safeguarding_hold``. The text is normalised and checked there
    (``_story_edit_fields``), not here. ``note`` is the moderator's private note, kept with
    the decision when not empty."""

    version: int
    title: str
    body: str
    criticality: int | None
    tags: tuple[tuple[Tag, int], ...]
    services: tuple[Service, ...]
    note: str = ""


def _clean_title(title: str) -> str:
    """The public title: the story's title rule (stories/services), in the moderator's words."""
    return story_title_clean(title, missing=_("Enter the public title"))


def _clean_body(body: str) -> str:
    """The public text: the story's text rule (stories/services), words not counted."""
    return story_text_clean(body, missing=_("Enter the public text"), public=True)


def _check_services(services: Sequence[Service]) -> None:
    if not services:
        raise ValidationError({"service_codes": _("A story must be about at least one service")})


def _check_criticality(criticality: int | None) -> None:
    if criticality is not None and criticality not in Criticality.values:
        raise ValidationError({"criticality": _("Choose the story's criticality from the list")})


def _story_edit_fields(
    *, story: Story, edit: StoryEdit, problems: Problems | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields to update and the audit diff (field names and values of public metadata; the
    text itself is not copied into the audit log).

    What a moderator's edit may be is checked here, once: a title and a text within their
    limits, one service at least, a criticality from the list, a note within its limit.
    ``problems`` holds the calling decision's own checks: every message is raised together,
    keyed by the workbench form's field names."""
    problems = Problems() if problems is None else problems
    title = problems.check(lambda: _clean_title(edit.title), default="")
    body = problems.check(lambda: _clean_body(edit.body), default="")
    problems.check(lambda: _check_services(edit.services), default=None)
    problems.check(lambda: _check_criticality(edit.criticality), default=None)
    problems.check(lambda: clean_note(edit.note), default="")
    problems.raise_any()
    criticality = edit.criticality
    fields: dict[str, Any] = {"title": title, "body": body, "criticality": criticality}
    changes: dict[str, Any] = {}
    if title != story.title:
        changes["title"] = "edited"
    if body != story.body:
        changes["body"] = "edited"
    if criticality != story.criticality:
        changes["criticality"] = [story.criticality, criticality]
    old_services = sorted(story.services.values_list("code", flat=True))
    new_services = sorted({s.code for s in edit.services})
    if old_services != new_services:
        changes["services"] = [old_services, new_services]
    old_tags = sorted(f"{t}:{p}" for t, p in story.story_tags.values_list("tag__slug", "polarity"))
    new_tags = sorted({f"{t.slug}:{p}" for t, p in edit.tags})
    if old_tags != new_tags:
        changes["tags"] = [old_tags, new_tags]
    return fields, changes


def _record_revision(story: Story, moderator: User, fields: dict[str, Any]) -> None:
    if fields["title"] != story.title or fields["body"] != story.body:
        StoryRevision.objects.create(
            story=story,
            kind=StoryRevision.Kind.MODERATOR_EDIT,
            editor=moderator,
            title=fields["title"],
            body=fields["body"],
        )


def _replace_services(story: Story, services: Sequence[Service]) -> None:
    StoryService.objects.filter(story=story).delete()
    StoryService.objects.bulk_create(
        [StoryService(story=story, service=s) for s in dict.fromkeys(services)]
    )


def _replace_links(
    story: Story, tags: Sequence[tuple[Tag, int]], services: Sequence[Service]
) -> None:
    _replace_services(story, services)
    StoryTag.objects.filter(story=story).delete()
    StoryTag.objects.bulk_create(
        [StoryTag(story=story, tag=t, polarity=p) for t, p in dict.fromkeys(tags)]
    )


def _after_edit(story: Story, moderator: User, fields: dict[str, Any], edit: StoryEdit) -> None:
    """After the story's row is updated: the revision, the tags and services, the note."""
    _record_revision(story, moderator, fields)
    _replace_links(story, edit.tags, edit.services)
    moderator_note_add(story=story, moderator=moderator, text=edit.note)


@transaction.atomic
def story_moderate_save(*, story: Story, moderator: User, edit: StoryEdit) -> None:
    """Save the moderator's edits without deciding; saving refreshes the moderator's claim."""
    require_may_decide(story, moderator, *DECIDABLE)
    fields, changes = _story_edit_fields(story=story, edit=edit)
    story_update_keeping_state(story=story, version=edit.version, **fields)
    _after_edit(story, moderator, fields, edit)
    audit_record(actor=moderator, action="story.edit", obj=story, changes=changes)
    _claim(story, moderator, timezone.now())


def _splice(text: str, start: int, end: int, replacement: str) -> str:
    before, after = text[:start], text[end:]
    if not replacement and before.endswith(" ") and (not after or after[0] in " .,;:!?)\n"):
        before = before[:-1]  # removing a word should not leave a double space behind
    return before + replacement + after


def suggestion_gone_message() -> str:
    """What a moderator is told when a suggestion is no longer made on the saved text (the
    workbench says it too when the suggestion's key cannot be read)."""
    return _("That suggestion no longer applies to the saved text")


@transaction.atomic
def story_suggestion_apply(
    *, story: Story, moderator: User, version: int, field: str, start: int, end: int, label: str
) -> str:
    """Apply one automated suggestion to the saved public text, at its span.

    The suggestion is found again on the saved text of ``version``: if the story has changed
    since, it is a conflict; if the checks no longer make that suggestion, a validation error.
    Returns the field's new text.
    """
    require_may_decide(story, moderator, *DECIDABLE)
    if version != story.version:
        raise ConflictError(story.version)
    analysis = analyse_safely(title=story.title, body=story.body, public_id=story.public_id)
    if analysis is None:
        raise ValidationError(
            _("The automatic checks are not available just now: make the change by hand")
        )
    finding = next(
        (
            f
            for f in analysis.findings
            if (f.field, f.start, f.end, f.label) == (field, start, end, label)
            and f.suggestion is not None
        ),
        None,
    )
    if finding is None or finding.suggestion is None:
        raise ValidationError(suggestion_gone_message())
    title, body = story.title, story.body
    if field == "title":
        title = _clean_title(_splice(title, start, end, finding.suggestion))
    else:
        body = _clean_body(_splice(body, start, end, finding.suggestion))
    story_update_keeping_state(story=story, version=version, title=title, body=body)
    _record_revision(story, moderator, {"title": title, "body": body})
    audit_record(
        actor=moderator,
        action="story.suggestion_apply",
        obj=story,
        changes={field: "edited", "label": label, "rule": finding.rule},
    )
    _claim(story, moderator, timezone.now())
    return title if field == "title" else body


@transaction.atomic
def story_services_change(
    *, story: Story, moderator: User, version: int, services: Sequence[Service]
) -> None:
    """Link the story to different services (before publication)."""
    require_moderator(moderator)
    require_status(story, *SERVICES_CHANGEABLE)
    require_can_change_services(story, moderator)
    _check_services(services)
    old = sorted(story.services.values_list("code", flat=True))
    new = sorted({s.code for s in services})
    story_update_keeping_state(story=story, version=version)
    _replace_services(story, services)
    audit_record(
        actor=moderator, action="story.services", obj=story, changes={"services": [old, new]}
    )
