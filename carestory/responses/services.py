"""Staff respond to published stories; authors reply to responses.

A response is editable for RESPONSE_EDIT_WINDOW after it is sent (the responder may change or
delete it), then released: published at once if the responder is fast-tracked (see
``selectors.response_fast_track_decision``), otherwise queued for a moderator. Release is done
by an outbox job due at ``editable_until`` and, as a safety net, by ``manage.py
release_responses``; both call ``response_release``, which is idempotent. Author replies are
always moderated.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.errors import ConflictError, NotAllowed, Problems
from carestory.lib.idempotency import create_once
from carestory.lib.locking import update_if_version
from carestory.lib.text import clean_text
from carestory.lib.urls import absolute_url
from carestory.outbox.services import email_enqueue, job_enqueue
from carestory.responses.models import (
    RESPONSE_EDIT_WINDOW,
    AuthorReply,
    ModerationStatus,
    Response,
)
from carestory.responses.selectors import (
    administers_covering,
    on_behalf_membership,
    response_fast_track_decision,
    response_is_editable,
)
from carestory.stories.models import Story
from carestory.subscriptions.models import Membership, StaffProfile, Subscription
from carestory.subscriptions.selectors import membership_covering

logger = logging.getLogger(__name__)

MAX_RESPONSE_CHARS = 10_000
MAX_CHANGE_DESCRIPTION_CHARS = 2_000
RELEASE_JOB = "responses.release"
RELEASE_ATTEMPTS = 3

_Row = TypeVar("_Row", Response, AuthorReply)


class EditWindowClosed(ValidationError):
    """The response can no longer be changed or deleted: its edit window has ended."""

    def __init__(self, response: Response) -> None:
        if response.editable_until is not None:
            when = formats.time_format(timezone.localtime(response.editable_until), "H:i")
            message = _(
                "You can no longer change or delete this response: the %(minutes)s minutes for "
                "changes ended at %(time)s and it has been sent on for publication."
            ) % {"minutes": int(RESPONSE_EDIT_WINDOW.total_seconds() // 60), "time": when}
        else:
            message = _(
                "You can no longer change or delete this response: it has been sent on for "
                "publication."
            )
        super().__init__(message, code="edit_window_closed")
        self.text: str = message


def _clean_body(body: str, *, missing: str, too_long: str) -> str:
    """The text of a response or a reply (``body`` on their forms): needed, and at most
    MAX_RESPONSE_CHARS; ``too_long`` says ``%(limit)s``."""
    return clean_text(
        body, field="body", limit=MAX_RESPONSE_CHARS, too_long=too_long, missing=missing
    )


def _clean_response(body: str, change: str, change_description: str) -> tuple[str, str]:
    """A response's text and change description as they are kept, or ValidationError with
    every problem at once, keyed by the response form's field names."""
    problems = Problems()
    body = problems.check(
        lambda: _clean_body(
            body,
            missing=_("Enter your response"),
            too_long=_("Your response must be %(limit)s characters or fewer"),
        ),
        default="",
    )
    change_description = problems.check(
        lambda: _clean_change(change, change_description), default=""
    )
    problems.raise_any()
    return body, change_description


def _form_reused(what: str) -> ValidationError:
    """The same form (idempotency key) was sent again for something else: tell the person,
    change nothing."""
    return ValidationError(
        _("This form was already used to send a %(what)s. Reload the page and try again.")
        % {"what": what},
        code="form_reused",
    )


def _made_for(existing: _Row, what: str, **expected: object) -> _Row:
    """The row a form sent twice already made (``create_once``'s ``same``): answered with
    itself when it has the ``expected`` values (the same writer, the same story or response),
    refused with ``_form_reused`` when the key was used for something else."""
    if any(getattr(existing, field) != value for field, value in expected.items()):
        raise _form_reused(what)
    return existing


def _clean_change(change: str, change_description: str) -> str:
    """The change description to store ("" when there is no change claim)."""
    if change not in Response.Change.values:
        raise ValidationError({"change": _("Choose whether your response describes a change")})
    if change == Response.Change.NONE:
        return ""
    return clean_text(
        change_description,
        field="change_description",
        limit=MAX_CHANGE_DESCRIPTION_CHARS,
        too_long=_("Describe the change in %(limit)s characters or fewer"),
        missing=_("Describe the change you are planning or have made"),
    )


