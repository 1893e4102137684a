"""The bench-only pieces: floor view and query headers only under bench settings; targets."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from carestory.accounts.models import User
from carestory.outbox.models import OutboxMessage
from carestory.services.demo import demo_postcodes_load, demo_tree_load
from carestory.stories.models import Story, Tag
from carestory.stories.vocabulary import tags_ensure
from carestory.synthetic import bench_settings
from carestory.synthetic.benchprep import POST_DOMAIN, posts_delete, prepare
from carestory.synthetic.generate import synthetic_generate

pytestmark = pytest.mark.django_db


def test_the_site_has_no_floor_view_or_query_headers(client: Client) -> None:
    assert "carestory.synthetic.bench.QueryCountMiddleware" not in settings.MIDDLEWARE
    assert client.get("/__bench__/floor").status_code == 404
    assert "X-Bench-Queries" not in client.get("/").headers


@override_settings(ROOT_URLCONF=bench_settings.ROOT_URLCONF, MIDDLEWARE=bench_settings.MIDDLEWARE)
def test_bench_settings_serve_the_floor_and_count_queries(client: Client) -> None:
    floor = client.get("/__bench__/floor")
    assert floor.status_code == 200
    assert floor.content == b"ok"
    assert floor["X-Bench-Queries"] == "0"

    tags_ensure(Tag)
    demo_tree_load()
    synthetic_generate(stories=30, seed=3)
    page = client.get("/stories/")
    assert page.status_code == 200
    assert int(page["X-Bench-Queries"]) >= 2
    assert float(page["X-Bench-SQL-ms"]) > 0
    assert float(page["X-Bench-View-ms"]) >= float(page["X-Bench-SQL-ms"])


def test_prepare_gives_signed_in_sessions_and_targets() -> None:
    tags_ensure(Tag)
    demo_tree_load()
    demo_postcodes_load()
    synthetic_generate(stories=200, seed=4)
    targets = prepare(stories=200, seed=4)

    assert targets["big_service"] == "RTR"
    assert targets["staff_user"].startswith("responder1.syn-rtr@")
    session = Session.objects.get(session_key=targets["staff_session"])
    assert session.get_decoded()["_auth_user_id"] == str(
        User.objects.get(email=targets["staff_user"]).pk
    )
    assert Story.objects.published().filter(public_id=targets["story"]).exists()
    assert Story.objects.in_moderation().filter(public_id=targets["queue_story"]).exists()
    assert targets["queue"] == Story.objects.in_moderation().count()
    _micros, pk = targets["deep_cursor"].split(".")
    assert Story.objects.published().filter(pk=int(pk)).exists()

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = targets["staff_session"]
    assert client.get("/staff/").status_code == 200
    client.cookies[settings.SESSION_COOKIE_NAME] = targets["moderator_session"]
    assert client.get("/moderation/").status_code == 200


def test_posts_delete_removes_only_the_bench_posts() -> None:
    tags_ensure(Tag)
    demo_tree_load()
    synthetic_generate(stories=20, seed=5)
    before = Story.objects.count()
    client = Client()
    for n in range(3):
        response = client.post(
            "/tell-your-story/",
            {
                "service": "RTR",
                "idempotency_key": f"00000000-0000-4000-8000-00000000000{n}",
                "email": f"p1.1.{n}@{POST_DOMAIN}",
                "title": "Kind and quick care",
                "body": "The nurse explained everything and the doctor listened to me.",
                "author_role": "patient",
                "screen_name": "Bench patient",
                "consent": "on",
            },
        )
        assert response.status_code == 302, response.content[:500]
    assert Story.objects.count() == before + 3
    assert OutboxMessage.objects.exists()

    assert posts_delete() == 3
    assert Story.objects.count() == before
    assert not User.objects.filter(email__endswith=f"@{POST_DOMAIN}").exists()
    assert not OutboxMessage.objects.filter(to_email__endswith=f"@{POST_DOMAIN}").exists()
    assert not OutboxMessage.objects.filter(job_name="stories.check").exists()
