"""Moderation decisions. One function per transition: check the state, change it under the
version lock, record the audit event and queue the emails, all in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.locking import ConflictError, update_if_version
from carestory.lib.text import normalise_text
from carestory.moderation.models import ModeratorNote, RejectionReason, StoryRevision
from carestory.outbox.services import email_enqueue, job_enqueue
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import Story, StoryService, StoryTag, Tag


def _require_moderator(user: User) -> None:
    if not (user.is_authenticated and user.is_moderator and user.is_active):
        raise PermissionError("Moderators only")


def _link(name: str, *args: str) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _require_status(obj: Story | Response | AuthorReply, *allowed: str) -> None:
    if obj.status not in allowed:
        raise ConflictError(obj.version)


def moderator_note_add(*, story: Story, moderator: User, text: str) -> ModeratorNote | None:
    _require_moderator(moderator)
    text = normalise_text(text)
    if not text:
        return None
    note = ModeratorNote.objects.create(story=story, moderator=moderator, text=text)
    audit_record(actor=moderator, action="story.note", obj=story, changes={"note_id": note.pk})
    return note


def _story_edit_fields(
    *,
    story: Story,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields to update and the audit diff (field names and values of public metadata; the
    text itself is not copied into the audit log)."""
    title = normalise_text(title)
    body = normalise_text(body)
    if not title or not body:
        raise ValidationError(_("The story needs a title and text"))
    if not services:
        raise ValidationError(_("A story must be about at least one service"))
    fields: dict[str, Any] = {"title": title, "body": body, "criticality": criticality}
    changes: dict[str, Any] = {}
    if title != story.title:
        changes["title"] = "edited"
    if body != story.body:
        changes["body"] = "edited"
    if criticality != story.criticality:
        changes["criticality"] = [story.criticality, criticality]
    old_services = sorted(story.services.values_list("code", flat=True))
    new_services = sorted({s.code for s in services})
    if old_services != new_services:
        changes["services"] = [old_services, new_services]
    old_tags = sorted(f"{t}:{p}" for t, p in story.story_tags.values_list("tag__slug", "polarity"))
    new_tags = sorted({f"{t.slug}:{p}" for t, p in tags})
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


def _replace_links(
    story: Story, tags: Sequence[tuple[Tag, int]], services: Sequence[Service]
) -> None:
    StoryService.objects.filter(story=story).delete()
    StoryService.objects.bulk_create(
        [StoryService(story=story, service=s) for s in dict.fromkeys(services)]
    )
    StoryTag.objects.filter(story=story).delete()
    StoryTag.objects.bulk_create(
        [StoryTag(story=story, tag=t, polarity=p) for t, p in dict.fromkeys(tags)]
    )


@transaction.atomic
def story_moderate_save(
    *,
    story: Story,
    moderator: User,
    version: int,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str = "",
) -> None:
    """Save the moderator's edits without deciding."""
    _require_moderator(moderator)
    _require_status(story, Story.Status.IN_MODERATION)
    fields, changes = _story_edit_fields(
        story=story, title=title, body=body, criticality=criticality, tags=tags, services=services
    )
    update_if_version(
        Story, pk=story.pk, expected_version=version, from_status=story.status, **fields
    )
    _record_revision(story, moderator, fields)
    _replace_links(story, tags, services)
    moderator_note_add(story=story, moderator=moderator, text=note)
    audit_record(actor=moderator, action="story.edit", obj=story, changes=changes)


@transaction.atomic
def story_publish(
    *,
    story: Story,
    moderator: User,
    version: int,
    title: str,
    body: str,
    criticality: int | None,
    tags: Sequence[tuple[Tag, int]],
    services: Sequence[Service],
    note: str = "",
) -> None:
    _require_moderator(moderator)
    _require_status(story, Story.Status.IN_MODERATION)
    if criticality is None:
        raise ValidationError(_("Rate the story's criticality before publishing"))
    fields, changes = _story_edit_fields(
        story=story, title=title, body=body, criticality=criticality, tags=tags, services=services
    )
    now = timezone.now()
    update_if_version(
        Story,
        pk=story.pk,
        expected_version=version,
        from_status=Story.Status.IN_MODERATION,
        status=Story.Status.PUBLISHED,
        published_at=now,
        moderated_by=moderator,
        **fields,
    )
    _record_revision(story, moderator, fields)
    _replace_links(story, tags, services)
    moderator_note_add(story=story, moderator=moderator, text=note)
    changes["status"] = [story.status, Story.Status.PUBLISHED]
    audit_record(actor=moderator, action="story.publish", obj=story, changes=changes)
    guard_args = {"story_id": story.pk}
    email_enqueue(
        dedupe_key=f"story-published:{story.pk}:author",
        to=story.author.email,
        template="story_published",
        context={"story_title": fields["title"], "link": _link("stories:detail", story.public_id)},
        guard="story_published",
        guard_args=guard_args,
    )
    job_enqueue(
        name="alerts.story_published",
        payload={"story_id": story.pk},
        dedupe_key=f"alerts.story_published:{story.pk}",
        guard="story_published",
        guard_args=guard_args,
    )


