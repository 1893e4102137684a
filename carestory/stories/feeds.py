"""Atom feed of published stories: public fields only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import linebreaks
from django.utils.translation import gettext_lazy as _

from carestory.pagecache.middleware import mark_public_page
from carestory.stories.models import Story, StoryQuerySet
from carestory.stories.selectors import stories_published


class PublishedStoriesFeed(Feed):  # type: ignore[type-arg]
    feed_type = Atom1Feed
    title = _("Carestory: latest stories")
    link = "/stories/"
    subtitle = _("Stories of care, published after moderation")

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        mark_public_page(request)
        return super().__call__(request, *args, **kwargs)

    def items(self) -> StoryQuerySet:
        return stories_published()[:50]

    def item_title(self, item: Story) -> str:
        return item.title

    def item_description(self, item: Story) -> str:
        # Atom's summary is type="html": readers render it as HTML, so the plain text is
        # escaped here (paragraphs and line breaks kept). Markup in a story shows as text.
        return linebreaks(item.body, autoescape=True)

    def item_pubdate(self, item: Story) -> datetime | None:
        return item.published_at

    def item_author_name(self, item: Story) -> str:
        return item.screen_name
