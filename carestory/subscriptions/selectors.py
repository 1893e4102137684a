"""Who may see and answer what: scope checks in one place.

A subscription's term decides what its members may do (``models.in_term_q``/``readable_q``):
responding and being alerted need it in term (``Membership.objects.in_term()``; alerts also
need the full level, ``Subscription.has_full_level``), reading needs it readable (the term and
30 days after).
The administrator's pages open a subscription through ``subscription_administered``."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from carestory.accounts.models import User
from carestory.lib.tokens import hash_token
from carestory.services.models import Service
from carestory.subscriptions.models import Invitation, Membership, MemberUpload, Subscription


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
        Membership.objects.in_term()
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
    return list(
        Membership.objects.readable()
        .filter(user=user)
        .select_related("subscription")
        .order_by("subscription__name", "pk")
    )


def membership_covering(
    *, user: User, services: Iterable[Service], responders_only: bool = False
) -> Membership | None:
    """The user's active membership whose subscription covers one of the services, if any."""
    if not user.is_authenticated:
        return None
    ids = ancestor_ids_of(services)
    qs = Membership.objects.in_term().filter(user=user, subscription__scope__in=ids)
    if responders_only:
        qs = qs.can_respond()
    return qs.select_related("subscription").order_by("-role").first()


def scope_services_for(*, user: User) -> list[Service]:
    """The roots of the subtrees the user's active memberships cover (what a scope needs of
    each: its id, path, code and name; by id, no sort of hundreds of roots by name)."""
    return list(
        Service.objects.filter(
            subscriptions__memberships__in=Membership.objects.readable().filter(user=user)
        )
        .only("id", "path", "code", "name")
        .order_by("id")
        .distinct()
    )


def memberships_covering(*, services: Iterable[Service], roles: Iterable[str]) -> list[Membership]:
    """Active members with one of these roles whose subscription is in term and whose scope
    covers one of the services."""
    ids = ancestor_ids_of(services)
    return list(
        Membership.objects.in_term()
        .filter(role__in=list(roles), subscription__scope__in=ids)
        .select_related("user", "subscription")
        .distinct()
        .order_by("user_id", "subscription_id")
    )


# The administrator's pages ---------------------------------------------------------------------


def may_administer(*, user: User, subscription: Subscription) -> bool:
    """Site staff (the internal admin's users), or an active administrator of this subscription
    while it may still be read. The one test the pages and the use cases ask."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return (
        Membership.objects.readable()
        .filter(
            user_id=user.pk, subscription_id=subscription.pk, role=Membership.Role.ADMINISTRATOR
        )
        .exists()
    )


def subscription_administered(*, user: User, code: str) -> Subscription | None:
    """The subscription with this code if ``user`` may administer it, else None (404)."""
    subscription = Subscription.objects.filter(code=code).first()
    if subscription is None or not may_administer(user=user, subscription=subscription):
        return None
    return subscription


def active_membership(*, user: User, chosen: object) -> Membership | None:
    """The membership the pages act on: the one whose subscription id is ``chosen`` (the
    session's choice) if it is still readable, else the first (by organisation name)."""
    memberships = memberships_for(user=user)
    for membership in memberships:
        if str(membership.subscription_id) == str(chosen):
            return membership
    return memberships[0] if memberships else None


def members_of(*, subscription: Subscription) -> list[Membership]:
    """Every member (frozen ones too) with their account and profile, by name."""
    return list(
        Membership.objects.filter(subscription=subscription)
        .select_related("user", "user__staff_profile")
        .order_by("user__full_name", "user__email", "pk")
    )


def member_of(*, subscription: Subscription, membership_id: int) -> Membership | None:
    return (
        Membership.objects.filter(subscription=subscription, pk=membership_id)
        .select_related("user", "subscription")
        .first()
    )


def invitations_pending(*, subscription: Subscription) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            subscription=subscription,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("email", "pk")
    )


def invitation_of(*, subscription: Subscription, invitation_id: int) -> Invitation | None:
    """One of this subscription's invitations (any state), or None: another's is not found."""
    return (
        Invitation.objects.filter(pk=invitation_id, subscription=subscription)
        .select_related("subscription")
        .first()
    )


def invitation_for_token(*, raw: str) -> Invitation | None:
    """The invitation this link names, in any state (the page says which), or None."""
    return (
        Invitation.objects.filter(token_hash=hash_token(raw)).select_related("subscription").first()
    )


def member_upload_for(*, subscription: Subscription, upload_id: int) -> MemberUpload | None:
    return MemberUpload.objects.filter(subscription=subscription, pk=upload_id).first()


def frozen_since_sign_in(user: User) -> bool:
    """Whether one of the user's memberships was frozen after they signed in: their session
    ends (``accounts/middleware``). After signing in again they stay, with what their other
    memberships allow."""
    frozen = Membership.objects.filter(user_id=user.pk, is_active=False, frozen_at__isnull=False)
    if user.last_login is not None:
        frozen = frozen.filter(frozen_at__gt=user.last_login)
    return frozen.exists()
