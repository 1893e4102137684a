"""The canary test: private data planted in a real story never reaches a public surface.

Unique random strings go into everything that must stay private (the author's email, the
postcode, the author's original title and text, a moderator's note, the responder's and the
author's original words before moderation). The whole flow then runs through the service
functions and the outbox, over real SMTP, with every log record captured. Finally every public
and staff surface is crawled as each kind of visitor, one link deep. No canary may appear
anywhere except where it is allowed (the moderator's screen, the author's own pages and the
emails sent to the author), and the test checks that it *does* appear there, so a mistake in
planting the canaries makes it fail rather than pass quietly.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.lib.logging import JsonFormatter, RequestIdFilter
from carestory.moderation.models import ModeratorNote
from carestory.moderation.services.claims import moderator_note_add
from carestory.moderation.services.decisions import story_publish
from carestory.moderation.services.edits import StoryEdit
from carestory.outbox.models import OutboxMessage
from carestory.outbox.services import outbox_drain
from carestory.outbox.testing import ReceivedEmail, SmtpSink
from carestory.responses.models import AuthorReply, Response
from carestory.responses.moderation import reply_publish, response_publish
from carestory.responses.services import reply_post, response_post
from carestory.stories.models import Criticality, Story, Tag
from carestory.stories.services import StoryDraft, story_submit
from conftest import World
from tests.emails import emailed_path

pytestmark = pytest.mark.django_db

PUBLIC_TITLE = "Kind staff on the ward at night"
PUBLIC_BODY = "The nurses on the ward were kind and explained everything to my father."
PUBLIC_RESPONSE = (
    "Thank you for telling us about the care your father had. We have shared it with the team."
)
PUBLIC_REPLY = "Thank you for replying so quickly."
NOTE_PREFIX = "Moderator note: removed a name"

_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def _hex() -> str:
    return uuid.uuid4().hex


def _postcode() -> str:
    """A postcode the story form takes that is nobody's: Shetland (ZE) has no district past
    ZE3. ``z`` is not a hex digit, so no other canary can hold it."""
    n = uuid.uuid4().int
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"ZE{10 + n % 90} {n // 90 % 10}{letters[n // 900 % 20]}{letters[n // 18000 % 20]}"


@dataclass
class Canaries:
    """One unique marker per kind of private data."""

    email: str = field(default_factory=_hex)
    postcode: str = field(default_factory=_postcode)
    original_title: str = field(default_factory=_hex)
    original_body: str = field(default_factory=_hex)
    note: str = field(default_factory=_hex)
    response_original: str = field(default_factory=_hex)
    reply_original: str = field(default_factory=_hex)

    @property
    def email_address(self) -> str:
        return f"canary-{self.email}@example.org"

    def items(self) -> dict[str, str]:
        return {
            "email": self.email,
            "postcode": self.postcode,
            "original_title": self.original_title,
            "original_body": self.original_body,
            "moderator_note": self.note,
            "response_original_body": self.response_original,
            "reply_original_body": self.reply_original,
        }

    def found_in(self, text: str) -> list[str]:
        """Names of the canaries in ``text`` (case-insensitive: an upper-cased email counts)."""
        lowered = text.lower()
        return [name for name, value in self.items().items() if value.lower() in lowered]


@dataclass
class Flow:
    story: Story
    response: Response
    reply: AuthorReply
    author: User


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record, formatted exactly as the production console handler formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _run_flow(world: World, canaries: Canaries, smtp_sink: SmtpSink) -> Flow:
    """The real story lifecycle, through the service functions and the outbox."""
    # Made directly, not by a factory: factory_boy's own debug log would name the address.
    author = User.objects.create_user(canaries.email_address, email_verified_at=timezone.now())
    draft = StoryDraft(
        email=canaries.email_address,
        screen_name="Hopeful visitor",
        author_role="relative",
        title=f"My dad {canaries.original_title} on Ward 1",
        body=(
            f"My father, Mr {canaries.original_body}, stayed on the ward for a week. "
            "The nurses on the ward were kind and explained everything."
        ),
        services=[world.ward],
        good_tags=[Tag.objects.get(slug="staff-attitude")],
        feeling_tags=[Tag.objects.get(slug="grateful")],
        age_group="65_74",
        postcode=canaries.postcode,
        consent=True,
    )
    result = story_submit(draft=draft, idempotency_key=uuid.uuid4(), signed_in=author)
    story = Story.objects.get(pk=result.story.pk)
    assert story.status == Story.Status.IN_MODERATION
    assert story.postcode == canaries.postcode
    assert canaries.original_title in story.original_title
    assert canaries.original_body in story.original_body

    moderator_note_add(
        story=story, moderator=world.moderator, text=f"First read: {canaries.note} needs removing"
    )
    story_publish(
        story=story,
        moderator=world.moderator,
        edit=StoryEdit(
            version=story.version,
            title=PUBLIC_TITLE,
            body=PUBLIC_BODY,
            criticality=Criticality.MILDLY,
            tags=(
                (Tag.objects.get(slug="staff-attitude"), 1),
                (Tag.objects.get(slug="grateful"), 1),
            ),
            services=(world.ward,),
            note=f"{NOTE_PREFIX} {canaries.note}",
        ),
    )
    outbox_drain()  # acknowledgement + published email to the author; the staff alert job...
    outbox_drain()  # ...and the staff alerts it queued

    story = Story.objects.get(pk=story.pk)
    assert story.status == Story.Status.PUBLISHED
    assert story.title == PUBLIC_TITLE

    response = response_post(
        story=story,
        responder=world.responder,
        body=f"Dear Mr {canaries.response_original}, we are sorry to hear about your father.",
        change="none",
        change_description="",
        idempotency_key=uuid.uuid4(),
    )
    with time_machine.travel(response.editable_until):
        outbox_drain()  # the edit window ends: the release job sends it to moderation
    response.refresh_from_db()
    response_publish(
        response=response, moderator=world.moderator, version=response.version, body=PUBLIC_RESPONSE
    )
    outbox_drain()

    response = Response.objects.get(pk=response.pk)
    reply = reply_post(
        response=response,
        author=author,
        body=f"Thank you. My phone number is {canaries.reply_original}.",
        idempotency_key=uuid.uuid4(),
    )
    reply_publish(reply=reply, moderator=world.moderator, version=reply.version, body=PUBLIC_REPLY)
    outbox_drain()

    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists(), list(
        OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).values(
            "dedupe_key", "status", "last_error"
        )
    )
    return Flow(
        story=story,
        response=response,
        reply=AuthorReply.objects.get(pk=reply.pk),
        author=author,
    )


def _run_flow_through_the_website(world: World, canaries: Canaries, smtp_sink: SmtpSink) -> Flow:
    """The same lifecycle, as people would do it with a browser."""
    author = Client()
    told = author.post(
        "/tell-your-story/",
        {
            "service": "RXX01-W1",
            "idempotency_key": str(uuid.uuid4()),
            "title": f"My dad {canaries.original_title} on Ward 1",
            "body": f"My father, Mr {canaries.original_body}, stayed on the ward for a week.",
            "good": [str(Tag.objects.get(slug="staff-attitude").pk)],
            "author_role": "relative",
            "age_group": "65_74",
            "postcode": canaries.postcode,
            "screen_name": "Hopeful visitor",
            "email": canaries.email_address.upper(),
            "consent": "on",
        },
    )
    assert told.status_code == 302, told.content.decode()[:2000]
    story = Story.objects.get()
    assert story.postcode == canaries.postcode
    verify_path = emailed_path("story-verify:", "/verify/")
    outbox_drain()  # the verification email, to the author
    assert author.post(verify_path).status_code == 200

    moderator = Client()
    moderator.force_login(world.moderator)
    story.refresh_from_db()
    form = {
        "version": str(story.version),
        "title": PUBLIC_TITLE,
        "body": PUBLIC_BODY,
        "criticality": str(Criticality.MILDLY.value),
        "good": [str(Tag.objects.get(slug="staff-attitude").pk)],
        "service_codes": "RXX01-W1",
        "note": f"First read: {canaries.note} needs removing",
        "action": "save",
    }
    saved = moderator.post(f"/moderation/stories/{story.public_id}/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    story.refresh_from_db()
    form |= {
        "version": str(story.version),
        "note": f"{NOTE_PREFIX} {canaries.note}",
        "action": "publish",
    }
    published = moderator.post(f"/moderation/stories/{story.public_id}/", form)
    assert published.status_code == 302, published.content.decode()[:2000]
    outbox_drain()
    outbox_drain()

    responder = Client()
    responder.force_login(world.responder)
    responded = responder.post(
        f"/stories/{story.public_id}/respond/",
        {
            "body": f"Dear Mr {canaries.response_original}, we are sorry about your father.",
            "change": "none",
            "change_description": "",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert responded.status_code == 200, responded.content.decode()[:2000]
    response = Response.objects.get()
    assert response.editable_until is not None
    with time_machine.travel(response.editable_until):
        outbox_drain()  # the edit window ends: the release job sends it to moderation
    response.refresh_from_db()
    moderated = moderator.post(
        f"/moderation/responses/{response.pk}/",
        {"version": str(response.version), "body": PUBLIC_RESPONSE, "action": "publish"},
    )
    assert moderated.status_code == 302, moderated.content.decode()[:2000]
    outbox_drain()

    replied = author.post(
        f"/stories/{story.public_id}/responses/{response.pk}/reply/",
        {
            "body": f"Thank you. My phone number is {canaries.reply_original}.",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert replied.status_code == 200, replied.content.decode()[:2000]
    reply = AuthorReply.objects.get()
    moderated = moderator.post(
        f"/moderation/replies/{reply.pk}/",
        {"version": str(reply.version), "body": PUBLIC_REPLY, "action": "publish"},
    )
    assert moderated.status_code == 302, moderated.content.decode()[:2000]
    outbox_drain()

    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
    return Flow(
        story=story,
        response=Response.objects.get(pk=response.pk),
        reply=AuthorReply.objects.get(pk=reply.pk),
        author=story.author,
    )


def _links(body: str) -> list[str]:
    links = []
    for raw in _HREF.findall(body):
        href = html.unescape(raw).split("#", 1)[0]
        if href.startswith("/") and not href.startswith("//"):
            links.append(href)
    return links


def _text_of(response: object) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())  # type: ignore[attr-defined]
    content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    return headers + "\n" + content.decode("utf-8", errors="replace")


def _crawl(client: Client, seeds: list[str]) -> dict[str, tuple[int, str]]:
    """Fetch the seed URLs and every local link on them, one level deep."""
    pages: dict[str, tuple[int, str]] = {}
    found: list[str] = []
    for url in seeds:
        response = client.get(url)
        text = _text_of(response)
        pages[url] = (response.status_code, text)
        if "html" in response.get("Content-Type", ""):
            found += _links(text)
    for url in dict.fromkeys(found):
        if url not in pages:
            response = client.get(url)
            pages[url] = (response.status_code, _text_of(response))
    return pages


def _email_text(email: ReceivedEmail) -> str:
    parts = [email.subject, email.mail_from, email.text, email.html]
    parts += [f"{name}: {value}" for name, value in email.message.items()]
    for part in email.message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        parts.append(content if isinstance(content, str) else content.decode("utf-8", "replace"))
    parts.append(email.raw.decode("utf-8", errors="replace"))
    return "\n".join(parts)


@pytest.mark.parametrize(
    "run_flow",
    [
        _run_flow,  # through the service functions
        _run_flow_through_the_website,  # through the web pages: forms, views, middleware, sessions
    ],
    ids=["services", "website"],
)
def test_private_data_never_leaks(
    world: World,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
    run_flow: Callable[[World, Canaries, SmtpSink], Flow],
) -> None:
    """The lifecycle, driven through the service functions and through the website."""
    caplog.set_level(logging.DEBUG)  # the root logger, for the whole test
    canaries = Canaries()

    flow = run_flow(world, canaries, smtp_sink)

    _assert_private_data_stays_private(world, canaries, flow, smtp_sink, caplog, capsys, log_lines)


def _assert_private_data_stays_private(
    world: World,
    canaries: Canaries,
    flow: Flow,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
) -> None:
    story_id = flow.story.public_id

    # Sanity: the canaries really are stored where they should be ------------------------------
    assert ModeratorNote.objects.filter(story=flow.story, text__contains=canaries.note).count() == 2
    assert canaries.response_original in flow.response.original_body
    assert flow.response.body == PUBLIC_RESPONSE
    assert canaries.reply_original in flow.reply.original_body
    assert flow.reply.body == PUBLIC_REPLY
    assert flow.story.author.email == canaries.email_address

    # Where the private data is allowed, it is there --------------------------------------------
    moderator = Client()
    moderator.force_login(world.moderator)
    moderation_page = moderator.get(f"/moderation/stories/{story_id}/").content.decode()
    assert canaries.original_title in moderation_page
    assert canaries.original_body in moderation_page
    assert canaries.note in moderation_page

    author = Client()
    author.force_login(flow.author)
    my_story = author.get(f"/my-stories/{story_id}/")
    assert my_story.status_code == 200
    assert canaries.original_title in my_story.content.decode()
    assert canaries.original_title in author.get("/my-stories/").content.decode()

    # The crawl ----------------------------------------------------------------------------------
    reply_url = f"/stories/{story_id}/responses/{flow.response.pk}/reply/"
    public_seeds = [
        "/",
        "/stories/",
        f"/stories/{story_id}/",
        "/services/RXX01-W1/",
        "/services/RXX01/",
        "/services/RXX/",
        "/services/?q=Ward",
        "/services/?q=Riverside",
        "/stories/feed.atom",
        "/api/v1/stories",
        "/api/v1/stories?service=RXX",
        f"/api/v1/stories/{story_id}",
        "/api/v1/services?q=Ward",
        "/api/v1/services/RXX01-W1",
        "/api/v1/openapi.json",
        # Not this visitor's: must be a 404 or a sign-in redirect, with nothing in it.
        f"/my-stories/{story_id}/",
        f"/my-stories/{story_id}/withdraw/",
        f"/moderation/stories/{story_id}/",
        f"/moderation/responses/{flow.response.pk}/",
        f"/moderation/replies/{flow.reply.pk}/",
        reply_url,
    ]
    staff_seeds = ["/staff/", "/my-stories/", f"/stories/{story_id}/respond/"]
    visitors: dict[str, User | None] = {
        "anonymous": None,
        "reader": world.reader,
        "responder": world.responder,
        "admin": world.admin,
        "other_responder": world.other_responder,
        "member": world.member,
    }
    leaks: list[tuple[str, str, int, list[str]]] = []
    crawled: dict[str, dict[str, tuple[int, str]]] = {}
    for name, user in visitors.items():
        client = Client()
        seeds = list(public_seeds)
        if user is not None:
            client.force_login(user)
            seeds += staff_seeds
        pages = _crawl(client, seeds)
        crawled[name] = pages
        for url, (status, text) in pages.items():
            found = canaries.found_in(text)
            if found:
                leaks.append((name, url, status, found))
            if name in ("anonymous", "reader"):
                # Criticality is for staff only.
                assert str(Criticality.MILDLY.label) not in text, (name, url)
    assert leaks == [], f"private data on a page: {leaks}"

    # The crawl saw what it should (so an empty leak list means something) -----------------------
    for name, pages in crawled.items():
        status, text = pages[f"/stories/{story_id}/"]
        assert status == 200, name
        assert PUBLIC_TITLE in text and PUBLIC_RESPONSE in text and PUBLIC_REPLY in text, name
        assert PUBLIC_TITLE in pages["/stories/feed.atom"][1], name
        assert PUBLIC_TITLE in pages["/api/v1/stories"][1], name
        assert PUBLIC_REPLY in pages[f"/api/v1/stories/{story_id}"][1], name
        for service in ("RXX01-W1", "RXX01", "RXX"):
            assert PUBLIC_TITLE in pages[f"/services/{service}/"][1], (name, service)
        assert pages[reply_url][0] in (302, 404), name
        assert len(pages) > len(public_seeds), name  # links were followed
    for name in ("responder", "admin"):
        status, text = crawled[name][f"/stories/{story_id}/respond/"]
        assert status == 200, name
        assert PUBLIC_TITLE in text
        assert PUBLIC_TITLE in crawled[name]["/staff/"][1]
    for name in ("other_responder", "member", "reader"):
        assert crawled[name][f"/stories/{story_id}/respond/"][0] == 404, name
    assert PUBLIC_TITLE in crawled["member"]["/staff/"][1]
    assert PUBLIC_TITLE not in crawled["other_responder"]["/staff/"][1]

    # Emails ------------------------------------------------------------------------------------
    emails = smtp_sink.messages
    author_address = canaries.email_address.lower()
    to_author = [e for e in emails if author_address in (r.lower() for r in e.rcpt_tos)]
    to_others = [e for e in emails if e not in to_author]
    assert {r.lower() for e in to_others for r in e.rcpt_tos} == {
        "responder@riverside.example",
        "admin@riverside.example",
    }
    alerts = [e for e in to_others if PUBLIC_BODY in e.text]
    assert {e.rcpt_tos[0] for e in alerts} == {
        "responder@riverside.example",
        "admin@riverside.example",
    }
    assert any("reply" in e.text.lower() for e in to_others)  # the reply-published email
    # The author's own emails may name their original title: proves the canaries reached email.
    assert any(canaries.original_title in _email_text(e) for e in to_author)
    email_leaks = [
        (e.rcpt_tos, e.subject, canaries.found_in(_email_text(e)))
        for e in to_others
        if canaries.found_in(_email_text(e))
    ]
    assert email_leaks == [], f"private data in a staff email: {email_leaks}"

    # Logs --------------------------------------------------------------------------------------
    assert caplog.records, "nothing was logged: the log capture is not working"
    record_leaks = []
    for record in caplog.records:
        text = "\n".join(
            str(part)
            for part in (record.getMessage(), record.args, record.exc_text, record.__dict__)
        )
        if canaries.found_in(text):
            record_leaks.append((record.name, record.levelname, record.getMessage()))
    assert record_leaks == [], f"private data in a log record: {record_leaks}"
    assert "outbox" in log_lines.getvalue()
    for line in log_lines.getvalue().splitlines():
        json.loads(line)  # one JSON object a line: nothing can forge a second line
        assert canaries.found_in(line) == [], f"private data in a log line: {line}"
    assert canaries.found_in(caplog.text) == []
    captured = capsys.readouterr()
    assert canaries.found_in(captured.out) == []
    assert canaries.found_in(captured.err) == []

    # The audit log records who did what, never the words ---------------------------------------
    for event in AuditEvent.objects.all():
        text = json.dumps(
            {
                "label": event.actor_label,
                "object": event.object_id,
                "changes": event.changes,
                "reason": event.reason,
            },
            default=str,
        )
        assert canaries.found_in(text) == [], (event.action, text)
