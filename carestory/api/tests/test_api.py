"""The public read API: only published data, only allow-listed fields, clear 404s and 422s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from carestory.responses.models import ModerationStatus
from carestory.stories.models import Story, StoryTag, Tag
from conftest import World
from tests.factories import ReplyFactory, ResponseFactory, StoryFactory

pytestmark = pytest.mark.django_db

STORY_KEYS = {
    "id",
    "title",
    "body",
    "screen_name",
    "author_role",
    "published_at",
    "services",
    "tags",
    "response_count",
    "url",
}
DETAIL_KEYS = STORY_KEYS | {"responses"}
RESPONSE_KEYS = {
    "id",
    "body",
    "responder_name",
    "responder_job_title",
    "organisation",
    "change",
    "change_description",
    "published_at",
    "replies",
}
REPLY_KEYS = {"body", "published_at"}
SERVICE_KEYS = {"code", "name", "type", "parent_code", "address", "postcode", "is_open", "url"}

# Property names that would mean private data has a place in the public schema.
FORBIDDEN_PROPERTY_PARTS = (
    "email",
    "original",
    "age",
    "note",
    "criticality",
    "moderat",
    "rejection",
    "idempotency",
    "version",
    "consent",
    "withdrawn",
    "verified",
)


def _published(world: World, minutes_ago: int, **kwargs: Any) -> Story:
    story: Story = StoryFactory(
        published=True,
        published_at=timezone.now() - timedelta(minutes=minutes_ago),
        services=kwargs.pop("services", [world.ward]),
        **kwargs,
    )
    return story


def _get(client: Client, url: str, **params: Any) -> Any:
    return client.get(url, params)


# Listing -------------------------------------------------------------------------------------


def test_list_returns_only_published_stories_newest_first_with_allow_listed_keys(
    client: Client, world: World
) -> None:
    old = _published(world, 60, title="Older published story")
    new = _published(world, 5, title="Newer published story")
    middle = _published(world, 30, title="Middle published story")
    for trait in ("unverified", "rejected", "withdrawn"):
        StoryFactory(services=[world.ward], title=f"Hidden {trait}", **{trait: True})
    StoryFactory(services=[world.ward], title="Hidden in moderation")

    response = client.get("/api/v1/stories")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert [item["id"] for item in data] == [new.public_id, middle.public_id, old.public_id]
    for item in data:
        assert set(item) == STORY_KEYS
        assert not item["title"].startswith("Hidden")
    assert "Hidden" not in response.content.decode()


def test_list_item_values_are_the_public_version(client: Client, world: World) -> None:
    story = _published(
        world,
        1,
        original_title="Private original title",
        original_body="Private original body",
        title="Public title",
        body="Public body",
        postcode="ZZ9 9ZZ",
        age_group="45_54",
    )
    tag = Tag.objects.get(slug="staff-attitude")
    StoryTag.objects.create(story=story, tag=tag, polarity=1)
    ResponseFactory(story=story, subscription=world.subscription, published=True)
    ResponseFactory(story=story, subscription=world.subscription)  # in moderation: not counted

    response = client.get("/api/v1/stories")

    [item] = response.json()
    assert item["id"] == story.public_id
    assert item["title"] == "Public title"
    assert item["body"] == "Public body"
    assert item["screen_name"] == story.screen_name
    assert item["author_role"] == "patient"
    assert item["services"] == [{"code": "RXX01-W1", "name": "Ward 1"}]
    assert item["tags"] == [{"name": "Staff attitude", "group": "aspect", "polarity": 1}]
    assert item["response_count"] == 1
    assert item["url"].endswith(f"/stories/{story.public_id}/")
    text = response.content.decode()
    for private in ("Private original", "ZZ9 9ZZ", "45_54", story.author.email):
        assert private not in text


def test_list_service_filter_covers_the_subtree(client: Client, world: World) -> None:
    on_ward = _published(world, 3, services=[world.ward])
    on_hospital = _published(world, 2, services=[world.hospital])
    elsewhere = _published(world, 1, services=[world.other_ward])

    def ids(code: str) -> list[str]:
        response = client.get("/api/v1/stories", {"service": code})
        assert response.status_code == 200
        return [item["id"] for item in response.json()]

    assert ids("RXX") == [on_hospital.public_id, on_ward.public_id]
    assert ids("RXX01") == [on_hospital.public_id, on_ward.public_id]
    assert ids("RXX01-W1") == [on_ward.public_id]
    assert ids("rxx01-w1") == [on_ward.public_id]
    assert ids("RYY") == [elsewhere.public_id]
    assert ids("RXX99") == []


def test_list_service_filter_with_unknown_code_is_404(client: Client, world: World) -> None:
    _published(world, 1)

    response = client.get("/api/v1/stories", {"service": "NOPE404"})

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "100001"}, "offset"),
    ],
)
def test_list_bad_paging_is_422_with_a_message(
    client: Client, world: World, params: dict[str, str], field: str
) -> None:
    story = _published(world, 1, title="Should not be listed on a bad request")

    response = client.get("/api/v1/stories", params)

    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail"}
    errors = body["detail"]
    assert isinstance(errors, list)
    assert len(errors) == 1
    assert errors[0]["loc"][-1] == field
    assert errors[0]["msg"]
    assert story.title not in response.content.decode()


def test_list_paging(client: Client, world: World) -> None:
    stories = [_published(world, minutes, title=f"Paged {minutes}") for minutes in range(5, 0, -1)]
    newest_first = [s.public_id for s in reversed(stories)]

    first = client.get("/api/v1/stories", {"limit": "2"}).json()
    second = client.get("/api/v1/stories", {"limit": "2", "offset": "2"}).json()
    last = client.get("/api/v1/stories", {"limit": "100", "offset": "4"}).json()
    beyond = client.get("/api/v1/stories", {"offset": "50"}).json()

    assert [s["id"] for s in first] == newest_first[:2]
    assert [s["id"] for s in second] == newest_first[2:4]
    assert [s["id"] for s in last] == newest_first[4:]
    assert beyond == []


# Detail --------------------------------------------------------------------------------------


def test_detail_has_only_published_responses_and_replies(client: Client, world: World) -> None:
    story = _published(world, 1)
    published = ResponseFactory(
        story=story,
        subscription=world.subscription,
        responder=world.responder,
        responder_name="Rita Responder",
        responder_job_title="Matron",
        original_body="Original response text",
        body="Published response text",
        change="planned",
        change_description="New signs on the ward",
        published=True,
    )
    ResponseFactory(story=story, subscription=world.subscription, body="Response in moderation")
    ResponseFactory(
        story=story,
        subscription=world.subscription,
        body="Rejected response",
        status=ModerationStatus.REJECTED,
    )
    ReplyFactory(
        response=published,
        original_body="Original reply",
        body="Published reply",
        status=ModerationStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    ReplyFactory(response=published, body="Reply in moderation")
    ReplyFactory(response=published, body="Rejected reply", status=ModerationStatus.REJECTED)

    response = client.get(f"/api/v1/stories/{story.public_id}")

    assert response.status_code == 200
    data = response.json()
    assert set(data) == DETAIL_KEYS
    assert data["id"] == story.public_id
    assert data["response_count"] == 1
    [item] = data["responses"]
    assert set(item) == RESPONSE_KEYS
    assert item["id"] == published.pk
    assert item["body"] == "Published response text"
    assert item["responder_name"] == "Rita Responder"
    assert item["responder_job_title"] == "Matron"
    assert item["organisation"] == "Riverside NHS Trust"
    assert item["change"] == "planned"
    assert item["change_description"] == "New signs on the ward"
    [reply] = item["replies"]
    assert set(reply) == REPLY_KEYS
    assert reply["body"] == "Published reply"
    text = response.content.decode()
    for hidden in (
        "Response in moderation",
        "Rejected response",
        "Reply in moderation",
        "Rejected reply",
        "Original response text",
        "Original reply",
        "responder@riverside.example",
        story.author.email,
    ):
        assert hidden not in text


@pytest.mark.parametrize("state", ["in_moderation", "unverified", "rejected", "withdrawn"])
def test_detail_is_404_for_a_story_that_is_not_published(
    client: Client, world: World, state: str
) -> None:
    traits = {} if state == "in_moderation" else {state: True}
    story = StoryFactory(services=[world.ward], title=f"Secret {state} title", **traits)

    response = client.get(f"/api/v1/stories/{story.public_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert story.title not in response.content.decode()


def test_detail_is_404_for_a_random_id(client: Client, world: World) -> None:
    _published(world, 1)

    for story_id in ("doesnotexist0000", "0", "x" * 200, "%20"):
        response = client.get(f"/api/v1/stories/{story_id}")
        assert response.status_code == 404


def test_detail_becomes_404_once_withdrawn(client: Client, world: World) -> None:
    story = _published(world, 1, title="Soon withdrawn")
    assert client.get(f"/api/v1/stories/{story.public_id}").status_code == 200

    Story.objects.filter(pk=story.pk).update(
        status=Story.Status.WITHDRAWN, withdrawn_at=timezone.now()
    )

    response = client.get(f"/api/v1/stories/{story.public_id}")
    assert response.status_code == 404
    assert "Soon withdrawn" not in response.content.decode()
    assert client.get("/api/v1/stories").json() == []


# Services ------------------------------------------------------------------------------------


def test_services_search(client: Client, world: World) -> None:
    response = client.get("/api/v1/services", {"q": "Ward"})

    assert response.status_code == 200
    data = response.json()
    assert {item["code"] for item in data} == {"RXX01-W1", "RYY-W1"}
    for item in data:
        assert set(item) == SERVICE_KEYS
    ward = next(item for item in data if item["code"] == "RXX01-W1")
    assert ward["name"] == "Ward 1"
    assert ward["parent_code"] == "RXX01"
    assert ward["is_open"] is True
    assert ward["url"].endswith("/services/RXX01-W1/")


def test_services_search_by_code(client: Client, world: World) -> None:
    data = client.get("/api/v1/services", {"q": "rxx01"}).json()

    assert data[0]["code"] == "RXX01"


def test_services_search_with_no_match_is_an_empty_list(client: Client, world: World) -> None:
    response = client.get("/api/v1/services", {"q": "Nothing matches this"})

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 101}])
def test_services_search_needs_a_sensible_query(
    client: Client, world: World, params: dict[str, str]
) -> None:
    response = client.get("/api/v1/services", params)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "q"
    assert error["msg"]


def test_service_detail(client: Client, world: World) -> None:
    response = client.get("/api/v1/services/RXX01")

    assert response.status_code == 200
    data = response.json()
    assert set(data) == SERVICE_KEYS
    assert data["code"] == "RXX01"
    assert data["name"] == "Riverside Hospital"
    assert data["type"] == "hospital"
    assert data["parent_code"] == "RXX"

    trust = client.get("/api/v1/services/rxx").json()
    assert trust["parent_code"] is None

    closed = client.get("/api/v1/services/RXX99").json()
    assert closed["is_open"] is False


def test_service_detail_unknown_code_is_404(client: Client, world: World) -> None:
    response = client.get("/api/v1/services/NOPE404")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


# Schema --------------------------------------------------------------------------------------


def _openapi(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def test_openapi_is_served_and_lists_the_four_paths(client: Client, db: None) -> None:
    schema = _openapi(client)

    assert schema["info"]["title"] == "Carestory API"
    assert set(schema["paths"]) == {
        "/api/v1/stories",
        "/api/v1/stories/{story_id}",
        "/api/v1/services",
        "/api/v1/services/{code}",
    }
    for operations in schema["paths"].values():
        assert set(operations) == {"get"}


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    return properties


def _response_schema_names(schema: dict[str, Any]) -> set[str]:
    """Names of the component schemas reachable from any response body."""
    components = schema["components"]["schemas"]
    pending = [
        content["schema"]
        for operations in schema["paths"].values()
        for operation in operations.values()
        for response in operation["responses"].values()
        for content in response.get("content", {}).values()
    ]
    names: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in names:
                    names.add(name)
                    pending.append(components[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return names


def test_openapi_output_schemas_are_closed_and_have_no_private_fields(
    client: Client, db: None
) -> None:
    schema = _openapi(client)
    components = schema["components"]["schemas"]

    expected = {
        "StoryOut": STORY_KEYS,
        "StoryDetailOut": DETAIL_KEYS,
        "ResponseOut": RESPONSE_KEYS,
        "ReplyOut": REPLY_KEYS,
        "ServiceOut": SERVICE_KEYS,
        "ServiceRef": {"code", "name"},
        "TagOut": {"name", "group", "polarity"},
        "ErrorOut": {"detail"},
    }
    for name, keys in expected.items():
        assert name in components, name
        assert set(_properties(components[name])) == keys, name
    outputs = _response_schema_names(schema)
    assert outputs == set(expected)
    for name in outputs:
        assert components[name].get("additionalProperties") is False, name
    for name, component in components.items():
        for prop in component["properties"]:
            lowered = prop.lower()
            assert lowered != "author", (name, prop)
            assert not lowered.startswith("author_") or lowered == "author_role", (name, prop)
            for part in FORBIDDEN_PROPERTY_PARTS:
                assert part not in lowered, (name, prop)


def test_openapi_has_no_write_operations(client: Client, db: None) -> None:
    schema = _openapi(client)

    methods = {method for operations in schema["paths"].values() for method in operations}
    assert methods == {"get"}
    for method in ("post", "put", "patch", "delete"):
        response = client.generic(method.upper(), "/api/v1/stories")
        assert response.status_code == 405
