"""The public read API, version 1: /api/v1/openapi.json, and a readable page at /api/v1/docs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema
from ninja.errors import HttpError, Throttled
from pydantic import Field

from carestory.api.schemas import (
    ErrorOut,
    ReplyOut,
    ResponseOut,
    ServiceOut,
    ServiceRef,
    StoryDetailOut,
    StoryOut,
    TagOut,
)
from carestory.lib.ratelimit import API, ClientThrottle
from carestory.lib.urls import absolute_url
from carestory.pagecache.middleware import mark_public_page
from carestory.services.models import Service
from carestory.services.selectors import service_get, service_search_services
from carestory.stories.models import Story
from carestory.stories.selectors import stories_published, story_get_published

api = NinjaAPI(
    title="Carestory API",
    version="1",
    description="Published stories, responses and services. Read-only; public data only.",
    urls_namespace="api-v1",
    docs_url=None,  # our own page (carestory.api.views.docs) works under our CSP, no CDN
    throttle=[ClientThrottle(API)],  # per client, shared by all processes (lib/ratelimit.py)
)


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    """429 in the API's error shape; ninja adds the Retry-After header."""
    detail = _("Too many requests from your network. Wait %(seconds)s seconds and try again.")
    return api.create_response(request, {"detail": detail % {"seconds": exc.wait or 1}}, status=429)


def _not_found() -> HttpError:
    """404 in the API's error shape, ``{"detail": "Not Found"}``: the selectors answer None."""
    return HttpError(404, "Not Found")


class Page(Schema):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


def _story(story: Story) -> StoryOut:
    return StoryOut(
        id=story.public_id,
        title=story.title,
        body=story.body,
        screen_name=story.screen_name,
        author_role=story.author_role,
        published_at=story.published_at,
        services=[ServiceRef(code=s.code, name=s.name) for s in story.services.all()],
        tags=[
            TagOut(name=st.tag.name, group=st.tag.group, polarity=st.polarity)
            for st in story.story_tags.all()
        ],
        response_count=getattr(story, "published_response_count", 0),
        url=absolute_url("stories:detail", story.public_id),
    )


def _service(service: Service) -> ServiceOut:
    return ServiceOut(
        code=service.code,
        name=service.name,
        type=service.kind,
        parent_code=service.parent.code if service.parent else None,
        address=service.address,
        postcode=service.postcode,
        is_open=service.is_open,
        url=absolute_url("services:detail", service.code),
    )


@api.get("/stories", response=list[StoryOut], tags=["stories"])
def list_stories(
    request: HttpRequest, page: Query[Page], service: str | None = None
) -> list[StoryOut]:
    """Published stories, newest first; `service` limits to a service and everything below it."""
    mark_public_page(request)
    scope = None
    if service:
        scope = service_get(code=service)
        if scope is None:
            raise _not_found()
    stories = stories_published(service=scope)[page.offset : page.offset + page.limit]
    return [_story(s) for s in stories]


@api.get("/stories/{story_id}", response={200: StoryDetailOut, 404: ErrorOut}, tags=["stories"])
def get_story(request: HttpRequest, story_id: str) -> StoryDetailOut:
    mark_public_page(request)
    story = story_get_published(public_id=story_id)
    if story is None:
        raise _not_found()
    story.published_response_count = len(story.published_responses)  # type: ignore[attr-defined]
    responses = [
        ResponseOut(
            id=r.pk,
            body=r.body,
            responder_name=r.responder_name,
            responder_job_title=r.responder_job_title,
            organisation=r.subscription.name,
            change=r.change,
            change_description=r.change_description,
            published_at=r.published_at,
            replies=[
                ReplyOut(body=p.body, published_at=p.published_at) for p in r.published_replies
            ],
        )
        for r in story.published_responses  # type: ignore[attr-defined]
    ]
    return StoryDetailOut(**_story(story).model_dump(), responses=responses)


class ServiceSearch(Schema):
    q: str = Field(..., min_length=1, max_length=100)


@api.get("/services", response=list[ServiceOut], tags=["services"])
def list_services(request: HttpRequest, search: Query[ServiceSearch]) -> list[ServiceOut]:
    """Search services by name, code or postcode."""
    return [_service(s) for s in service_search_services(query=search.q)]


@api.get("/services/{code}", response={200: ServiceOut, 404: ErrorOut}, tags=["services"])
def get_service(request: HttpRequest, code: str) -> ServiceOut:
    mark_public_page(request)
    service = service_get(code=code)
    if service is None:
        raise _not_found()
    return _service(service)
