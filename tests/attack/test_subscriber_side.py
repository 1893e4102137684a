"""Attacks on the subscriber side (organisations, members, invitations, bulk upload, alerts and
their unsubscribe link, the workspace, staff tags, saved searches, MFA), as an outsider and as a
malicious member, through the Django test client.

The passing tests pin attacks that held. The ``xfail(strict=True)`` tests are findings: each
reproduces a weakness and fails until it is fixed (then strict xfail turns it red, so the
marker is removed with the fix).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from carestory.alerts.digests import alerts_digests_send, digest_context
from carestory.alerts.models import Alert
from carestory.alerts.services import alerts_story_published
from carestory.audit.models import AuditEvent
from carestory.moderation.models import ModeratorNote
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_headers, outbox_render, render_email
from carestory.stories.models import Story, Tag
from carestory.subscriptions import bulk
from carestory.subscriptions.models import Invitation, Membership, MemberUpload
from carestory.workspace.models import SavedSearch, StaffTag
from conftest import World
from tests.factories import TEST_PASSWORD, StoryFactory
from tests.mfa import mfa_code, mfa_enrol

RXX = "/staff/organisations/RXX"
RYY = "/staff/organisations/RYY"


def _client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _membership(user: Any) -> Membership:
    return Membership.objects.get(user=user)


def _upload(client: Client, name: str, data: bytes, code: str = "RXX") -> Any:
    return client.post(
        f"/staff/organisations/{code}/members/upload/", {"file": SimpleUploadedFile(name, data)}
    )


_SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet '
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>First name</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Last name</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>Email</t></is></c></row>{rows}</sheetData></worksheet>'
)


def _xlsx(sheet_xml: str) -> bytes:
    """A real workbook (openpyxl) whose first sheet's XML is replaced by ``sheet_xml``."""
    from openpyxl import Workbook

    made = io.BytesIO()
    Workbook().save(made)
    source = zipfile.ZipFile(io.BytesIO(made.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            archive.writestr(info.filename, data)
    return out.getvalue()


def _invitation_link(invitation: Invitation) -> str:
    message = OutboxMessage.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    found = re.search(r"/staff/join/[^/\s\"]+/", outbox_render(message).body_text)
    assert found is not None
    return found.group(0)


def _invite(client: Client, email: str, role: str = "member") -> Invitation:
    sent = client.post(
        f"{RXX}/members/invite/",
        {
            "email": email,
            "first_name": "New",
            "last_name": "Person",
            "role": role,
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert sent.status_code == 302, sent.content
    return Invitation.objects.filter(email=email).latest("pk")


# --- Cross-organisation access and privilege escalation -------------------------------------


@pytest.mark.django_db
def test_an_administrator_reaches_nothing_of_another_organisation(world: World) -> None:
    admin = _client(world.admin)
    hilltop = _membership(world.other_responder)
    upload = MemberUpload.objects.create(
        subscription=world.other_subscription, uploaded_by=world.other_responder, rows=[]
    )
    for url in (
        f"{RYY}/members/",
        f"{RYY}/members/invite/",
        f"{RYY}/members/upload/",
        f"{RYY}/safeguarding/",
        f"{RYY}/members/{hilltop.pk}/",
        f"{RYY}/members/upload/{upload.pk}/",
        f"{RXX}/members/{hilltop.pk}/",  # the other's member id under my own code
        f"{RXX}/members/upload/{upload.pk}/",
    ):
        assert admin.get(url).status_code == 404, url
    for action in ("freeze", "unfreeze", "remove"):
        for code in ("RXX", "RYY"):
            url = f"/staff/organisations/{code}/members/{hilltop.pk}/{action}/"
            assert admin.post(url).status_code == 404, url
    assert admin.post(f"{RXX}/members/{hilltop.pk}/", {"role": "member"}).status_code == 404
    assert admin.post(f"{RXX}/members/upload/{upload.pk}/").status_code == 404
    hilltop.refresh_from_db()
    upload.refresh_from_db()
    assert hilltop.is_active and hilltop.role == Membership.Role.RESPONDER
    assert upload.confirmed_at is None
    # The switcher will not make a subscription I am not in the active one.
    switched = admin.post("/staff/switch/", {"subscription": world.other_subscription.pk})
    assert switched.status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["member", "responder"])
def test_a_member_cannot_make_themselves_administrator(world: World, persona: str) -> None:
    user = getattr(world, persona)
    client = _client(user)
    mine = _membership(user)
    assert client.post(f"{RXX}/members/{mine.pk}/", {"role": "administrator"}).status_code == 404
    assert client.get(f"{RXX}/members/").status_code == 404
    assert client.get("/staff/organisation/").status_code == 404
    invited = client.post(
        f"{RXX}/members/invite/",
        {"email": "alt@example.org", "first_name": "A", "last_name": "B", "role": "administrator"},
    )
    assert invited.status_code == 404
    mine.refresh_from_db()
    assert mine.role == persona
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_the_last_administrator_cannot_be_demoted_frozen_or_removed(world: World) -> None:
    admin = _client(world.admin)
    mine = _membership(world.admin)
    refused = [
        admin.post(f"{RXX}/members/{mine.pk}/", {"role": "member"}),
        admin.post(f"{RXX}/members/{mine.pk}/freeze/"),
        admin.post(f"{RXX}/members/{mine.pk}/remove/"),
    ]
    for response in refused:
        assert response.status_code == 400
        assert "must keep at least one active administrator" in response.content.decode()
    mine.refresh_from_db()
    assert mine.is_active and mine.role == Membership.Role.ADMINISTRATOR
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()
    # A second, frozen administrator does not count.
    second = _membership(world.responder)
    second.role, second.is_active = Membership.Role.ADMINISTRATOR, False
    second.save()
    assert admin.post(f"{RXX}/members/{mine.pk}/", {"role": "member"}).status_code == 400


@pytest.mark.django_db
def test_an_invitation_link_joins_its_own_address_once(world: World) -> None:
    admin = _client(world.admin)
    invitation = _invite(admin, "new.person@example.org")
    link = _invitation_link(invitation)
    anonymous = Client()
    assert anonymous.get(link).status_code == 200  # a mail scanner: nothing happens
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    # Someone else signed in opens it: the invitee's address joins, never the visitor.
    intruder = _client(world.member)
    done = intruder.post(link, {"password1": "a long new pass phrase", "password2": "x"})
    assert done.status_code == 400  # passwords differ: nothing changes
    done = intruder.post(
        link, {"password1": "a long new pass phrase", "password2": "a long new pass phrase"}
    )
    assert done.status_code == 200
    joined = Membership.objects.get(subscription=world.subscription, user__email=invitation.email)
    assert joined.role == Membership.Role.MEMBER
    assert _membership(world.member).role == Membership.Role.MEMBER
    again = anonymous.post(
        link, {"password1": "another long pass phrase", "password2": "another long pass phrase"}
    )
    assert again.status_code == 410
    assert anonymous.get(link[:-3] + "xx/").status_code == 404
    # Inviting again replaces the earlier link; an expired link says so.
    first = _invite(admin, "twice@example.org")
    second = _invite(admin, "twice@example.org")
    assert anonymous.get(_invitation_link(first)).status_code == 410
    Invitation.objects.filter(pk=second.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert anonymous.get(_invitation_link(second)).status_code == 410
    assert not Membership.objects.filter(user__email="twice@example.org").exists()


@pytest.mark.django_db
def test_an_invitation_dies_with_its_inviters_authority(world: World) -> None:
    second_admin = _membership(world.responder)
    second_admin.role = Membership.Role.ADMINISTRATOR
    second_admin.save()
    invitation = _invite(_client(world.responder), "my.other.address@example.org", "administrator")
    link = _invitation_link(invitation)
    frozen = _client(world.admin).post(f"{RXX}/members/{second_admin.pk}/freeze/")
    assert frozen.status_code == 302
    Client().post(
        link, {"password1": "a long new pass phrase", "password2": "a long new pass phrase"}
    )
    assert not Membership.objects.filter(
        user__email="my.other.address@example.org", role=Membership.Role.ADMINISTRATOR
    ).exists()


# --- Alerts and their unsubscribe link --------------------------------------------------------


@pytest.mark.django_db
def test_alerts_of_another_organisation_or_a_colleague_are_404(world: World) -> None:
    hilltop = _membership(world.other_responder)
    hilltop_alert = Alert.objects.get(membership=hilltop)
    responder = _membership(world.responder)
    responder_alert = Alert.objects.get(membership=responder)
    new = {"events": ["stories"], "frequency": "daily"}
    for client, membership, alert in (
        (_client(world.admin), hilltop, hilltop_alert),
        (_client(world.member), responder, responder_alert),
        (_client(world.reader), responder, responder_alert),
    ):
        assert client.get(f"/staff/alerts/members/{membership.pk}/").status_code == 404
        assert client.post(f"/staff/alerts/members/{membership.pk}/new/", new).status_code == 404
        assert client.get(f"/staff/alerts/{alert.pk}/edit/").status_code == 404
        assert client.post(f"/staff/alerts/{alert.pk}/edit/", new).status_code == 404
        assert client.post(f"/staff/alerts/{alert.pk}/delete/").status_code == 404
    assert Alert.objects.filter(pk__in=[hilltop_alert.pk, responder_alert.pk]).count() == 2
    assert not AuditEvent.objects.filter(action__startswith="alert.", actor__isnull=False).exclude(
        action="alert.create"
    )


@pytest.mark.django_db
def test_an_alert_outside_the_scope_or_with_odd_input_is_a_clear_400(world: World) -> None:
    client = _client(world.responder)
    mine = _membership(world.responder)
    url = f"/staff/alerts/members/{mine.pk}/new/"
    before = Alert.objects.count()
    for services, expected in (
        ("RYY-W1", "outside"),
        ("' OR 1=1 --", "No service has the code"),
        (" ".join(f"X{n}" for n in range(60)), "at most 50"),
        ("R" * 2001, "at most 2000"),
    ):
        got = client.post(url, {"events": ["stories"], "services": services})
        assert got.status_code == 400, services
        assert expected in got.content.decode(), services
    for odd in (
        {"events": ["everything"]},
        {"events": ["stories"], "tags": ["no-such-tag"]},
        {"events": ["stories"], "min_criticality": "99"},
        {"events": ["stories"], "frequency": "hourly"},
    ):
        assert client.post(url, odd).status_code == 400, odd
    assert Alert.objects.count() == before


@pytest.mark.django_db
def test_a_lapsed_organisations_administrator_manages_no_alerts(world: World) -> None:
    today = timezone.localdate()
    subscription = world.subscription
    subscription.starts_on, subscription.ends_on = today - timedelta(400), today - timedelta(60)
    subscription.save()
    admin = _client(world.admin)
    assert admin.get(f"{RXX}/members/").status_code == 404  # the administrator's pages: gone
    member = _membership(world.member)
    created = admin.post(
        f"/staff/alerts/members/{member.pk}/new/", {"events": ["stories"], "frequency": "daily"}
    )
    assert admin.get(f"/staff/alerts/members/{member.pk}/").status_code == 404
    assert created.status_code == 404


def _alert_emails(world: World, story: Story) -> list[OutboxMessage]:
    alerts_story_published(story=story)
    return list(OutboxMessage.objects.filter(dedupe_key__startswith="staff-alert:story:"))


@pytest.mark.django_db
def test_an_unsubscribe_link_stops_its_own_alert_only(world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward])
    [message] = [m for m in _alert_emails(world, story) if m.to_email == world.responder.email]
    url = outbox_headers(message)["List-Unsubscribe"].strip("<>")
    path = url[url.index("/staff/alerts/unsubscribe/") :]
    alert = Alert.objects.get(membership=_membership(world.responder))
    other = Alert.objects.get(membership=_membership(world.admin))
    value, signature = path.rstrip("/").rsplit("/", 1)[-1].split(":")
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200
    assert world.responder.email not in page.content.decode()  # the link names no one
    alert.refresh_from_db()
    assert alert.is_active  # GET changes nothing
    for forged in (
        f"{other.pk}.{other.membership_id}:{signature}",  # another alert, this signature
        f"{alert.pk}.{other.membership_id}:{signature}",
        f"{value}:{signature.upper()}",
        f"{value}:",
        value,
        f"{value}:{signature}:{signature}",
    ):
        forged_path = f"/staff/alerts/unsubscribe/{forged}/"
        assert client.post(forged_path).status_code == 404, forged
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # replayed: still off, recorded once
    alert.refresh_from_db()
    other.refresh_from_db()
    assert not alert.is_active and other.is_active
    assert AuditEvent.objects.filter(action="alert.unsubscribe").count() == 1
    alert.delete()
    assert client.post(path).status_code == 404


@pytest.mark.django_db
def test_no_alert_digest_or_staff_page_carries_the_authors_private_data(world: World) -> None:
    secrets = (
        "private.author@example.org",
        "SW1A 1AA",
        "ORIGINALTITLEWORDS",
        "ORIGINALBODYWORDS",
        "MODERATORNOTEWORDS",
    )
    author = StoryFactory.build().author
    author.email = secrets[0]
    author.save()
    yesterday = timezone.now() - timedelta(days=1)
    story = StoryFactory(
        published=True,
        author=author,
        services=[world.ward],
        postcode=secrets[1],
        age_group="65-74",
        original_title=f"Title {secrets[2]}",
        original_body=f"Body {secrets[3]}",
        title="Edited title",
        body="Edited body for publication.",
        published_at=yesterday,
    )
    ModeratorNote.objects.create(story=story, moderator=world.moderator, text=secrets[4])
    Alert.objects.create(
        membership=_membership(world.member), events=["stories"], frequency="daily"
    )
    texts: list[str] = []
    for message in _alert_emails(world, story):
        rendered = outbox_render(message)
        texts += [rendered.subject, rendered.body_text, rendered.body_html]
        texts += list(outbox_headers(message).values())
    assert alerts_digests_send(now=timezone.now()) >= 1
    for message in OutboxMessage.objects.filter(dedupe_key__startswith="alert-digest:"):
        context = digest_context(message.context)
        assert context is not None
        texts += list(render_email(template=message.template, context=context))
    member = _client(world.member)
    for url in ("/staff/", f"/staff/stories/{story.public_id}/", "/staff/alerts/"):
        page = member.get(url)
        assert page.status_code == 200, url
        texts.append(page.content.decode())
    assert len(texts) > 8
    joined = "\n".join(texts)
    assert "Edited title" in joined
    for secret in secrets:
        assert secret not in joined, secret


# --- The bulk upload --------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_keeps_formulas_as_text_escapes_markup_and_merges_address_variants(
    world: World,
) -> None:
    admin = _client(world.admin)
    rows = [
        "First name,Last name,Email,Role",
        '"=HYPERLINK(""http://evil.example"",""x"")",Smith,dup@example.org,',
        "<script>alert(1)</script>,Jones,DUP@Example.ORG,administrator",
        "Ann,\uff22,\uff44up@example.org,Subscriber",  # fullwidth B and d
        "Bob,Lee,member@riverside.example,",  # already a member
        "Cy,Poe,not-an-address,",
        "Di,Rae,di@example.org,overlord",
    ]
    sent = _upload(admin, "people.csv", "\n".join(rows).encode("utf-8-sig"))
    assert sent.status_code == 302
    upload = MemberUpload.objects.get()
    outcomes = [row["outcome"] for row in upload.rows]
    assert outcomes == ["invite", "duplicate", "duplicate", "member", "problem", "problem"]
    assert upload.rows[0]["values"]["first_name"].startswith("=HYPERLINK(")
    preview = admin.get(sent["Location"])
    assert preview.status_code == 200
    assert b"<script>alert(1)" not in preview.content
    assert admin.post(sent["Location"]).status_code == 302
    assert admin.post(sent["Location"]).status_code == 302  # confirmed twice: invited once
    [invitation] = Invitation.objects.all()
    assert invitation.email == "dup@example.org" and invitation.role == Membership.Role.MEMBER
    assert AuditEvent.objects.filter(action="member_upload.confirm").count() == 1


@pytest.mark.django_db
def test_an_upload_too_large_damaged_or_a_zip_bomb_is_a_clear_400(world: World) -> None:
    admin = _client(world.admin)
    heading = b"First name,Last name,Email\n"
    many = heading + b"".join(b"A,B,p%d@example.org\n" % n for n in range(bulk.MAX_UPLOAD_ROWS + 1))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (bulk.MAX_XLSX_UNZIPPED_BYTES + 1))
    assert len(bomb.getvalue()) < bulk.MAX_UPLOAD_BYTES
    cases: list[tuple[str, bytes, str]] = [
        ("many.csv", many, "too large"),
        ("big.csv", heading + b"x" * bulk.MAX_UPLOAD_BYTES, "too large"),
        ("bomb.xlsx", bomb.getvalue(), "too large"),
        ("broken.xlsx", _xlsx(_SHEET.format(rows='<row r="2"><c r="A2"')), "could not be read"),
        ("fake.xlsx", b"PK\x03\x04 not a zip at all", "could not be read"),
        ("empty.csv", b"", ""),
        ("people.exe", heading, "CSV or XLSX"),
        ("nul.csv", heading + b"A,B,\0@example.org\n", ""),
        ("latin1.csv", heading + "Zoë,Brontë,zoe@example.org\n".encode("cp1252"), ""),
    ]
    for name, data, message in cases:
        got = _upload(admin, name, data)
        if name in ("nul.csv", "latin1.csv"):
            assert got.status_code == 302, name  # read, each row checked
            continue
        assert got.status_code == 400, name
        assert message in got.content.decode(), name
    assert MemberUpload.objects.count() == 2
    assert not Invitation.objects.exists()


class _Counted:
    rows = 0


def _counting(rows: Iterable[Iterable[object]]) -> Iterator[Iterable[object]]:
    for row in rows:
        _Counted.rows += 1
        yield row


@pytest.mark.django_db
def test_an_xlsx_row_number_does_not_cost_a_row_each(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows_limited = bulk._rows_limited
    monkeypatch.setattr(bulk, "_rows_limited", lambda rows: rows_limited(_counting(rows)))
    _Counted.rows = 0
    far = 300_000
    row = f'<row r="{far}"><c r="A{far}" t="inlineStr"><is><t>Far</t></is></c></row>'
    data = _xlsx(_SHEET.format(rows=row))
    assert len(data) < 10_000
    _upload(_client(world.admin), "far.xlsx", data)
    assert _Counted.rows <= bulk.MAX_ROWS_READ + 1  # a bound, whatever the row number says


@pytest.mark.django_db
def test_the_preview_says_what_confirming_will_do(world: World) -> None:
    admin = _client(world.admin)
    sent = _upload(admin, "m.csv", b"First name,Last name,Email\n\x01\x02,Smith,ctl@example.org\n")
    assert sent.status_code == 302
    [row] = MemberUpload.objects.get().rows
    admin.post(sent["Location"])
    assert row["outcome"] == "problem" or Invitation.objects.filter(email="ctl@example.org")


# --- The workspace ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_workspace_filters_answer_bad_input_with_400(world: World) -> None:
    StoryFactory(published=True, services=[world.ward])
    StaffTag.objects.create(
        story=StoryFactory(published=True, services=[world.other_ward]),
        author=world.other_responder,
        subscription=world.other_subscription,
        name="Hilltop only",
        slug="hilltop-only",
        visibility=StaffTag.Visibility.SHARED,
    )
    client = _client(world.responder)
    bad = [
        "service=RYY",
        "service=RYY-W1",
        "service=%27%20OR%201%3D1%20--",
        "service=" + "R" * 5000,
        "published_from=99999-01-01",
        "published_from=2024-13-45",
        "published_from=2025-02-01&published_to=2025-01-01",
        "min_criticality=99",
        "min_criticality=abc",
        "progress=-1",
        "sort=pk;DROP TABLE stories",
        "after=garbage",
        "after=n.99999999999999999999.1",
        "after=1.9999999999999999999.1",
        "after=1.1.9999999999999999999",
        "tags=no-such-tag",
        "staff_tags=hilltop-only",  # another subscription's shared tag
        "&".join(f"tags=t{n}" for n in range(500)),  # more fields than allowed
        "read=maybe",
    ]
    for query in bad:
        got = client.get("/staff/?" + query)
        assert got.status_code == 400, query[:80]
    slug = Tag.objects.order_by("slug").values_list("slug", flat=True)[0]
    good = [
        "published_from=0001-01-01",
        "published_to=0001-01-01",
        "published_from=9999-12-31",
        "&".join([f"tags={slug}"] * 300),  # one tag many times: one choice
        "after=n.0.1",
    ]
    for query in good:
        assert client.get("/staff/?" + query).status_code == 200, query


@pytest.mark.django_db
def test_the_last_possible_date_is_not_a_500(world: World) -> None:
    client = _client(world.responder)
    assert client.get("/staff/?published_to=9999-12-31").status_code in (200, 400)


@pytest.mark.django_db
def test_story_pages_outside_the_scope_or_unpublished_are_404(world: World) -> None:
    outside = StoryFactory(published=True, services=[world.other_ward])
    unpublished = [
        StoryFactory(services=[world.ward]),
        StoryFactory(withdrawn=True, services=[world.ward]),
        StoryFactory(rejected=True, services=[world.ward]),
        StoryFactory(held=True, services=[world.ward]),
    ]
    inside = StoryFactory(published=True, services=[world.ward])
    responder = _client(world.responder)
    for story in [outside, *unpublished]:
        base = f"/staff/stories/{story.public_id}/"
        assert responder.get(base).status_code == 404
        assert responder.post(base + "respond/").status_code == 404
        tag = {"name": "probe", "visibility": "private", "polarity": "0"}
        assert responder.post(base + "tags/", tag).status_code == 404
    assert not StaffTag.objects.exists()
    assert responder.get(f"/staff/stories/{inside.public_id}/").status_code == 200
    # Frozen: the story page closes at once.
    frozen = _membership(world.responder)
    frozen.is_active, frozen.frozen_at = False, timezone.now()
    frozen.save()
    assert responder.get(f"/staff/stories/{inside.public_id}/").status_code in (302, 404)


@pytest.mark.django_db
def test_staff_tags_stay_with_who_may_see_them(world: World) -> None:
    story = StoryFactory(published=True, services=[world.ward, world.other_ward])
    path = f"/staff/stories/{story.public_id}/"
    rita = _client(world.responder)
    for name, visibility in (
        ("Rita private note", "private"),
        ("Riverside team note", "shared"),
        ('<script>alert("x")</script>Public', "public"),
    ):
        got = rita.post(path + "tags/", {"name": name, "visibility": visibility, "polarity": "0"})
        assert got.status_code == 302, name
    private, shared, public = (
        StaffTag.objects.get(visibility=v) for v in ("private", "shared", "public")
    )
    colleague = _client(world.member).get(path).content.decode()
    assert "Riverside team note" in colleague and "Rita private note" not in colleague
    other = _client(world.other_responder).get(path).content.decode()
    assert "Riverside team note" not in other and "Rita private note" not in other
    assert "alert(&quot;x&quot;)" in other or "alert(&#x27;x&#x27;)" in other
    public_page = Client().get(f"/stories/{story.public_id}/").content.decode()
    assert "<script>alert" not in public_page and "Rita private note" not in public_page
    assert "Riverside team note" not in public_page
    # Removing someone else's tag, or one of another organisation: 404, the tag stays.
    member = _client(world.member)
    assert member.post(f"{path}tags/{private.pk}/remove/").status_code == 404
    assert member.post(f"{path}tags/{shared.pk}/remove/").status_code == 404
    hilltop = _client(world.other_responder)
    assert hilltop.post(f"{path}tags/{public.pk}/remove/").status_code == 404
    assert StaffTag.objects.count() == 3
    # A member may not tag publicly; nor filter by a colleague's private tag.
    refused = member.post(path + "tags/", {"name": "Mine", "visibility": "public", "polarity": "1"})
    assert refused.status_code == 400
    assert member.get("/staff/?staff_tags=" + private.slug).status_code == 400
    assert AuditEvent.objects.filter(action="staff_tag.add").count() == 3
    assert not AuditEvent.objects.filter(action="staff_tag.remove").exists()


@pytest.mark.django_db
def test_saved_searches_are_their_owners_only(world: World) -> None:
    rita = _client(world.responder)
    saved = rita.post(
        "/staff/searches/", {"name": "Mine", "query": "sort=critical&next=//evil.example/"}
    )
    assert saved.status_code == 302
    search = SavedSearch.objects.get()
    run = rita.get(f"/staff/searches/{search.pk}/")
    assert run.status_code == 302 and run["Location"].startswith("/staff/?")
    for intruder in (world.member, world.other_responder, world.admin):
        client = _client(intruder)
        assert client.get(f"/staff/searches/{search.pk}/").status_code == 404
        assert client.post(f"/staff/searches/{search.pk}/delete/").status_code == 404
        assert "Mine" not in client.get("/staff/searches/").content.decode()
    assert SavedSearch.objects.filter(pk=search.pk).exists()
    long = rita.post("/staff/searches/", {"name": "x" * 500, "query": ""})
    assert long.status_code == 400


@pytest.mark.django_db
def test_the_profile_is_ones_own_and_needs_a_membership(world: World) -> None:
    assert _client(world.reader).get("/staff/profile/").status_code == 404
    rita = _client(world.responder)
    too_long = {"first_name": "R" * 500, "last_name": "R", "phone": "1" * 100}
    got = rita.post("/staff/profile/", too_long)
    assert got.status_code == 400
    world.responder.refresh_from_db()
    assert world.responder.full_name == "Rita Responder"
    assert not AuditEvent.objects.filter(action="profile.update").exists()


# --- MFA and the password reset ----------------------------------------------------------------


def _password_sign_in(client: Client, user: Any) -> None:
    signed = client.post("/staff/login/", {"username": user.email, "password": TEST_PASSWORD})
    assert signed.status_code == 302


@pytest.mark.django_db
def test_a_password_alone_opens_no_administrators_page(world: World) -> None:
    client = Client()
    _password_sign_in(client, world.admin)  # must enrol: nothing else opens
    member = _membership(world.member)
    for url in (
        "/staff/",
        f"{RXX}/members/",
        f"{RXX}/members/{member.pk}/",
        "/staff/alerts/",
        "/staff/profile/",
        "/staff/mfa/",
        "/admin/",
    ):
        got = client.get(url)
        assert got.status_code == 302 and "/staff/mfa/enrol/" in got["Location"], url
    for url, data in (
        (
            f"{RXX}/members/invite/",
            {"email": "x@example.org", "first_name": "X", "last_name": "Y", "role": "member"},
        ),
        (f"{RXX}/members/{member.pk}/", {"role": "administrator"}),
        ("/staff/mfa/turn-off/", {}),
        ("/staff/mfa/recovery-codes/", {}),
        ("/staff/mfa/code/", {"code": "123456"}),  # not enrolled: no code step to guess
    ):
        got = client.post(url, data)
        assert got.status_code == 302, url
        assert "/staff/mfa/" in got["Location"] or got["Location"] == "/staff/", url
    assert not Invitation.objects.exists()
    assert _membership(world.member).role == Membership.Role.MEMBER


@pytest.mark.django_db
def test_codes_cannot_be_replayed_guessed_without_limit_or_used_to_lock_out(
    world: World,
) -> None:
    mfa_enrol(world.admin)
    first = Client()
    _password_sign_in(first, world.admin)
    assert first.get(f"{RXX}/members/").status_code == 302  # the code step first
    code = mfa_code(world.admin)
    assert first.post("/staff/mfa/code/", {"code": code}).status_code == 302
    assert first.get(f"{RXX}/members/").status_code == 200
    replay = Client(REMOTE_ADDR="10.0.0.2")
    _password_sign_in(replay, world.admin)
    assert replay.post("/staff/mfa/code/", {"code": code}).status_code == 400
    attacker = Client(REMOTE_ADDR="10.0.0.3")
    _password_sign_in(attacker, world.admin)
    statuses = [
        attacker.post("/staff/mfa/code/", {"code": f"{n:06d}"}).status_code for n in range(1, 7)
    ]
    assert statuses[-1] == 429  # throttled, whatever the guess
    assert attacker.post("/staff/mfa/code/", {"code": mfa_code(world.admin)}).status_code == 429
    victim = Client(REMOTE_ADDR="10.0.0.4")
    _password_sign_in(victim, world.admin)
    assert victim.post("/staff/mfa/code/", {"code": mfa_code(world.admin)}).status_code == 302


@pytest.mark.django_db
def test_the_password_reset_says_the_same_for_every_address(world: World) -> None:
    frozen = _membership(world.member)
    frozen.is_active = False
    frozen.save()
    answers = set()
    for email in (
        world.admin.email,
        world.admin.email.upper(),
        "nobody@example.org",
        world.author.email,
        world.member.email,
    ):
        got = Client().post("/staff/password-reset/", {"email": email})
        answers.add((got.status_code, got.content))
    assert len(answers) == 1