def _shown_as(person: User) -> dict[str, str]:
    """What a response shows publicly about the person it is from, as it is now: their name,
    job title, department and "what I do" (never their phone or email)."""
    profile = StaffProfile.objects.filter(user_id=person.pk).first()
    return {
        "responder_name": person.full_name or _("A member of staff"),
        "responder_job_title": person.job_title,
        "responder_department": profile.department if profile else "",
        "responder_about": profile.what_i_do if profile else "",
    }


def _on_behalf_of(*, story: Story, admin: User, member_id: int) -> Membership:
    """The membership ``admin`` responds for: refused with NotAllowed (404) unless ``admin``
    administers a subscription covering the story, with a message on ``on_behalf_of`` (400)
    unless the member may respond for it (``selectors.on_behalf_membership``)."""
    if not administers_covering(user=admin, story=story):
        raise NotAllowed()
    membership = on_behalf_membership(admin=admin, story=story, member_id=member_id)
    if membership is None:
        raise ValidationError(
            {
                "on_behalf_of": _(
                    "You can respond on behalf of a responder or administrator of your "
                    "organisation who is not frozen: choose another member, or yourself"
                )
            }
        )
    return membership


def _tell_member(response: Response, *, member: User, admin: User) -> None:
    """Email the member that a response was posted in their name (dropped at send time if it
    was deleted meanwhile: ``jobs.response_still_there``)."""
    email_enqueue(
        dedupe_key=f"response-on-behalf:{response.pk}:member",
        to=member.email,
        template="response_on_behalf",
        context={
            "story_title": response.story.title,
            "organisation": response.subscription.name,
            "administrator": admin.full_name or _("An administrator"),
            "link": absolute_url(
                "stories:detail", response.story.public_id, fragment=f"response-{response.pk}"
            ),
        },
        guard="response_still_there",
        guard_args={"response_id": response.pk},
    )


def response_post(
    *,
    story: Story,
    responder: User,
    body: str,
    change: str,
    change_description: str,
    idempotency_key: uuid.UUID,
    on_behalf_of_id: int | None = None,
) -> Response:
    """A responder in scope answers a published story, in their own name or (an
    administrator of a covering subscription) on behalf of another member of it who may
    respond (``on_behalf_of_id``): the response then shows that member, the audit event
    names them, and they are emailed. The edit window stays the administrator's.

    The response is editable for RESPONSE_EDIT_WINDOW; a job due when the window ends
    releases it (``response_release``).
    """
    if story.status != Story.Status.PUBLISHED:
        raise NotAllowed()
    membership = membership_covering(
        user=responder, services=story.services.all(), responders_only=True
    )
    if membership is None:
        raise NotAllowed()
    subscription: Subscription = membership.subscription
    member: User | None = None
    if on_behalf_of_id is not None and on_behalf_of_id != responder.pk:
        behalf = _on_behalf_of(story=story, admin=responder, member_id=on_behalf_of_id)
        member, subscription = behalf.user, behalf.subscription
    body, change_description = _clean_response(body, change, change_description)

    def create() -> Response:
        response = Response.objects.create(
            story=story,
            responder=responder,
            on_behalf_of=member,
            subscription=subscription,
            **_shown_as(member or responder),
            original_body=body,
            body=body,
            change=change,
            change_description=change_description,
            idempotency_key=idempotency_key,
            status=ModerationStatus.EDITABLE,
            editable_until=timezone.now() + RESPONSE_EDIT_WINDOW,
        )
        changes: dict[str, object] = {"story": story.public_id, "change": change}
        if member is not None:
            changes["on_behalf_of"] = member.pk
        audit_record(actor=responder, action="response.submit", obj=response, changes=changes)
        if member is not None:
            _tell_member(response, member=member, admin=responder)
        job_enqueue(
            name=RELEASE_JOB,
            payload={"response_id": response.pk},
            dedupe_key=f"{RELEASE_JOB}:{response.pk}",
            run_at=response.editable_until,
        )
        return response

    return create_once(
        Response,
        idempotency_key=idempotency_key,
        create=create,
        same=lambda existing: _made_for(
            existing,
            _("response"),
            responder_id=responder.pk,
            story_id=story.pk,
            on_behalf_of_id=member.pk if member else None,
        ),
    )


