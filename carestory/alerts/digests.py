"""Daily and weekly digests: for each digest alert, what it matched in the last whole period,
in one email per alert per period (the dedupe key holds the period, so a second run, or two
workers at once, add nothing).

The queued email holds ids only. When it is sent, ``digest_context`` makes its content from what
is true then (the outbox's send-time refresh): a story withdrawn or unpublished since it was
queued is left out, and an email with nothing left is cancelled. Stories are grouped by
service, the group with the most critical story first, and most critical first within it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import Truncator

from carestory.alerts.matching import alert_matches, story_facts
from carestory.alerts.models import Alert
from carestory.alerts.selectors import alerted_memberships
from carestory.alerts.services import (
    criticality_label,
    response_events,
    unsubscribe_headers,
    unsubscribe_link,
)
from carestory.lib.urls import absolute_url
from carestory.outbox.services import email_enqueue
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import Story
from carestory.workspace.services import stories_heard_by

DIGEST_REFRESH = "alerts.digest"
EXCERPT_WORDS = 60
_Event = Alert.Event
_Frequency = Alert.Frequency
_PUBLISHED = Story.Status.PUBLISHED


def digest_period(frequency: str, now: datetime) -> tuple[datetime, datetime]:
    """The last whole period before ``now`` in the site's time zone: yesterday for a daily
    digest, Monday to Monday of last week for a weekly one."""
    zone = timezone.get_current_timezone()
    end_day = timezone.localtime(now, zone).date()
    days = 1
    if frequency == _Frequency.WEEKLY:
        end_day -= timedelta(days=end_day.weekday())
        days = 7
    end = datetime.combine(end_day, time.min, tzinfo=zone)
    start = datetime.combine(end_day - timedelta(days=days), time.min, tzinfo=zone)
    return start, end


def _digest_items(alert: Alert, start: datetime, end: datetime) -> dict[str, list[int]]:
    """Ids of what ``alert`` matched among what was published in [start, end) in its scope."""
    scope = Service.objects.subtrees_of(list(alert.membership.subscription.scope.all()))
    period = {"published_at__gte": start, "published_at__lt": end}
    user_id = alert.membership.user_id
    found: dict[str, list[int]] = {"story_ids": [], "response_ids": [], "reply_ids": []}
    if _Event.STORIES in alert.events:
        stories = (
            Story.objects.published()
            .filter(services__in=scope, **period)
            .distinct()
            .prefetch_related("services", "story_tags")
        )
        found["story_ids"] = [
            s.pk for s in stories if alert_matches(alert, story_facts(s), [_Event.STORIES])
        ]
    if {_Event.RESPONSES, _Event.CHANGES} & set(alert.events):
        responses = (
            Response.objects.published()
            .filter(story__status=_PUBLISHED, story__services__in=scope, **period)
            .exclude(responder_id=user_id)
            .distinct()
            .select_related("story")
            .prefetch_related("story__services", "story__story_tags")
        )
        found["response_ids"] = [
            r.pk
            for r in responses
            if alert_matches(alert, story_facts(r.story), response_events(r))
        ]
    if _Event.REPLIES in alert.events:
        replies = (
            AuthorReply.objects.published()
            .filter(
                response__status=ModerationStatus.PUBLISHED,
                response__story__status=_PUBLISHED,
                response__story__services__in=scope,
                **period,
            )
            .exclude(response__responder_id=user_id)
            .distinct()
            .select_related("response__story")
            .prefetch_related("response__story__services", "response__story__story_tags")
        )
        found["reply_ids"] = [
            r.pk
            for r in replies
            if alert_matches(alert, story_facts(r.response.story), [_Event.REPLIES])
        ]
    return found


def _digest_queue(alert: Alert, start: datetime, end: datetime) -> bool:
    items = _digest_items(alert, start, end)
    if not any(items.values()):
        return False
    membership = alert.membership
    queued = email_enqueue(
        dedupe_key=f"alert-digest:{alert.pk}:{start:%Y%m%d}",
        to=membership.user.email,
        template="alert_digest",
        context={
            "alert_id": alert.pk,
            "frequency": alert.frequency,
            "period_start": start,
            "period_end": end,
            "organisation": membership.subscription.name,
            "unsubscribe_link": unsubscribe_link(alert),
            **items,
        },
        refresh=DIGEST_REFRESH,
        headers=unsubscribe_headers(alert),
    )
    if queued is not None:  # the workspace's "heard", as for an immediate alert
        stories_heard_by(story_ids=items["story_ids"], subscription_id=membership.subscription_id)
    return queued is not None


def alerts_digests_send(*, now: datetime | None = None) -> int:
    """Queue the digest of every daily and weekly alert for its last whole period; returns the
    number queued. Idempotent: run twice (or on two workers), one email per alert and period."""
    now = now or timezone.now()
    queued = 0
    for frequency in (_Frequency.DAILY, _Frequency.WEEKLY):
        start, end = digest_period(frequency, now)
        due = (
            Alert.objects.filter(
                frequency=frequency,
                is_active=True,
                membership__in=alerted_memberships(),
            )
            .filter(Q(digested_until__isnull=True) | Q(digested_until__lt=end))
            .select_related("membership__user", "membership__subscription")
            .prefetch_related("services", "tags")
        )
        for alert in due:
            with transaction.atomic():
                queued += _digest_queue(alert, start, end)
                Alert.objects.filter(pk=alert.pk).update(digested_until=end)
    return queued


# At send time ---------------------------------------------------------------------------------


def _where_ids(alert: Alert) -> set[int]:
    chosen = {s.pk for s in alert.services.all()}
    return chosen or set(alert.membership.subscription.scope.values_list("pk", flat=True))


def _story_groups(alert: Alert, story_ids: list[int]) -> list[dict[str, Any]]:
    """Stories still published, by service (the first of the story's services, by name, inside
    the alert's services or scope), the group with the most critical story first."""
    where = _where_ids(alert)
    groups: dict[int, dict[str, Any]] = {}
    stories = Story.objects.published().filter(pk__in=story_ids).prefetch_related("services")
    for story in stories:
        services = sorted(story.services.all(), key=lambda s: (s.name, s.pk))
        place = next((s for s in services if where & set(s.ancestor_ids())), services[0])
        group = groups.setdefault(place.pk, {"service": place.name, "stories": []})
        group["stories"].append(
            {
                "title": story.title,
                "excerpt": Truncator(story.body).words(EXCERPT_WORDS),
                "screen_name": story.screen_name,
                "criticality": criticality_label(story),
                "rank": -1 if story.criticality is None else story.criticality,
                "published_at": story.published_at,
                "link": absolute_url("stories:detail", story.public_id),
            }
        )
    for group in groups.values():
        group["stories"].sort(key=lambda s: (-s["rank"], -s["published_at"].timestamp()))
    ordered = sorted(groups.values(), key=lambda g: (-g["stories"][0]["rank"], g["service"]))
    for group in ordered:
        for item in group["stories"]:
            del item["rank"], item["published_at"]
    return ordered


def digest_context(context: dict[str, Any]) -> dict[str, Any] | None:
    """The digest's content as it is sent (see the module docstring); None cancels it: the
    alert was switched off or deleted, the member frozen, or nothing is still published."""
    alert = (
        Alert.objects.filter(
            pk=context["alert_id"], is_active=True, membership__in=alerted_memberships()
        )
        .select_related("membership__subscription")
        .prefetch_related("services")
        .first()
    )
    if alert is None:
        return None
    groups = _story_groups(alert, context["story_ids"])
    responses = [
        {
            "story_title": r.story.title,
            "organisation": r.subscription.name,
            "responder_name": r.responder_name,
            "change": str(r.get_change_display()) if r.change != Response.Change.NONE else "",
            "link": absolute_url("stories:detail", r.story.public_id, fragment=f"response-{r.pk}"),
        }
        for r in Response.objects.published()
        .filter(pk__in=context["response_ids"], story__status=_PUBLISHED)
        .select_related("story", "subscription")
    ]
    replies = [
        {
            "story_title": r.response.story.title,
            "link": absolute_url(
                "stories:detail", r.response.story.public_id, fragment=f"reply-{r.pk}"
            ),
        }
        for r in AuthorReply.objects.published()
        .filter(
            pk__in=context["reply_ids"],
            response__status=ModerationStatus.PUBLISHED,
            response__story__status=_PUBLISHED,
        )
        .select_related("response__story")
    ]
    if not (groups or responses or replies):
        return None
    return {**context, "groups": groups, "responses": responses, "replies": replies}
