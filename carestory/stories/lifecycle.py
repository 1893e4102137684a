"""The story lifecycle: every state, every transition, who may make it, and the one function
through which every status change goes (``story_transition``).

Each line below is one transition, ``from --audit action--> to``, with who may make it and the
use case that makes it (stories/services.py, the modules of moderation/services/)::

    awaiting_verification --story.verify--> in_moderation
        the author: the emailed link (story_verify), or "My stories" when signed in with a
        verified address (story_confirm_signed_in)
    in_moderation --story.publish--> published
        a moderator (story_publish)
    in_moderation --story.approve--> provider_review
        a moderator, when one of the story's services needs the provider's review and the
        provider has not had one (story_publish)
    in_moderation --story.reject--> rejected
        a moderator (story_reject)
    in_moderation --story.question_ask--> awaiting_author
        a moderator (story_question_ask)
    in_moderation --story.safeguarding_hold--> held
        a moderator: safeguarding level 2 (story_safeguarding_hold)
    awaiting_author --story.question_answer--> in_moderation
        the author, by the emailed single-use link (story_question_answer)
    awaiting_author --story.question_cancel--> in_moderation
        a moderator (story_question_cancel)
    held --story.publish--> published
        a senior moderator (story_publish)
    held --story.approve--> provider_review
        a senior moderator, when the provider has not had its review (story_publish)
    held --story.reject--> rejected
        a senior moderator (story_reject)
    provider_review --story.provider_go_ahead--> published
        an administrator of a subscription covering one of the services
        (provider_review_go_ahead)
    provider_review --story.provider_review_request--> held
        an administrator of a subscription covering one of the services
        (provider_review_request)
    provider_review --story.provider_review_timeout--> published
        nobody: 72 hours without an answer (the worker, provider_reviews_publish_due)
    (every other state) --story.withdraw--> withdrawn
        the author, at any time (story_withdraw)

Nothing else moves a story: ``published`` and ``rejected`` only go to ``withdrawn``, and
``withdrawn`` is final. A story starts in ``awaiting_verification``, or in ``in_moderation``
when told by an author signed in with that verified address (story_submit). Editing the text,
tags or services without a decision is not a transition (lib/locking.update_if_version with
``from_status``, which also bumps the version). Every path to ``published`` goes through
``moderation/services/publication._publish_now``, which queues the author's email and the
staff alerts.

Who may decide (publish, reject, hold, ask the author, edit the text) is ``can_decide``: in
``in_moderation`` any moderator, in ``held`` senior moderators only, in any other state nobody.
Views and services both ask it; claims use ``decidable_statuses``. While a story waits for
the author (``awaiting_author``) nobody edits its text or decides, but any moderator may stop
waiting (story_question_cancel) or put its services right (``can_change_services``: the
author's answer is about the text, and a wrong service would send the story to the wrong
provider). The author may change their own words (title and text) until a moderator
decides, that is while the story is in ``AUTHOR_EDITABLE`` (``can_author_edit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.errors import ConflictError
from carestory.lib.locking import update_if_version
from carestory.stories.models import Story

_S = Story.Status

#: (from, audit action, to): the diagram above as data. Keep the two in step (a test does).
TRANSITIONS: Final[frozenset[tuple[str, str, str]]] = frozenset(
    {
        (_S.AWAITING_VERIFICATION, "story.verify", _S.IN_MODERATION),
        (_S.IN_MODERATION, "story.publish", _S.PUBLISHED),
        (_S.IN_MODERATION, "story.approve", _S.PROVIDER_REVIEW),
        (_S.IN_MODERATION, "story.reject", _S.REJECTED),
        (_S.IN_MODERATION, "story.question_ask", _S.AWAITING_AUTHOR),
        (_S.IN_MODERATION, "story.safeguarding_hold", _S.HELD),
        (_S.AWAITING_AUTHOR, "story.question_answer", _S.IN_MODERATION),
        (_S.AWAITING_AUTHOR, "story.question_cancel", _S.IN_MODERATION),
        (_S.HELD, "story.publish", _S.PUBLISHED),
        (_S.HELD, "story.approve", _S.PROVIDER_REVIEW),
        (_S.HELD, "story.reject", _S.REJECTED),
        (_S.PROVIDER_REVIEW, "story.provider_go_ahead", _S.PUBLISHED),
        (_S.PROVIDER_REVIEW, "story.provider_review_request", _S.HELD),
        (_S.PROVIDER_REVIEW, "story.provider_review_timeout", _S.PUBLISHED),
        # Withdrawn from any state, including one added later.
        *((s, "story.withdraw", _S.WITHDRAWN) for s in _S if s != _S.WITHDRAWN),
    }
)


def starts_from(action: str) -> tuple[str, ...]:
    """The states from which the diagram lets ``action`` start (in ``Story.Status`` order), for
    a use case that checks the state before it does its other work."""
    return tuple(s for s in _S if any(t[0] == s and t[1] == action for t in TRANSITIONS))


class TransitionRefused(ConflictError):
    """The diagram has no such transition from the story's state. A ConflictError, so callers
    and views treat it as "the story has moved on" (someone decided, or it was withdrawn)."""

    def __init__(self, source: str, action: str, target: str) -> None:
        super().__init__(None)
        self.transition = (source, action, target)

    def __str__(self) -> str:
        source, action, target = self.transition
        return f"No transition {source} --{action}--> {target}"


def story_transition(
    *,
    story: Story,
    to: str,
    action: str,
    actor: User | None,
    version: int | None = None,
    fields: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> None:
    """Move ``story`` from the state it was read in (``story.status``) to ``to`` by the
    transition ``action``, in the caller's transaction:

    1. refuse (TransitionRefused, nothing written) unless the diagram has
       ``story.status --action--> to``;
    2. one conditional UPDATE (lib/locking.update_if_version)::

           UPDATE stories_story SET status = to, version = version + 1, <fields>
           WHERE id = story.id AND status = story.status [AND version = version]

       so the state checked is the one in the database, not the caller's copy; ConflictError
       when the row has moved on, and exactly one of two racing transitions wins;
    3. record the audit event ``action`` with ``{"status": [from, to], **changes}``.

    ``version`` is the one the user saw (a form's hidden field). A caller that has none (an
    emailed link, the worker, a withdrawal) passes None: the state alone is the condition, so
    a concurrent edit that only bumped the version does not stop it, and a concurrent
    transition does. The caller's copy is not changed.
    """
    source = story.status
    if (source, action, to) not in TRANSITIONS:
        raise TransitionRefused(source, action, to)
    update_if_version(
        Story,
        pk=story.pk,
        expected_version=version,
        from_status=source,
        status=to,
        **(fields or {}),
    )
    audit_record(
        actor=actor,
        action=action,
        obj=story,
        changes={"status": [source, to], **(changes or {})},
        reason=reason,
    )


def story_update_keeping_state(*, story: Story, version: int, **fields: Any) -> None:
    """Change ``fields`` of ``story`` without a transition (an edit): the state it was read in
    is kept and checked in the database with ``version``, so an edit never lands on a story
    that has moved on (ConflictError). Not audited here: the caller records its own event."""
    if "status" in fields:
        raise TypeError("A change of state is a transition: use story_transition")
    update_if_version(
        Story, pk=story.pk, expected_version=version, from_status=story.status, **fields
    )


#: The states in which someone may decide a story and edit its text (who: ``can_decide``).
DECIDABLE: Final[tuple[str, ...]] = (_S.IN_MODERATION, _S.HELD)


def decidable_statuses(user: User) -> tuple[str, ...]:
    """The states in which ``user`` may decide a story: ``in_moderation`` for any active
    moderator, and ``held`` too for a senior moderator; none for anyone else."""
    if not (user.is_authenticated and user.moderates):
        return ()
    if user.is_senior_moderator:
        return DECIDABLE
    return (_S.IN_MODERATION,)


def can_decide(story: Story, user: User) -> bool:
    """Whether ``user`` may publish, reject, hold, question or edit ``story`` now (as read)."""
    return story.status in decidable_statuses(user)


#: The states in which the author may still change their own title and text.
AUTHOR_EDITABLE: Final[tuple[str, ...]] = (_S.AWAITING_VERIFICATION, _S.IN_MODERATION)


def can_author_edit(story: Story) -> bool:
    """Whether the story's author may change its title and text now (as read): until a
    moderator has decided. Whose story it is, is the caller's check."""
    return story.status in AUTHOR_EDITABLE


#: The states in which a story's services may still change (who: ``can_change_services``).
SERVICES_CHANGEABLE: Final[tuple[str, ...]] = (*DECIDABLE, _S.AWAITING_AUTHOR)


def can_change_services(story: Story, user: User) -> bool:
    """Whether ``user`` may change which services ``story`` is about now (as read): whoever
    may decide it, and any moderator while it waits for the author."""
    if story.status not in SERVICES_CHANGEABLE:
        return False
    if story.status == _S.AWAITING_AUTHOR:
        return user.is_authenticated and user.moderates
    return can_decide(story, user)
