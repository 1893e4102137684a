"""Staff respond to a story from its page, and may change or delete the response for 30
minutes after sending it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.lib.errors import Outcome, attempt, page_status
from carestory.lib.locking import VersionForm
from carestory.responses.forms import ResponseEditForm, ResponseForm
from carestory.responses.models import RESPONSE_EDIT_WINDOW, Response
from carestory.responses.selectors import (
    on_behalf_choices,
    response_fast_track_decision,
    response_get_own,
    response_is_editable,
)
from carestory.responses.services import (
    EditWindowClosed,
    response_delete,
    response_edit,
    response_post,
)
from carestory.stories.models import Story
from carestory.stories.views import published_story_or_404
from carestory.subscriptions.models import Membership
from carestory.subscriptions.selectors import membership_covering
from carestory.workspace.selectors import workspace_scope
from carestory.workspace.services import story_answering_start

WINDOW_MINUTES = int(RESPONSE_EDIT_WINDOW.total_seconds() // 60)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _member_label(membership: Membership) -> str:
    person = membership.user
    label = person.full_name or person.email
    if person.job_title:
        label += f", {person.job_title}"
    return f"{label} ({membership.subscription.name})"


@staff_required
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, public_id: str) -> HttpResponse:
    """The respond page: opening it marks me as answering (the workspace's rule, as its
    Respond button does; sending ends it); an administrator may post on behalf of a member."""
    story = published_story_or_404(public_id)
    user = _user(request)
    membership = membership_covering(user=user, services=story.services.all(), responders_only=True)
    if membership is None:
        raise Http404
    if request.method == "GET":
        attempt(lambda: story_answering_start(scope=workspace_scope(user=user), story=story))
    behalf = [(m.user_id, _member_label(m)) for m in on_behalf_choices(admin=user, story=story)]
    form = ResponseForm(request.POST or None, on_behalf_choices=behalf)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = attempt(
            lambda: response_post(
                story=story,
                responder=user,
                idempotency_key=data["idempotency_key"],
                on_behalf_of_id=data["on_behalf_of"],
                **form.written(),
            ),
            form,
        ).value
        if response is not None:
            decision = response_fast_track_decision(
                responder=user, story=story, change=response.change
            )
            return render(
                request,
                "responses/sent.html",
                {
                    "story": story,
                    "response": response,
                    "decision": decision,
                    "editable": response_is_editable(response=response),
                    "window_minutes": WINDOW_MINUTES,
                },
            )
    # What the responder is told before sending: computed with the same function that decides
    # when the window ends (for a response without a change claim; a claim is always moderated).
    decision = response_fast_track_decision(
        responder=user, story=story, change=Response.Change.NONE
    )
    return render(
        request,
        "responses/respond.html",
        {
            "story": story,
            "form": form,
            "membership": membership,
            "on_behalf": bool(behalf),
            "decision": decision,
            "window_minutes": WINDOW_MINUTES,
        },
        status=page_status(form),
    )


@dataclass(frozen=True)
class _Own:
    """The signed-in responder's own response to a published story, and whether its window is
    still open (as read: the use case checks again)."""

    user: User
    story: Story
    response: Response
    editable: bool


def _own_response(request: HttpRequest, public_id: str, pk: int) -> _Own:
    """The signed-in responder's own response to a published story; 404 for anyone else."""
    story = published_story_or_404(public_id)
    user = _user(request)
    response = response_get_own(pk=pk, story=story, responder=user)
    if response is None:
        raise Http404
    return _Own(user, story, response, response_is_editable(response=response))


def _in_window(action: Callable[[], object]) -> Callable[[], str]:
    """The use case, answering "" when done, or what the closed edit window says.

    EditWindowClosed is a ValidationError, but not a message on the form: the page turns
    read-only and says when the window ended (``responses/_closed_error.html``, in place of the
    form's error summary). So it is caught here, inside the use case, before attempt() would
    put it on the form."""

    def run() -> str:
        try:
            action()
        except EditWindowClosed as exc:
            return exc.text
        return ""

    return run


@staff_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, public_id: str, pk: int) -> HttpResponse:
    """Change the response within its window; afterwards the page says it is too late."""
    own = _own_response(request, public_id, pk)
    user, story, response, editable = own.user, own.story, own.response, own.editable
    posted = request.POST if request.method == "POST" and editable else None
    form = ResponseEditForm(
        posted,
        initial={
            "body": response.original_body,
            "change": response.change,
            "change_description": response.change_description,
            "version": response.version,
        },
    )
    closed_error = ""
    outcome: Outcome[str] | None = None
    if request.method == "POST":
        if not editable:
            closed_error = EditWindowClosed(response).text
        elif form.is_valid():
            data = form.cleaned_data
            outcome = attempt(
                _in_window(
                    lambda: response_edit(
                        response=response,
                        responder=user,
                        version=data["version"],
                        **form.written(),
                    )
                ),
                form,
            )
            closed_error = outcome.value or ""
            if outcome.done and not closed_error:
                return redirect(
                    reverse("responses:edit", args=[story.public_id, response.pk]) + "?saved=1"
                )
            if outcome.conflict:
                # Changed in another window: keep what was typed, against the new version.
                response.refresh_from_db()
                data_copy = request.POST.copy()
                data_copy["version"] = str(response.version)
                form = ResponseEditForm(data_copy)
                form.is_valid()
    if closed_error:
        response.refresh_from_db()
        editable = False
    change = form.data.get("change", response.change) if form.is_bound else response.change
    decision = response_fast_track_decision(responder=user, story=story, change=str(change))
    return render(
        request,
        "responses/edit.html",
        {
            "story": story,
            "response": response,
            "form": form,
            "editable": editable,
            "closed_error": closed_error,
            "conflict": outcome is not None and outcome.conflict,
            "saved": request.method == "GET" and request.GET.get("saved") == "1",
            "decision": decision,
            "window_minutes": WINDOW_MINUTES,
        },
        status=page_status(form, outcome, invalid=bool(closed_error)),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, public_id: str, pk: int) -> HttpResponse:
    """Ask, then remove the response entirely; only within its window."""
    own = _own_response(request, public_id, pk)
    user, story, response, editable = own.user, own.story, own.response, own.editable
    form = VersionForm(
        request.POST if request.method == "POST" else None, initial={"version": response.version}
    )
    closed_error = ""
    outcome: Outcome[str] | None = None
    if request.method == "POST":
        if not editable:
            closed_error = EditWindowClosed(response).text
        elif form.is_valid():
            version = form.cleaned_data["version"]
            outcome = attempt(
                _in_window(
                    lambda: response_delete(response=response, responder=user, version=version)
                ),
                form,
            )
            closed_error = outcome.value or ""
            if outcome.done and not closed_error:
                return render(request, "responses/deleted.html", {"story": story})
            if outcome.conflict:
                response.refresh_from_db()
                form = VersionForm(initial={"version": response.version})
    if closed_error:
        response.refresh_from_db()
        editable = False
    return render(
        request,
        "responses/delete.html",
        {
            "story": story,
            "response": response,
            "form": form,
            "editable": editable,
            "closed_error": closed_error,
            "conflict": outcome is not None and outcome.conflict,
        },
        status=page_status(form, outcome, invalid=bool(closed_error)),
    )