def reply_post(
    *, response: Response, author: User, body: str, idempotency_key: uuid.UUID
) -> AuthorReply:
    """The story's author replies to a published response; a reply is always moderated (it
    is never fast-tracked and has no edit window)."""
    story = response.story
    if (
        story.author_id != author.pk
        or story.status != Story.Status.PUBLISHED
        or response.status != ModerationStatus.PUBLISHED
    ):
        raise NotAllowed()
    body = _clean_body(
        body,
        missing=_("Enter your reply"),
        too_long=_("Your reply must be %(limit)s characters or fewer"),
    )
    return create_once(
        AuthorReply,
        idempotency_key=idempotency_key,
        create=lambda: AuthorReply.objects.create(
            response=response,
            author=author,
            original_body=body,
            body=body,
            idempotency_key=idempotency_key,
        ),
        same=lambda existing: _made_for(
            existing, _("reply"), author_id=author.pk, response_id=response.pk
        ),
    )


def responder_still_covers(*, response: Response) -> bool:
    """The responder still has a responder's membership covering the story: a revoked or
    frozen member can no longer change, delete or be fast-tracked with their response."""
    responder = response.responder
    if not responder.is_active:
        return False
    services = response.story.services.all()
    return membership_covering(user=responder, services=services, responders_only=True) is not None


# The edit window -----------------------------------------------------------------------------


def _require_own_editable(*, response: Response, responder: User, now: datetime) -> None:
    if response.responder_id != responder.pk or not responder_still_covers(response=response):
        raise NotAllowed()
    if not response_is_editable(response=response, now=now):
        raise EditWindowClosed(response)


def _update_while_editable(response: Response, *, version: int, **fields: object) -> None:
    """The responder's conditional update of their response (version and state checked, the
    row locked on PostgreSQL). When it fails: EditWindowClosed if the window closed meanwhile
    (the release got there first), NotAllowed if it is gone, else the ConflictError (changed
    elsewhere, in another tab)."""
    try:
        update_if_version(
            Response,
            pk=response.pk,
            expected_version=version,
            from_status=ModerationStatus.EDITABLE,
            **fields,
        )
    except ConflictError as exc:
        current = Response.objects.filter(pk=response.pk).first()
        if current is None:
            raise NotAllowed() from exc
        if current.status != ModerationStatus.EDITABLE:
            raise EditWindowClosed(current) from exc
        raise


@transaction.atomic
def response_edit(
    *,
    response: Response,
    responder: User,
    version: int,
    body: str,
    change: str,
    change_description: str,
    now: datetime | None = None,
) -> Response:
    """The responder changes their response within its edit window.

    Raises NotAllowed (not theirs), EditWindowClosed (too late), ValidationError (bad input)
    or ConflictError (changed in another tab since ``version`` was read); nothing changes then.
    The responder's new text replaces their original: no one else has seen it yet.
    """
    now = now or timezone.now()
    _require_own_editable(response=response, responder=responder, now=now)
    body, change_description = _clean_response(body, change, change_description)
    changes: dict[str, object] = {}
    if body != response.original_body:
        changes["body"] = "edited"
    if change != response.change:
        changes["change"] = [response.change, change]
    if change_description != response.change_description:
        changes["change_description"] = "edited"
    _update_while_editable(
        response,
        version=version,
        original_body=body,
        body=body,
        change=change,
        change_description=change_description,
    )
    audit_record(actor=responder, action="response.edit", obj=response, changes=changes)
    response.refresh_from_db()
    return response


@transaction.atomic
def response_delete(
    *, response: Response, responder: User, version: int, now: datetime | None = None
) -> None:
    """The responder deletes their response within its edit window: it is removed entirely
    (the audit log keeps only that it existed and was deleted, not its text)."""
    now = now or timezone.now()
    _require_own_editable(response=response, responder=responder, now=now)
    # Claim the row first, so a release racing with the delete either finishes first or
    # finds nothing.
    _update_while_editable(response, version=version)
    audit_record(
        actor=responder,
        action="response.delete",
        obj=response,
        changes={"story": response.story.public_id, "status": [response.status, "deleted"]},
    )
    Response.objects.filter(pk=response.pk).delete()


# Publication and release ----------------------------------------------------------------------


