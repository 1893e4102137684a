"""The staff home page: stories in my organisation's scope."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.lib.errors import page_status
from carestory.stories.forms import StoryPageForm, story_page_links
from carestory.stories.selectors import stories_published_page
from carestory.subscriptions.selectors import memberships_for, scope_services_for

STORIES_PER_PAGE = 20


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Stories about the services in the member's scope, newest first, by keyset."""
    user = request.user
    assert isinstance(user, User)
    memberships = memberships_for(user=user)
    scope = scope_services_for(user=user)
    form = StoryPageForm(request.GET)
    context: dict[str, Any] = {"memberships": memberships, "page": None, "form": form}
    if scope:
        after, before = form.cursor()
        page = stories_published_page(
            service=scope, size=STORIES_PER_PAGE, after=after, before=before
        )
        context |= {"page": page, **story_page_links(page)}
    return render(request, "subscriptions/dashboard.html", context, status=page_status(form))
