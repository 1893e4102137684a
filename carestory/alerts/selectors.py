"""Which alerts there are, and which a person may open (None: the view answers 404)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from carestory.accounts.models import User
from carestory.alerts.models import Alert
from carestory.services.models import Service
from carestory.subscriptions.models import Membership, Subscription
from carestory.subscriptions.selectors import memberships_covering


def alerted_memberships() -> QuerySet[Membership]:
    """Members who may be alerted: active, of a subscription in its term with the full level."""
    return Membership.objects.in_term().filter(subscription__level=Subscription.Level.FULL)


def alerts_candidates(*, services: Iterable[Service], frequency: str) -> list[Alert]:
    """Switched-on alerts of ``frequency`` of every member (any role) who may be alerted (see
    ``alerted_memberships``) whose subscription covers one of the services:
    ``matching.alert_matches`` then decides."""
    covering = memberships_covering(services=services, roles=Membership.Role.values)
    by_id = {m.pk: m for m in covering if m.subscription.has_full_level}
    alerts = list(
        Alert.objects.filter(membership_id__in=list(by_id), is_active=True, frequency=frequency)
        .prefetch_related("services", "tags")
        .order_by("id")
    )
    for alert in alerts:
        alert.membership = by_id[alert.membership_id]
    return alerts


def membership_for_alerts(*, user: User, membership_id: int) -> Membership | None:
    """The membership whose alerts ``user`` may manage (their own, or any member's of a
    subscription they administer), or None."""
    membership = (
        Membership.objects.filter(pk=membership_id).select_related("user", "subscription").first()
    )
    if membership is None or not can_manage_member(user=user, membership=membership):
        return None
    return membership


def alert_for(*, user: User, alert_id: int) -> Alert | None:
    """The alert, if ``user`` may manage it (see ``membership_for_alerts``), or None."""
    alert = (
        Alert.objects.filter(pk=alert_id)
        .select_related("membership__user", "membership__subscription")
        .prefetch_related("services", "tags")
        .first()
    )
    if alert is None or not can_manage_member(user=user, membership=alert.membership):
        return None
    return alert


def alerts_of(*, memberships: Iterable[Membership]) -> dict[int, list[Alert]]:
    """Each membership's alerts, by membership id."""
    found: dict[int, list[Alert]] = {m.pk: [] for m in memberships}
    for alert in (
        Alert.objects.filter(membership_id__in=list(found))
        .prefetch_related("services", "tags")
        .order_by("id")
    ):
        found[alert.membership_id].append(alert)
    return found


def can_manage_member(*, user: User, membership: Membership) -> bool:
    """Whether ``user`` may manage what belongs to ``membership`` (its alerts): it is their own
    membership, or they administer its subscription; either while the subscription may still
    be read (its term and READ_GRACE_DAYS after), as the organisation's other pages."""
    if not (user.is_authenticated and user.is_active):
        return False
    mine = Membership.objects.readable().filter(user_id=user.pk)
    return (
        mine.filter(pk=membership.pk).exists()
        or mine.filter(
            subscription_id=membership.subscription_id, role=Membership.Role.ADMINISTRATOR
        ).exists()
    )


def members_administered_by(*, user: User) -> list[Membership]:
    """The members (any state) of every subscription the user actively administers."""
    if not user.is_authenticated:
        return []
    administered = (
        Membership.objects.readable()
        .filter(user_id=user.pk, role=Membership.Role.ADMINISTRATOR)
        .values("subscription_id")
    )
    return list(
        Membership.objects.filter(subscription_id__in=administered)
        .select_related("user", "subscription")
        .order_by("subscription__name", "user__full_name", "user__email", "pk")
    )