@transaction.atomic
def response_mark_published(
    *,
    response: Response,
    version: int,
    from_status: str,
    body: str,
    actor: User | None,
    fast_tracked: bool = False,
    reason: str = "",
) -> None:
    """Publish a response: the state change, the audit event and the author's email.

    Shared by the fast track (``actor=None``, the system) and the moderator's decision
    (``responses/moderation.response_publish`` calls it after its own checks). Callers check
    who may publish; this checks the state (``from_status`` and ``version``, ConflictError
    otherwise). ``body`` is the public text: when it differs from the responder's
    ``original_body`` the response is marked ``edited_by_moderator``.
    """
    if not Story.objects.filter(pk=response.story_id, status=Story.Status.PUBLISHED).exists():
        raise NotAllowed()  # the story was withdrawn (or unpublished): nothing to answer
    update_if_version(
        Response,
        pk=response.pk,
        expected_version=version,
        from_status=from_status,
        body=body,
        status=ModerationStatus.PUBLISHED,
        published_at=timezone.now(),
        fast_tracked=fast_tracked,
        edited_by_moderator=body != response.original_body,
    )
    changes: dict[str, object] = {"status": [from_status, ModerationStatus.PUBLISHED]}
    if body != response.body:
        changes["body"] = "edited"
    if fast_tracked:
        changes["fast_tracked"] = True
    audit_record(
        actor=actor, action="response.publish", obj=response, changes=changes, reason=reason
    )
    story = response.story
    email_enqueue(
        dedupe_key=f"response-published:{response.pk}:author",
        to=story.author.email,
        template="response_published",
        context={
            "story_title": story.title,
            "organisation": response.subscription.name,
            "link": absolute_url(
                "stories:detail", story.public_id, fragment=f"response-{response.pk}"
            ),
        },
        guard="response_published",
        guard_args={"response_id": response.pk},
    )
    job_enqueue(  # staff whose alerts ask for responses (and change claims) hear of it
        name="alerts.response_published",
        payload={"response_id": response.pk},
        dedupe_key=f"alerts.response_published:{response.pk}",
        guard="response_published",
        guard_args={"response_id": response.pk},
    )


def response_release(*, response_id: int, now: datetime | None = None) -> str | None:
    """End the edit window of one response: publish it (fast track) or queue it for a
    moderator. Returns the new status, or None when there was nothing to do (not found,
    already released, or its window has not ended yet). Idempotent.

    The decision is taken now, on fresh data. A responder's edit racing with the release is
    caught by the version column; the release then reads the response again.
    """
    now = now or timezone.now()
    for _attempt in range(RELEASE_ATTEMPTS):
        response = (
            Response.objects.select_related("story__author", "subscription", "responder")
            .filter(pk=response_id)
            .first()
        )
        if response is None or response.status != ModerationStatus.EDITABLE:
            return None
        if response.editable_until is not None and response.editable_until > now:
            return None
        decision = response_fast_track_decision(
            responder=response.responder, story=response.story, change=response.change
        )
        fast_track = (
            decision.fast_track
            and response.story.status == Story.Status.PUBLISHED
            and responder_still_covers(response=response)
        )
        try:
            with transaction.atomic():
                if fast_track:
                    response_mark_published(
                        response=response,
                        version=response.version,
                        from_status=ModerationStatus.EDITABLE,
                        body=response.body,
                        actor=None,
                        fast_tracked=True,
                        reason="fast track",
                    )
                    return ModerationStatus.PUBLISHED
                update_if_version(
                    Response,
                    pk=response.pk,
                    expected_version=response.version,
                    from_status=ModerationStatus.EDITABLE,
                    status=ModerationStatus.IN_MODERATION,
                )
                audit_record(
                    actor=None,
                    action="response.release",
                    obj=response,
                    changes={"status": [response.status, ModerationStatus.IN_MODERATION]},
                    reason=f"edit window ended; moderated: {decision.reason}",
                )
                return ModerationStatus.IN_MODERATION
        except ConflictError:
            continue  # changed meanwhile (an edit, or another release): look again
    logger.warning("response release gave up after conflicts id=%s", response_id)
    return None


def responses_release_due(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Release every editable response whose window has ended (the periodic safety net
    behind the outbox job; ``manage.py release_responses``). Returns how many were released.

    Each response is released in its own transaction; one that fails is logged and skipped
    (the next run tries it again), so it cannot hold up the others.
    """
    now = now or timezone.now()
    released = 0
    skipped: set[int] = set()
    while True:
        due = list(
            Response.objects.filter(status=ModerationStatus.EDITABLE)
            .filter(Q(editable_until__lte=now) | Q(editable_until__isnull=True))
            .exclude(pk__in=skipped)
            .order_by("editable_until", "id")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not due:
            return released
        for pk in due:
            try:
                with transaction.atomic():
                    status = response_release(response_id=pk, now=now)
            except Exception as exc:
                # Like the outbox: the id and the error class only, never text or addresses.
                logger.error("response release failed id=%s error=%s", pk, type(exc).__name__)
                status = None
            if status is None:
                skipped.add(pk)
            else:
                released += 1
