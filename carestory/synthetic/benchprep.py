"""What bench/run.py needs from the database before it starts the server: signed-in sessions
for a synthetic responder and moderator, and the ids, codes and cursor its pages use; and,
afterwards, the removal of the stories its POST measurement made."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.db.models import Count

from carestory.accounts.models import SignInToken, User
from carestory.accounts.signin import MFA_DONE, SESSION_MFA_KEY, SESSION_VIA_KEY
from carestory.outbox.models import OutboxMessage
from carestory.responses.models import ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import (
    Story,
    StoryFindings,
    StoryRevision,
    StoryService,
    StoryTag,
    Tag,
)
from carestory.stories.selectors import StoryCursor
from carestory.synthetic.generate import DOMAIN, SUBSCRIPTION_PREFIX

POST_DOMAIN = "bench-post.carestory.invalid"
DEEP_POSITION = 20_000
"""How far down a big trust's stories the "deep keyset page" starts (page 1,000 of 20)."""


def _session_for(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    # A finished staff sign-in: password, then the second factor (accounts/signin.py).
    session[SESSION_VIA_KEY] = "password"
    session[SESSION_MFA_KEY] = MFA_DONE
    session.set_expiry(settings.SESSION_COOKIE_AGE)
    session.create()
    assert session.session_key is not None
    return session.session_key


def _big_service() -> Service:
    rtr = Service.objects.filter(code="RTR", is_open=True).first()
    if rtr is not None:
        return rtr
    top = (
        StoryService.objects.values("service_id")
        .annotate(n=Count("id"))
        .order_by("-n", "service_id")
        .first()
    )
    if top is None:
        raise RuntimeError("no stories: generate a dataset first")
    return Service.objects.get(pk=top["service_id"])


def busiest_gp_practice() -> Service | None:
    """The GP practice the most stories are about (ties: the lowest code); None if none is."""
    row = (
        StoryService.objects.filter(service__kind=Service.Kind.GP_PRACTICE)
        .values("service__code")
        .annotate(n=Count("id"))
        .order_by("-n", "service__code")
        .first()
    )
    return Service.objects.get(code=row["service__code"]) if row else None


def _gp_service() -> str:
    practice = Service.objects.filter(code="A81001").first()
    if practice is not None and StoryService.objects.filter(service=practice).exists():
        return practice.code
    busiest = busiest_gp_practice()
    return busiest.code if busiest is not None else _big_service().code


def prepare(*, stories: int, seed: int) -> dict[str, Any]:
    big = _big_service()
    subtree = Service.objects.subtree_of(big).values("pk")
    in_big = (
        Story.objects.published()
        .filter(pk__in=StoryService.objects.filter(service__in=subtree).values("story"))
        .order_by("-published_at", "-id")
    )
    total_big = in_big.count()
    position = min(DEEP_POSITION, max(total_big // 2, 0))
    deep = in_big[position] if total_big else None
    staff = (
        User.objects.filter(
            email__endswith=f"@{DOMAIN}",
            memberships__role="responder",
            memberships__subscription__code=f"{SUBSCRIPTION_PREFIX}{big.code}"[:20],
        )
        .order_by("email")
        .first()
    ) or User.objects.filter(email__startswith="responder", email__endswith=f"@{DOMAIN}").order_by(
        "email"
    ).first()
    moderator = (
        User.objects.filter(email__endswith=f"@{DOMAIN}", is_moderator=True)
        .order_by("email")
        .first()
    )
    if staff is None or moderator is None:
        raise RuntimeError("no synthetic staff: generate a dataset first")
    answered = (
        Response.objects.filter(status=ModerationStatus.PUBLISHED, story__status="published")
        .order_by("-published_at")
        .values_list("story__public_id", flat=True)
        .first()
    )
    queue = Story.objects.in_moderation()
    first_waiting = queue.order_by("-urgent", "verified_at", "id").first()
    good = Tag.objects.filter(group=Tag.Group.ASPECT).order_by("slug").first()
    feeling = Tag.objects.filter(group=Tag.Group.FEELING, polarity__gt=0).order_by("slug").first()
    assert good is not None and feeling is not None
    return {
        "stories": stories,
        "seed": seed,
        "staff_session": _session_for(staff),
        "moderator_session": _session_for(moderator),
        "staff_user": staff.email,
        "moderator_user": moderator.email,
        "big_service": big.code,
        "big_service_stories": total_big,
        "deep_cursor": StoryCursor.of(deep).encode() if deep else "",
        "deep_page": position // 20 + 1,
        "gp_service": _gp_service(),
        "story": answered or Story.objects.published().values_list("public_id", flat=True)[0],
        "queue": queue.count(),
        "queue_story": first_waiting.public_id if first_waiting else "",
        "post_service": big.code,
        "good_tag": good.pk,
        "feeling_tag": feeling.pk,
        "database_bytes": _database_bytes(),
    }


def _database_bytes() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


@transaction.atomic
def posts_delete() -> int:
    """Remove the stories (and their rows, tokens and outbox messages) that the POST
    measurement made; their authors' addresses end in @bench-post.carestory.invalid."""
    authors = User.objects.filter(email__endswith=f"@{POST_DOMAIN}")
    stories = Story.objects.filter(author__in=authors)
    ids = list(stories.values_list("pk", flat=True))
    OutboxMessage.objects.filter(to_email__endswith=f"@{POST_DOMAIN}").delete()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        OutboxMessage.objects.filter(job_name="stories.check", payload__story_id__in=chunk).delete()
    SignInToken.objects.filter(user__in=authors).delete()
    StoryRevision.objects.filter(story__in=stories).delete()
    StoryTag.objects.filter(story__in=stories).delete()
    StoryService.objects.filter(story__in=stories).delete()
    StoryFindings.objects.filter(story__in=stories).delete()  # kept by the check job
    count = stories._raw_delete(stories.db)
    authors._raw_delete(authors.db)
    return int(count)
