"""The moderators' decisions on staff responses and author replies: publish (the moderator
may edit the public text) or reject, with the reason emailed to whoever wrote it.

The responders' and authors' own steps (post, edit, delete, the release after the edit window)
are in ``services.py``. The moderators' side is a module of its own because it is one reader's
concern (what the moderation screens call) and because ``services.py`` with it would pass 600
lines. A moderator's publication of a response and the fast track both go through
``services.response_mark_published``. The checks are the ones every moderation decision
makes (``moderation/services/checks.py``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.errors import ConflictError, NotAllowed
from carestory.lib.locking import update_if_version
from carestory.lib.text import clean_text
from carestory.lib.urls import absolute_url
from carestory.moderation.services.checks import require_moderator
from carestory.outbox.services import email_enqueue, job_enqueue
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.responses.services import _clean_body, response_mark_published
from carestory.stories.models import Story

REASON_MAX_LENGTH = 4000


def _clean_public_text(body: str, *, missing: str) -> str:
    """The public text a moderator publishes (edited or not): needed, and as long as a
    response may be."""
    return _clean_body(
        body, missing=missing, too_long=_("The public text must be %(limit)s characters or fewer")
    )


def awaits_decision(item: Response | AuthorReply) -> bool:
    """Whether a moderator may still publish or reject ``item`` (as read): the one state from
    which both decisions start. The conditional update checks it again in the database."""
    return item.status == ModerationStatus.IN_MODERATION


def _require_awaits_decision(item: Response | AuthorReply) -> None:
    if not awaits_decision(item):
        raise ConflictError(item.version)


@transaction.atomic
def response_publish(*, response: Response, moderator: User, version: int, body: str) -> None:
    require_moderator(moderator)
    _require_awaits_decision(response)
    body = _clean_public_text(body, missing=_("The response needs some text"))
    response_mark_published(
        response=response,
        version=version,
        from_status=ModerationStatus.IN_MODERATION,
        body=body,
        actor=moderator,
    )


def _item_reject(
    *,
    item: Response | AuthorReply,
    moderator: User,
    version: int,
    reason: str,
    missing_reason: str,
    action: str,
    recipient: User,
    template: str,
    link: str,
) -> None:
    """Reject a staff response or an author reply, audit it and explain why to its writer."""
    require_moderator(moderator)
    _require_awaits_decision(item)
    reason = clean_text(
        reason,
        field="reason",
        limit=REASON_MAX_LENGTH,
        missing=missing_reason,
        too_long=_("The reason must be %(limit)s characters or fewer"),
    )
    update_if_version(
        type(item),
        pk=item.pk,
        expected_version=version,
        from_status=ModerationStatus.IN_MODERATION,
        status=ModerationStatus.REJECTED,
        rejection_reason=reason,
    )
    object_type = type(item).__name__.lower()
    audit_record(actor=moderator, action=action, obj=item, object_type=object_type, reason=reason)
    story = item.story if isinstance(item, Response) else item.response.story
    email_enqueue(
        dedupe_key=f"{template.replace('_', '-')}:{item.pk}",
        to=recipient.email,
        template=template,
        context={"story_title": story.title, "reason": reason, "link": link},
    )


@transaction.atomic
def response_reject(*, response: Response, moderator: User, version: int, reason: str) -> None:
    _item_reject(
        item=response,
        moderator=moderator,
        version=version,
        reason=reason,
        missing_reason=_("Explain to the responder why it was not published"),
        action="response.reject",
        recipient=response.responder,
        template="response_rejected",
        link=absolute_url("stories:detail", response.story.public_id),
    )


@transaction.atomic
def reply_publish(*, reply: AuthorReply, moderator: User, version: int, body: str) -> None:
    require_moderator(moderator)
    _require_awaits_decision(reply)
    if not Story.objects.filter(pk=reply.response.story_id, status=Story.Status.PUBLISHED).exists():
        raise NotAllowed()  # the story was withdrawn: its replies are never published
    body = _clean_public_text(body, missing=_("The reply needs some text"))
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
            "link": absolute_url(
                "stories:detail", response.story.public_id, fragment=f"reply-{reply.pk}"
            ),
        },
        guard="reply_published",
        guard_args={"reply_id": reply.pk},
    )
    job_enqueue(  # staff whose alerts ask for author replies hear of it
        name="alerts.reply_published",
        payload={"reply_id": reply.pk},
        dedupe_key=f"alerts.reply_published:{reply.pk}",
        guard="reply_published",
        guard_args={"reply_id": reply.pk},
    )


@transaction.atomic
def reply_reject(*, reply: AuthorReply, moderator: User, version: int, reason: str) -> None:
    _item_reject(
        item=reply,
        moderator=moderator,
        version=version,
        reason=reason,
        missing_reason=_("Explain to the author why it was not published"),
        action="reply.reject",
        recipient=reply.author,
        template="reply_rejected",
        link=absolute_url("stories:my_story", reply.response.story.public_id),
    )
