"""The staff workspace at /staff/: the stories in my scope, filtered and saved; one story's
staff page (progress, who read it, who is answering, staff tags). Anything outside the scope,
or not published, is 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.lib.errors import attempt, page_status
from carestory.stories.models import Story
from carestory.workspace.forms import SavedSearchForm, StaffTagForm, WorkspaceFilterForm
from carestory.workspace.models import StaffTag
from carestory.workspace.selectors import (
    Scope,
    answering_now,
    readers_of,
    saved_search_for,
    saved_searches_for,
    staff_tag_names,
    staff_tags_visible,
    story_for_staff,
    story_progress,
    workspace_page,
    workspace_scope,
)
from carestory.workspace.services import (
    administered_ids,
    saved_search_create,
    saved_search_delete,
    staff_tag_add,
    staff_tag_removable,
    staff_tag_remove,
    story_answering_start,
    story_read_record,
    workspace_filters_clean,
)

STORIES_PER_PAGE = 20


def _scope(request: HttpRequest) -> Scope:
    user = request.user
    assert isinstance(user, User)
    return workspace_scope(user=user)


@staff_required
def workspace(request: HttpRequest) -> HttpResponse:
    """Stories in my scope with filters, newest or most critical first, by keyset."""
    scope = _scope(request)
    form = WorkspaceFilterForm(request.GET, staff_tag_choices=staff_tag_names(scope=scope))
    context: dict[str, Any] = {
        "scope": scope,
        "form": form,
        "page": None,
        "saved_searches": saved_searches_for(user=scope.user),
        "save_form": SavedSearchForm(initial={"query": form.query()}),
    }
    if scope.roots and form.is_valid():
        checked = attempt(lambda: workspace_filters_clean(scope=scope, given=form.given()), form)
        if checked.done and checked.value is not None:
            page = workspace_page(
                scope=scope,
                filters=checked.value,
                after=form.cleaned_data["after"],
                size=STORIES_PER_PAGE,
            )
            context["page"] = page
            if page.older is not None:
                context["older_url"] = "?" + form.query(after=page.older.encode())
            if form.cleaned_data["after"] is not None:
                context["first_url"] = "?" + form.query()
    return render(request, "workspace/workspace.html", context, status=page_status(form))


def _story_or_404(scope: Scope, public_id: str) -> Story:
    story = story_for_staff(scope=scope, public_id=public_id)
    if story is None:
        raise Http404
    return story


def _story_page(
    request: HttpRequest, scope: Scope, story: Story, tag_form: StaffTagForm | None = None
) -> HttpResponse:
    tags = staff_tags_visible(scope=scope, story=story)
    administers = administered_ids(scope)
    for tag in tags:
        tag.removable = staff_tag_removable(  # type: ignore[attr-defined]
            scope=scope, tag=tag, administers=administers
        )
    context = {
        "story": story,
        "can_respond": scope.can_respond(),
        "readers": readers_of(scope=scope, story=story),
        "answering": answering_now(scope=scope, story=story),
        "staff_tags": tags,
        "tag_form": tag_form or StaffTagForm(),
    }
    return render(request, "workspace/story.html", context, status=page_status(tag_form))


@staff_required
def story(request: HttpRequest, public_id: str) -> HttpResponse:
    """The staff page of a story; opening it records that I read it."""
    scope = _scope(request)
    found = _story_or_404(scope, public_id)
    story_read_record(scope=scope, story=found)
    found.progress = story_progress(scope=scope, story=found)  # type: ignore[attr-defined]
    return _story_page(request, scope, found)


@staff_required
@require_POST
def respond(request: HttpRequest, public_id: str) -> HttpResponse:
    """Mark me as answering (others see it for 30 minutes or until I send), then the form."""
    scope = _scope(request)
    found = _story_or_404(scope, public_id)
    attempt(lambda: story_answering_start(scope=scope, story=found))
    return redirect("responses:respond", found.public_id)


@staff_required
@require_POST
def tag_add(request: HttpRequest, public_id: str) -> HttpResponse:
    scope = _scope(request)
    found = _story_or_404(scope, public_id)
    form = StaffTagForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        added = attempt(
            lambda: staff_tag_add(
                scope=scope,
                story=found,
                name=data["name"],
                visibility=data["visibility"],
                polarity=data["polarity"],
            ),
            form,
        )
        if added.done:
            return redirect("workspace:story", found.public_id)
    return _story_page(request, scope, found, tag_form=form)


@staff_required
@require_POST
def tag_remove(request: HttpRequest, public_id: str, tag_id: int) -> HttpResponse:
    scope = _scope(request)
    found = _story_or_404(scope, public_id)
    tag = StaffTag.objects.filter(pk=tag_id, story=found).select_related("story").first()
    if tag is None:
        raise Http404
    attempt(lambda: staff_tag_remove(scope=scope, tag=tag))
    return redirect("workspace:story", found.public_id)


@staff_required
@require_http_methods(["GET", "POST"])
def searches(request: HttpRequest) -> HttpResponse:
    """My saved searches; POST saves the current filters under a name."""
    scope = _scope(request)
    form = SavedSearchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = attempt(
            lambda: saved_search_create(user=scope.user, name=data["name"], query=data["query"]),
            form,
        )
        if saved.done:
            return redirect("workspace:searches")
    context = {"searches": saved_searches_for(user=scope.user), "form": form}
    return render(request, "workspace/searches.html", context, status=page_status(form))


@staff_required
def search_run(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    search = saved_search_for(user=scope.user, pk=pk)
    if search is None:
        raise Http404
    return redirect(f"{reverse('subscriptions:dashboard')}?{search.query}")


@staff_required
@require_POST
def search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    search = saved_search_for(user=scope.user, pk=pk)
    if search is None:
        raise Http404
    attempt(lambda: saved_search_delete(user=scope.user, search=search))
    return redirect("workspace:searches")
