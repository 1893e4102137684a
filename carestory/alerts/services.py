"""Who hears about what: members' alerts (create, change, delete, unsubscribe) and the emails
they cause, immediately (one per person per event) or as daily and weekly digests.

Every alert email carries only the published version of what it announces (never the author's
identity, original text, email, postcode or notes) and a one-click signed unsubscribe (RFC 8058
``List-Unsubscribe`` and ``List-Unsubscribe-Post``), scoped to one alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.alerts.matching import StoryFacts, alert_matches, story_facts
from carestory.alerts.models import Alert
from carestory.alerts.selectors import alerts_candidates, can_manage_member
from carestory.audit.services import audit_record
from carestory.lib.errors import NotAllowed, Problems, ValidationError
from carestory.lib.urls import absolute_url
from carestory.outbox.services import (
    QueuedEmail,
    email_enqueue_many,
    signed_link,
    signed_link_value,
)
from carestory.responses.models import AuthorReply, Response
from carestory.services.models import Service
from carestory.stories.models import AuthorRole, Criticality, Story, Tag
from carestory.subscriptions.models import Membership, Subscription
from carestory.workspace.services import story_heard_record

UNSUBSCRIBE_SALT = "carestory.alerts.unsubscribe"
UNSUBSCRIBE_VIEW = "alerts:unsubscribe"
MAX_ALERT_SERVICES = 50
_Event = Alert.Event
_Frequency = Alert.Frequency


# Choosing an alert ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertChoice:
    """What a person chose for an alert, as a form gives it (service codes, tag slugs)."""

    events: Sequence[str]
    service_codes: Sequence[str] = ()
    min_criticality: int | None = None
    tag_slugs: Sequence[str] = ()
    author_roles: Sequence[str] = ()
    frequency: str = _Frequency.IMMEDIATE


@dataclass(frozen=True)
class _Clean:
    events: list[str]
    services: list[Service]
    min_criticality: int | None
    tags: list[Tag]
    author_roles: list[str]
    frequency: str


def _clean_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise ValidationError({"events": _("Choose at least one thing to be told about")})
    if set(events) - set(_Event.values):
        raise ValidationError({"events": _("Choose only from the things listed")})
    return [e for e in _Event.values if e in events]


def _clean_services(codes: Sequence[str], subscription: Subscription) -> list[Service]:
    """The services named, each open or closed but inside the subscription's scope."""
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    if len(wanted) > MAX_ALERT_SERVICES:
        raise ValidationError(
            {"services": _("Choose at most %(limit)s services") % {"limit": MAX_ALERT_SERVICES}}
        )
    found = {s.code: s for s in Service.objects.filter(code__in=wanted)}
    scope_ids = set(subscription.scope.values_list("pk", flat=True))
    messages: list[str] = []
    for code in wanted:
        service = found.get(code)
        if service is None:
            messages.append(_("No service has the code %(code)s") % {"code": code})
        elif not scope_ids & set(service.ancestor_ids()):
            messages.append(
                _(
                    "%(service)s (%(code)s) is outside %(organisation)s's scope: choose "
                    "services inside it, or none for the whole scope"
                )
                % {"service": service.name, "code": code, "organisation": subscription.name}
            )
    if messages:
        raise ValidationError({"services": messages})
    return [found[code] for code in wanted]


def _clean_criticality(value: int | None) -> int | None:
    if value is not None and value not in Criticality.values:
        raise ValidationError({"min_criticality": _("Choose a criticality from the list")})
    return value


def _clean_tags(slugs: Sequence[str]) -> list[Tag]:
    tags = list(Tag.objects.filter(slug__in=list(slugs)))
    if len(tags) != len(set(slugs)):
        raise ValidationError({"tags": _("Choose only from the tags listed")})
    return tags


def _clean_roles(roles: Sequence[str]) -> list[str]:
    if set(roles) - set(AuthorRole.values):
        raise ValidationError({"author_roles": _("Choose only from the roles listed")})
    return [r for r in AuthorRole.values if r in roles]


def _clean_frequency(frequency: str) -> str:
    if frequency not in _Frequency.values:
        raise ValidationError({"frequency": _("Choose how often you want to be told")})
    return frequency


def _clean(choice: AlertChoice, subscription: Subscription) -> _Clean:
    """Every rule of an alert, every message at once, keyed by the form's field names."""
    problems = Problems()
    events: list[str] = problems.check(lambda: _clean_events(choice.events), default=[])
    services: list[Service] = problems.check(
        lambda: _clean_services(choice.service_codes, subscription), default=[]
    )
    criticality = problems.check(lambda: _clean_criticality(choice.min_criticality), None)
    tags: list[Tag] = problems.check(lambda: _clean_tags(choice.tag_slugs), default=[])
    roles: list[str] = problems.check(lambda: _clean_roles(choice.author_roles), default=[])
    frequency = problems.check(lambda: _clean_frequency(choice.frequency), default="")
    problems.raise_any()
    return _Clean(events, services, criticality, tags, roles, frequency)


