"""The alert pages (a member's own, an administrator's for any member, 404 for anyone else) and
the one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from carestory.accounts.models import User
from carestory.alerts.models import Alert
from carestory.alerts.services import alerts_story_published
from carestory.alerts.tests.helpers import alert_for, membership_of
from carestory.audit.models import AuditEvent
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import SmtpSink
from conftest import World
from tests.factories import StoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("alerts_cleared")]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _urls(alert: Alert) -> list[str]:
    return [
        reverse("alerts:member", args=[alert.membership_id]),
        reverse("alerts:new", args=[alert.membership_id]),
        reverse("alerts:edit", args=[alert.pk]),
        reverse("alerts:delete", args=[alert.pk]),
    ]


def test_a_member_manages_their_own_alerts(world: World) -> None:
    client = _client(world.member)
    membership = membership_of(world.member, world.subscription)
    page = client.get(reverse("alerts:list"))
    assert page.status_code == 200 and "You have no alerts here" in page.content.decode()
    new = reverse("alerts:new", args=[membership.pk])
    refused = client.post(new, {"services": "RYY-W1", "frequency": "daily"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Choose at least one thing to be told about" in body
    assert "Hilltop Ward (RYY-W1) is outside Riverside NHS Trust&#x27;s scope" in body
    assert not Alert.objects.exists()
    done = client.post(
        new,
        {
            "events": ["stories", "changes"],
            "services": "rxx01",
            "min_criticality": "3",
            "tags": ["communication"],
            "author_roles": ["carer"],
            "frequency": "weekly",
        },
    )
    assert done.status_code == 302
    alert = Alert.objects.get()
    assert (alert.membership, alert.events, alert.frequency) == (
        membership,
        ["stories", "changes"],
        "weekly",
    )
    assert [s.code for s in alert.services.all()] == ["RXX01"]
    edit = client.post(
        reverse("alerts:edit", args=[alert.pk]), {"events": ["replies"], "frequency": "immediate"}
    )
    assert edit.status_code == 302
    alert.refresh_from_db()
    assert (alert.events, alert.frequency, alert.services.count()) == (["replies"], "immediate", 0)
    assert "Authors" in client.get(reverse("alerts:list")).content.decode()
    assert client.post(reverse("alerts:delete", args=[alert.pk])).status_code == 302
    assert not Alert.objects.exists()
    mine = AuditEvent.objects.filter(object_type="alert", actor=world.member)
    actions = mine.values_list("action", flat=True)
    assert sorted(actions) == ["alert.change", "alert.create", "alert.delete"]


def test_an_administrator_manages_any_member_of_their_subscription(world: World) -> None:
    alert = alert_for(world.member, world.subscription)
    admin = _client(world.admin)
    assert (
        f"/staff/alerts/members/{alert.membership_id}/"
        in admin.get(reverse("alerts:list")).content.decode()
    )
    for url in _urls(alert):
        assert admin.get(url).status_code == 200, url
    admin.post(
        reverse("alerts:edit", args=[alert.pk]), {"events": ["responses"], "frequency": "daily"}
    )
    alert.refresh_from_db()
    assert (alert.events, alert.frequency) == (["responses"], "daily")
    event = AuditEvent.objects.get(action="alert.change")
    assert event.actor == world.admin


def test_anyone_else_gets_404_on_every_alert_url(world: World) -> None:
    member_alert = alert_for(world.member, world.subscription)
    admin_alert = alert_for(world.admin, world.subscription)
    cases = [
        (world.other_responder, member_alert),  # another subscription
        (world.responder, member_alert),  # same subscription, not an administrator
        (world.member, admin_alert),
        (world.reader, member_alert),  # not staff at all
    ]
    for user, alert in cases:
        client = _client(user)
        for url in _urls(alert):
            assert client.get(url).status_code == 404, (user.email, url)
            post = client.post(url, {"events": ["replies"], "frequency": "daily"})
            assert post.status_code == 404
    assert Alert.objects.count() == 2
    assert all(a.events == ["stories"] and a.frequency == "immediate" for a in Alert.objects.all())
    anonymous = Client().get(reverse("alerts:edit", args=[member_alert.pk]))
    assert anonymous.status_code == 302


def _unsubscribe_url(world: World, smtp_sink: SmtpSink) -> tuple[Alert, str]:
    alert = alert_for(world.member, world.subscription)
    alerts_story_published(story=StoryFactory(published=True, services=[world.ward]))
    outbox_drain()
    [email] = smtp_sink.find(to=world.member.email)
    assert email.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    header = email.header("List-Unsubscribe")
    assert header.startswith("<http") and header.endswith(">")
    url = header[1:-1]
    assert url in email.text  # the same link in the body, for people
    # Signed when sent: the database holds no working link.
    for row in OutboxMessage.objects.values_list("context", "headers"):
        assert url.rsplit("/", 2)[-2] not in str(row)
    return alert, url.removeprefix("http://127.0.0.1:8000")


def test_one_click_unsubscribe(world: World, smtp_sink: SmtpSink) -> None:
    alert, path = _unsubscribe_url(world, smtp_sink)
    other = alert_for(world.member, world.subscription, frequency="daily")
    client = Client(enforce_csrf_checks=True)  # no session, no CSRF token: as a mail client
    page = client.get(path)
    assert page.status_code == 200 and "Stop this alert" in page.content.decode()
    alert.refresh_from_db()
    assert alert.is_active  # a mail scanner following the link changes nothing
    done = client.post(path, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")
    assert done.status_code == 200
    alert.refresh_from_db()
    other.refresh_from_db()
    assert not alert.is_active and other.is_active  # that alert only
    event = AuditEvent.objects.get(action="alert.unsubscribe")
    assert (event.object_id, event.actor) == (str(alert.pk), None)
    assert client.post(path).status_code == 200  # again: still off, nothing more recorded
    assert AuditEvent.objects.filter(action="alert.unsubscribe").count() == 1
    story = StoryFactory(published=True, services=[world.ward])
    assert alerts_story_published(story=story) == 0


def test_a_bad_signature_is_404(world: World, smtp_sink: SmtpSink) -> None:
    alert, path = _unsubscribe_url(world, smtp_sink)
    value, signature = path.rstrip("/").rsplit("/", 1)[-1].split(":")
    forged_id = f"{alert.pk + 1}.{alert.membership_id}"
    client = Client(enforce_csrf_checks=True)
    for bad in (f"{value}:{signature[:-2]}xx", f"{forged_id}:{signature}", "nonsense"):
        url = reverse("alerts:unsubscribe", args=[bad])
        assert client.post(url).status_code == 404
        assert client.get(url).status_code == 404
    alert.refresh_from_db()
    assert alert.is_active
