"""Reads of stories. Public reads only ever see published stories and their public fields."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q
from django.http import Http404

from carestory.accounts.models import User
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import Story, StoryQuerySet, StoryTag


def _public_prefetch(qs: StoryQuerySet) -> StoryQuerySet:
    return qs.prefetch_related(
        "services__parent",
        Prefetch("story_tags", queryset=StoryTag.objects.select_related("tag")),
    ).annotate(
        published_response_count=Count(
            "responses", filter=Q(responses__status=ModerationStatus.PUBLISHED), distinct=True
        )
    )


def stories_published(*, service: Service | None = None) -> StoryQuerySet:
    """Published stories, newest first, optionally within a service's subtree."""
    qs = Story.objects.published()
    if service is not None:
        ids = Service.objects.subtree_of(service).values("pk")
        qs = qs.filter(
            pk__in=Story.services.through.objects.filter(service__in=ids).values("story")
        )
    return _public_prefetch(qs.order_by("-published_at", "-id"))


def story_get_published(*, public_id: str) -> Story:
    story = (
        Story.objects.published()
        .filter(public_id=public_id)
        .prefetch_related(
            "services__parent",
            Prefetch("story_tags", queryset=StoryTag.objects.select_related("tag")),
            Prefetch(
                "responses",
                queryset=Response.objects.published()
                .select_related("subscription")
                .prefetch_related(
                    Prefetch(
                        "replies",
                        queryset=AuthorReply.objects.published(),
                        to_attr="published_replies",
                    )
                ),
                to_attr="published_responses",
            ),
        )
        .first()
    )
    if story is None:
        raise Http404
    return story


def story_get_for_author(*, public_id: str, author: User) -> Story:
    story = (
        Story.objects.filter(public_id=public_id, author_id=author.pk)
        .prefetch_related("services")
        .first()
    )
    if story is None:
        raise Http404
    return story


def stories_for_author(*, author: User) -> StoryQuerySet:
    return Story.objects.filter(author_id=author.pk).order_by("-submitted_at")
