"""Who may see and answer what: a subscription's scope covers a subtree of the service tree, and
its active members, by role, act on the stories about any service in it.

The personas (conftest.World): Riverside's subscription is scoped to the trust RXX, above the
hospital RXX01 and its Ward 1; Hilltop's to the trust RYY and its ward. Riverside has a
responder, an administrator and a member; Hilltop a responder."""

from __future__ import annotations

import pytest

from carestory.subscriptions.models import Membership, Subscription
from carestory.subscriptions.selectors import (
    admin_scope_links,
    ancestor_ids_of,
    is_covered,
    is_member_covering,
    membership_covering,
    memberships_covering,
    memberships_for,
    scope_services_for,
    subscriptions_covering,
)
from carestory.subscriptions.tests.helpers import alerted
from conftest import World
from tests.factories import MembershipFactory, ServiceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


Role = Membership.Role


def _freeze(user_email: str) -> None:
    Membership.objects.filter(user__email=user_email).update(is_active=False)


# --- The tree ------------------------------------------------------------------------------------


def test_ancestor_ids_are_the_services_and_everything_above_them(world: World) -> None:
    assert ancestor_ids_of([world.ward]) == {world.ward.pk, world.hospital.pk, world.trust.pk}
    assert ancestor_ids_of([world.hospital]) == {world.hospital.pk, world.trust.pk}
    assert ancestor_ids_of([world.trust]) == {world.trust.pk}


def test_ancestor_ids_of_several_services_are_their_union(world: World) -> None:
    assert ancestor_ids_of([world.ward, world.other_ward, world.closed]) == {
        world.ward.pk,
        world.hospital.pk,
        world.trust.pk,
        world.other_ward.pk,
        world.other_trust.pk,
        world.closed.pk,
    }
    assert ancestor_ids_of([]) == set()


# --- Subscriptions -------------------------------------------------------------------------------


def test_a_subscription_covers_every_service_below_its_scope(world: World) -> None:
    for service in (world.trust, world.hospital, world.ward, world.closed):
        assert subscriptions_covering(services=[service]) == [world.subscription], service
    assert subscriptions_covering(services=[world.other_ward]) == [world.other_subscription]


def test_a_scope_below_a_service_does_not_cover_it(world: World) -> None:
    ward_only = SubscriptionFactory(scope=[world.ward])
    assert ward_only in subscriptions_covering(services=[world.ward])
    assert ward_only not in subscriptions_covering(services=[world.hospital])
    assert ward_only not in subscriptions_covering(services=[world.trust])


def test_a_story_about_services_in_two_trusts_is_covered_by_both_subscriptions_once(
    world: World,
) -> None:
    world.subscription.scope.add(world.hospital)  # scope rows overlapping: still one result
    covering = subscriptions_covering(services=[world.ward, world.hospital, world.other_ward])
    assert sorted(covering, key=lambda s: s.pk) == [world.subscription, world.other_subscription]


def test_an_inactive_subscription_covers_nothing(world: World) -> None:
    assert is_covered(services=[world.ward])
    Subscription.objects.filter(pk=world.subscription.pk).update(is_active=False)
    assert subscriptions_covering(services=[world.ward]) == []
    assert not is_covered(services=[world.ward])


def test_a_member_covering_is_one_of_those_roles_in_scope_and_active(world: World) -> None:
    admins = [Role.ADMINISTRATOR]
    assert is_member_covering(user=world.admin, services=[world.ward], roles=admins)
    assert not is_member_covering(user=world.responder, services=[world.ward], roles=admins)
    assert not is_member_covering(user=world.admin, services=[world.other_ward], roles=admins)
    world.admin.is_active = False
    assert not is_member_covering(user=world.admin, services=[world.ward], roles=admins)


def test_an_administrators_scope_links_name_the_root_covering_the_service(world: World) -> None:
    links = admin_scope_links(user=world.admin, service=world.ward)
    assert links == [(world.subscription.pk, world.trust.pk)]
    assert admin_scope_links(user=world.responder, service=world.ward) == []


# --- One person's memberships --------------------------------------------------------------------


def test_a_responder_in_scope_is_found_with_their_subscription(world: World) -> None:
    membership = membership_covering(
        user=world.responder, services=[world.ward], responders_only=True
    )
    assert membership is not None
    assert (membership.user, membership.subscription, membership.role) == (
        world.responder,
        world.subscription,
        Role.RESPONDER,
    )


def test_nobody_is_covering_a_service_outside_their_scope(world: World) -> None:
    for user in (world.responder, world.admin, world.member):
        assert membership_covering(user=user, services=[world.other_ward]) is None
    assert membership_covering(user=world.other_responder, services=[world.ward]) is None
    assert membership_covering(user=world.reader, services=[world.ward]) is None
    assert membership_covering(user=world.moderator, services=[world.ward]) is None


