"""The staff home page: stories in my organisation's scope."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.stories.selectors import stories_published
from carestory.subscriptions.selectors import memberships_for, scope_filter_for


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    memberships = memberships_for(user=user)
    scope = scope_filter_for(user=user)
    page = None
    if scope is not None:
        stories = stories_published().filter(scope).distinct()
        page = Paginator(stories, 20).get_page(request.GET.get("page"))
    return render(
        request, "subscriptions/dashboard.html", {"memberships": memberships, "page": page}
    )