def _describe(alert: Alert) -> dict[str, Any]:
    """What the audit log keeps of an alert (codes and slugs, no text)."""
    return {
        "membership": alert.membership_id,
        "events": list(alert.events),
        "services": sorted(s.code for s in alert.services.all()),
        "min_criticality": alert.min_criticality,
        "tags": sorted(t.slug for t in alert.tags.all()),
        "author_roles": list(alert.author_roles),
        "frequency": alert.frequency,
        "is_active": alert.is_active,
    }


def _require_manager(actor: User, membership: Membership) -> None:
    if not can_manage_member(user=actor, membership=membership):
        raise NotAllowed()


def _store(alert: Alert, clean: _Clean) -> None:
    alert.events = clean.events
    alert.min_criticality = clean.min_criticality
    alert.author_roles = clean.author_roles
    alert.frequency = clean.frequency
    alert.is_active = True
    alert.save()
    alert.services.set(clean.services)
    alert.tags.set(clean.tags)


@transaction.atomic
def alert_create(*, actor: User, membership: Membership, choice: AlertChoice) -> Alert:
    """A new alert for ``membership``, by the member or an administrator of its subscription."""
    _require_manager(actor, membership)
    clean = _clean(choice, membership.subscription)
    alert = Alert(membership=membership)
    _store(alert, clean)
    audit_record(actor=actor, action="alert.create", obj=alert, changes=_describe(alert))
    return alert


@transaction.atomic
def alert_update(*, actor: User, alert: Alert, choice: AlertChoice) -> Alert:
    """Change an alert (it is switched on again, if it was unsubscribed)."""
    _require_manager(actor, alert.membership)
    clean = _clean(choice, alert.membership.subscription)
    before = _describe(alert)
    _store(alert, clean)
    after = _describe(alert)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    audit_record(actor=actor, action="alert.change", obj=alert, changes=changes)
    return alert


@transaction.atomic
def alert_delete(*, actor: User, alert: Alert) -> None:
    _require_manager(actor, alert.membership)
    audit_record(actor=actor, action="alert.delete", obj=alert, changes=_describe(alert))
    alert.delete()


@transaction.atomic
def alert_default_create(*, membership: Membership, actor: User | None = None) -> Alert | None:
    """A responder's or administrator's first alert, as every one of them had before alerts
    could be chosen: new stories, immediately, the whole scope. For a new membership (the
    invitation, ``add_staff``); does nothing for a member or one who has alerts already."""
    if membership.role == Membership.Role.MEMBER or membership.alerts.exists():
        return None
    alert = Alert.objects.create(
        membership=membership, events=[_Event.STORIES], frequency=_Frequency.IMMEDIATE
    )
    audit_record(actor=actor, action="alert.create", obj=alert, changes=_describe(alert))
    return alert


# Unsubscribe ----------------------------------------------------------------------------------


def _unsubscribe_value(alert: Alert) -> str:
    # The membership too: a token names this alert of this member, nothing else.
    return f"{alert.pk}.{alert.membership_id}"


def unsubscribe_link(alert: Alert) -> dict[str, list[str]]:
    """The alert's one-click unsubscribe link, as the outbox stores it (signed when sent)."""
    return signed_link(UNSUBSCRIBE_VIEW, salt=UNSUBSCRIBE_SALT, value=_unsubscribe_value(alert))