def test_a_story_about_one_service_in_scope_among_others_is_covered(world: World) -> None:
    membership = membership_covering(
        user=world.other_responder, services=[world.ward, world.other_ward]
    )
    assert membership is not None and membership.subscription == world.other_subscription


@pytest.mark.parametrize(
    ("persona", "role", "may_respond"),
    [
        ("responder", Role.RESPONDER, True),
        ("admin", Role.ADMINISTRATOR, True),
        ("member", Role.MEMBER, False),
    ],
)
def test_responders_and_administrators_may_respond_and_members_may_not(
    world: World, persona: str, role: str, may_respond: bool
) -> None:
    user = getattr(world, persona)
    any_role = membership_covering(user=user, services=[world.ward])
    assert any_role is not None and any_role.role == role
    responding = membership_covering(user=user, services=[world.ward], responders_only=True)
    assert (responding is not None) is may_respond
    assert Membership.objects.filter(user=user).can_respond().exists() is may_respond


@pytest.mark.parametrize("what", ["membership", "subscription", "user"])
def test_a_frozen_membership_subscription_or_account_covers_nothing(
    world: World, what: str
) -> None:
    if what == "membership":
        _freeze(world.responder.email)
    elif what == "subscription":
        Subscription.objects.filter(pk=world.subscription.pk).update(is_active=False)
    else:
        type(world.responder).objects.filter(pk=world.responder.pk).update(is_active=False)
    world.responder.refresh_from_db()

    assert membership_covering(user=world.responder, services=[world.ward]) is None
    assert memberships_for(user=world.responder) == []
    assert scope_services_for(user=world.responder) == []
    covering = memberships_covering(services=[world.ward], roles=[Role.RESPONDER])
    assert world.responder not in [m.user for m in covering]


def test_memberships_for_lists_the_active_ones_of_that_person_only(world: World) -> None:
    second = MembershipFactory(
        user=world.responder, subscription=world.other_subscription, role=Role.MEMBER
    )
    mine = memberships_for(user=world.responder)
    assert {(m.subscription, m.role) for m in mine} == {
        (world.subscription, Role.RESPONDER),
        (world.other_subscription, Role.MEMBER),
    }
    Membership.objects.filter(pk=second.pk).update(is_active=False)
    assert [m.subscription for m in memberships_for(user=world.responder)] == [world.subscription]
    assert memberships_for(user=world.reader) == []


def test_the_scope_is_the_roots_of_the_covered_subtrees(world: World) -> None:
    assert scope_services_for(user=world.member) == [world.trust]
    MembershipFactory(user=world.member, subscription=world.other_subscription)
    world.subscription.scope.add(world.hospital)
    scope = scope_services_for(user=world.member)
    assert sorted(scope, key=lambda s: s.pk) == [world.trust, world.hospital, world.other_trust]
    assert scope_services_for(user=world.reader) == []


# --- Everyone covering some services -------------------------------------------------------------


def test_memberships_covering_filters_by_role_and_scope(world: World) -> None:
    responders = memberships_covering(services=[world.ward], roles=[Role.RESPONDER])
    assert [m.user for m in responders] == [world.responder]
    admins = memberships_covering(services=[world.hospital], roles=[Role.ADMINISTRATOR])
    assert [m.user for m in admins] == [world.admin]
    everyone = memberships_covering(services=[world.ward], roles=Role.values)
    assert {m.user for m in everyone} == {world.responder, world.admin, world.member}
    assert memberships_covering(services=[world.other_ward], roles=[Role.ADMINISTRATOR]) == []


def test_memberships_covering_lists_each_membership_once_in_a_stable_order(world: World) -> None:
    world.subscription.scope.add(world.hospital, world.ward)  # three scope rows cover the ward
    later = MembershipFactory(subscription=world.other_subscription, role=Role.RESPONDER)
    covering = memberships_covering(
        services=[world.ward, world.other_ward], roles=[Role.RESPONDER, Role.ADMINISTRATOR]
    )
    pairs = [(m.user_id, m.subscription_id) for m in covering]
    assert pairs == sorted(pairs)
    assert len(pairs) == len(set(pairs))
    assert {m.user for m in covering} == {
        world.responder,
        world.admin,
        world.other_responder,
        later.user,
    }


def test_alerts_go_to_responders_and_administrators_in_scope_not_members(world: World) -> None:
    recipients = alerted(services=[world.ward])
    assert {m.user for m in recipients} == {world.responder, world.admin}
    assert {m.user for m in alerted(services=[world.other_ward])} == {world.other_responder}


def test_a_new_department_is_covered_by_its_trusts_subscription(world: World) -> None:
    department = ServiceFactory(code="RXX01-W9", name="Ward 9", parent=world.hospital)
    assert subscriptions_covering(services=[department]) == [world.subscription]
    assert membership_covering(user=world.responder, services=[department]) is not None
    assert world.other_responder not in [m.user for m in alerted(services=[department])]
