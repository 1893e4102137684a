"""Who may see and answer what: scope checks in one place."""

from __future__ import annotations

from collections.abc import Iterable

from carestory.accounts.models import User
from carestory.services.models import Service
from carestory.subscriptions.models import Membership, Subscription


def ancestor_ids_of(services: Iterable[Service]) -> set[int]:
    """Ids of the services and everything above them: a scope covering any of these covers."""
    ids: set[int] = set()
    for service in services:
        ids.update(service.ancestor_ids())
    return ids


def subscriptions_covering(*, services: Iterable[Service]) -> list[Subscription]:
    """Active subscriptions whose scope contains any of these services."""
    ids = ancestor_ids_of(services)
    return list(Subscription.objects.filter(is_active=True, scope__in=ids).distinct())


def is_covered(*, services: Iterable[Service]) -> bool:
    """Whether any active subscription's scope contains one of these services."""
    ids = ancestor_ids_of(services)
    return Subscription.objects.filter(is_active=True, scope__in=ids).exists()


def is_member_covering(*, user: User, services: Iterable[Service], roles: Iterable[str]) -> bool:
    """Whether the (active) user has an active membership with one of these roles whose
    subscription covers one of the services."""
    if not (user.is_authenticated and user.is_active):
        return False
    return (
        Membership.objects.active()
        .filter(user=user, role__in=list(roles), subscription__scope__in=ancestor_ids_of(services))
        .exists()
    )


def admin_scope_links(*, user: User, service: Service) -> list[tuple[int, int]]:
    """(subscription id, scope root id) for each of the user's active administrator
    subscriptions whose scope covers the service (a root is the service or an ancestor)."""
    admin_of = (
        Membership.objects.active()
        .filter(user_id=user.pk, role=Membership.Role.ADMINISTRATOR)
        .values("subscription_id")
    )
    links = Subscription.scope.through.objects.filter(
        subscription_id__in=admin_of, service_id__in=service.ancestor_ids()
    ).values_list("subscription_id", "service_id")
    return list(links)


def memberships_for(*, user: User) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.active().filter(user=user).select_related("subscription"))


def membership_covering(
    *, user: User, services: Iterable[Service], responders_only: bool = False
) -> Membership | None:
    """The user's active membership whose subscription covers one of the services, if any."""
    if not user.is_authenticated:
        return None
    ids = ancestor_ids_of(services)
    qs = Membership.objects.active().filter(user=user, subscription__scope__in=ids)
    if responders_only:
        qs = qs.can_respond()
    return qs.select_related("subscription").order_by("-role").first()


def scope_services_for(*, user: User) -> list[Service]:
    """The roots of the subtrees the user's active memberships cover."""
    return list(
        Service.objects.filter(
            subscriptions__memberships__in=Membership.objects.active().filter(user=user)
        ).distinct()
    )


def memberships_covering(*, services: Iterable[Service], roles: Iterable[str]) -> list[Membership]:
    """Active members with one of these roles whose scope covers one of the services."""
    ids = ancestor_ids_of(services)
    return list(
        Membership.objects.active()
        .filter(role__in=list(roles), subscription__scope__in=ids)
        .select_related("user", "subscription")
        .distinct()
        .order_by("user_id", "subscription_id")
    )


def alert_recipients_for(*, services: Iterable[Service]) -> list[Membership]:
    """Responders and administrators whose scope covers one of the services."""
    return memberships_covering(
        services=services,
        roles=[Membership.Role.RESPONDER, Membership.Role.ADMINISTRATOR],
    )