@transaction.atomic
def story_reject(
    *, story: Story, moderator: User, version: int, reason: str, message: str, note: str = ""
) -> None:
    _require_moderator(moderator)
    _require_status(story, Story.Status.IN_MODERATION)
    if reason not in RejectionReason.values:
        raise ValidationError(_("Choose a reason for not publishing"))
    message = normalise_text(message)
    update_if_version(
        Story,
        pk=story.pk,
        expected_version=version,
        from_status=Story.Status.IN_MODERATION,
        status=Story.Status.REJECTED,
        rejected_at=timezone.now(),
        rejection_reason=reason,
        moderated_by=moderator,
    )
    moderator_note_add(story=story, moderator=moderator, text=note)
    audit_record(
        actor=moderator,
        action="story.reject",
        obj=story,
        changes={"status": [story.status, Story.Status.REJECTED]},
        reason=reason,
    )
    email_enqueue(
        dedupe_key=f"story-rejected:{story.pk}",
        to=story.author.email,
        template="story_rejected",
        context={
            "story_title": story.original_title,
            "reason": RejectionReason(reason).label,
            "message": message,
            "my_stories_link": _link("stories:my_story", story.public_id),
        },
    )


@transaction.atomic
def response_publish(*, response: Response, moderator: User, version: int, body: str) -> None:
    _require_moderator(moderator)
    _require_status(response, ModerationStatus.IN_MODERATION)
    body = normalise_text(body)
    if not body:
        raise ValidationError(_("The response needs some text"))
    update_if_version(
        Response,
        pk=response.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        body=body,
        status=ModerationStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    audit_record(
        actor=moderator,
        action="response.publish",
        obj=response,
        changes={"body": "edited"} if body != response.body else {},
    )
    story = response.story
    email_enqueue(
        dedupe_key=f"response-published:{response.pk}:author",
        to=story.author.email,
        template="response_published",
        context={
            "story_title": story.title,
            "organisation": response.subscription.name,
            "link": _link("stories:detail", story.public_id) + f"#response-{response.pk}",
        },
        guard="response_published",
        guard_args={"response_id": response.pk},
    )


@transaction.atomic
def response_reject(*, response: Response, moderator: User, version: int, reason: str) -> None:
    _require_moderator(moderator)
    _require_status(response, ModerationStatus.IN_MODERATION)
    reason = normalise_text(reason)
    if not reason:
        raise ValidationError(_("Explain to the responder why it was not published"))
    update_if_version(
        Response,
        pk=response.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        status=ModerationStatus.REJECTED,
        rejection_reason=reason,
    )
    audit_record(actor=moderator, action="response.reject", obj=response, reason=reason)
    email_enqueue(
        dedupe_key=f"response-rejected:{response.pk}",
        to=response.responder.email,
        template="response_rejected",
        context={
            "story_title": response.story.title,
            "reason": reason,
            "link": _link("stories:detail", response.story.public_id),
        },
    )


@transaction.atomic
def reply_publish(*, reply: AuthorReply, moderator: User, version: int, body: str) -> None:
    _require_moderator(moderator)
    _require_status(reply, ModerationStatus.IN_MODERATION)
    body = normalise_text(body)
    if not body:
        raise ValidationError(_("The reply needs some text"))
    update_if_version(
        AuthorReply,
        pk=reply.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        body=body,
        status=ModerationStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    audit_record(
        actor=moderator,
        action="reply.publish",
        obj=reply,
        object_type="authorreply",
        changes={"body": "edited"} if body != reply.body else {},
    )
    response = reply.response
    email_enqueue(
        dedupe_key=f"reply-published:{reply.pk}:responder",
        to=response.responder.email,
        template="reply_published",
        context={
            "story_title": response.story.title,
            "link": _link("stories:detail", response.story.public_id) + f"#reply-{reply.pk}",
        },
        guard="reply_published",
        guard_args={"reply_id": reply.pk},
    )


@transaction.atomic
def reply_reject(*, reply: AuthorReply, moderator: User, version: int, reason: str) -> None:
    _require_moderator(moderator)
    _require_status(reply, ModerationStatus.IN_MODERATION)
    reason = normalise_text(reason)
    if not reason:
        raise ValidationError(_("Explain to the author why it was not published"))
    update_if_version(
        AuthorReply,
        pk=reply.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        status=ModerationStatus.REJECTED,
        rejection_reason=reason,
    )
    audit_record(
        actor=moderator, action="reply.reject", obj=reply, object_type="authorreply", reason=reason
    )
    email_enqueue(
        dedupe_key=f"reply-rejected:{reply.pk}",
        to=reply.author.email,
        template="reply_rejected",
        context={
            "story_title": reply.response.story.title,
            "reason": reason,
            "link": _link("stories:my_story", reply.response.story.public_id),
        },
    )