def unsubscribe_headers(alert: Alert) -> dict[str, Any]:
    """RFC 8058: the link in ``List-Unsubscribe``, and a POST to it unsubscribes at once."""
    return {
        "List-Unsubscribe": ["<", unsubscribe_link(alert), ">"],
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def alert_for_unsubscribe(*, signed: str) -> Alert | None:
    """The alert an unsubscribe link names, or None (a bad signature, or no such alert)."""
    value = signed_link_value(signed, salt=UNSUBSCRIBE_SALT)
    if value is None:
        return None
    alert_id, _sep, membership_id = value.partition(".")
    return (
        Alert.objects.filter(pk=int(alert_id), membership_id=int(membership_id))
        .select_related("membership__subscription")
        .first()
    )


@transaction.atomic
def alert_unsubscribe(*, alert: Alert) -> bool:
    """Switch the alert off (its one-click link: no sign-in). True if it was on."""
    changed = Alert.objects.filter(pk=alert.pk, is_active=True).update(is_active=False)
    if changed:
        audit_record(
            actor=None,
            action="alert.unsubscribe",
            obj=alert,
            changes={"is_active": [True, False]},
            reason="one-click unsubscribe link",
        )
    return bool(changed)


# Immediate alerts -----------------------------------------------------------------------------


def _matched_by_person(
    alerts: Iterable[Alert], facts: StoryFacts, events: Iterable[str], *, skip_user: int | None
) -> dict[int, Alert]:
    """The first matching alert of each person (one email per person, however many match)."""
    events = list(events)
    chosen: dict[int, Alert] = {}
    for alert in alerts:
        user_id = alert.membership.user_id
        if user_id == skip_user or user_id in chosen:
            continue
        if alert_matches(alert, facts, events):
            chosen[user_id] = alert
    return chosen


def criticality_label(story: Story) -> str:
    return str(Criticality(story.criticality).label) if story.criticality is not None else ""


def story_context(story: Story, services: Sequence[Service]) -> dict[str, Any]:
    """The published version only: title, text, screen name, services, staff-only rating."""
    return {
        "story_title": story.title,
        "story_body": story.body,
        "screen_name": story.screen_name,
        "services_text": ", ".join(s.name for s in services),
        "criticality": criticality_label(story),
        "link": absolute_url("stories:detail", story.public_id),
    }


def _send_each(
    chosen: dict[int, Alert],
    *,
    key: str,
    template: str,
    context: dict[str, Any],
    guard: str,
    guard_args: dict[str, Any],
) -> int:
    """One email per person chosen, queued together (``email_enqueue_many``); the number new."""
    emails = [
        QueuedEmail(
            dedupe_key=f"{key}:{user_id}",
            to=alert.membership.user.email,
            context={
                **context,
                "organisation": alert.membership.subscription.name,
                "unsubscribe_link": unsubscribe_link(alert),
            },
            headers=unsubscribe_headers(alert),
        )
        for user_id, alert in chosen.items()
    ]
    return email_enqueue_many(template=template, emails=emails, guard=guard, guard_args=guard_args)


def alerts_story_published(*, story: Story) -> int:
    """Queue one email per person with an immediate alert matching the newly published story.

    Idempotent: each (story, person) has one dedupe key, so a re-run adds nothing. Several
    matching alerts (or subscriptions) still make one email; its unsubscribe link is the first
    alert's. Returns the number queued.
    """
    services = list(story.services.all())
    alerts = alerts_candidates(services=services, frequency=_Frequency.IMMEDIATE)
    chosen = _matched_by_person(alerts, story_facts(story), [_Event.STORIES], skip_user=None)
    queued = _send_each(
        chosen,
        key=f"staff-alert:story:{story.pk}",
        template="staff_story_published",
        context=story_context(story, services),
        guard="story_published",
        guard_args={"story_id": story.pk},
    )
    story_heard_record(story_id=story.pk, user_ids=chosen)  # the workspace's "heard"
    return queued


def response_events(response: Response) -> list[str]:
    if response.change == Response.Change.NONE:
        return [_Event.RESPONSES]
    return [_Event.RESPONSES, _Event.CHANGES]


def alerts_response_published(*, response: Response) -> int:
    """Queue one email per person with an immediate alert on responses (or, when the response
    says a change is planned or made, on change claims) matching its story; not to the
    responder who wrote it. Idempotent like ``alerts_story_published``."""
    story = response.story
    services = list(story.services.all())
    alerts = alerts_candidates(services=services, frequency=_Frequency.IMMEDIATE)
    chosen = _matched_by_person(
        alerts, story_facts(story), response_events(response), skip_user=response.responder_id
    )
    return _send_each(
        chosen,
        key=f"staff-alert:response:{response.pk}",
        template="staff_response_published",
        context={
            **story_context(story, services),
            "responding_organisation": response.subscription.name,
            "responder_name": response.responder_name,
            "response_body": response.body,
            "change": str(Response.Change(response.change).label)
            if response.change != Response.Change.NONE
            else "",
            "change_description": response.change_description,
            "link": absolute_url(
                "stories:detail", story.public_id, fragment=f"response-{response.pk}"
            ),
        },
        guard="response_published",
        guard_args={"response_id": response.pk},
    )


def alerts_reply_published(*, reply: AuthorReply) -> int:
    """Queue one email per person with an immediate alert on authors' replies matching the
    story (the responder answered is told by ``reply_publish`` itself). Idempotent."""
    response = reply.response
    story = response.story
    services = list(story.services.all())
    alerts = alerts_candidates(services=services, frequency=_Frequency.IMMEDIATE)
    chosen = _matched_by_person(
        alerts, story_facts(story), [_Event.REPLIES], skip_user=response.responder_id
    )
    return _send_each(
        chosen,
        key=f"staff-alert:reply:{reply.pk}",
        template="staff_reply_published",
        context={
            **story_context(story, services),
            "responding_organisation": response.subscription.name,
            "reply_body": reply.body,
            "link": absolute_url("stories:detail", story.public_id, fragment=f"reply-{reply.pk}"),
        },
        guard="reply_published",
        guard_args={"reply_id": reply.pk},
    )
