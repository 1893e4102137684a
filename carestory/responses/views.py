"""Staff respond to a story from its page."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.responses.forms import ResponseForm
from carestory.responses.services import NotAllowed, response_post
from carestory.stories.selectors import story_get_published
from carestory.subscriptions.selectors import membership_covering


@staff_required
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, public_id: str) -> HttpResponse:
    story = story_get_published(public_id=public_id)
    user = request.user
    assert isinstance(user, User)
    membership = membership_covering(user=user, services=story.services.all(), responders_only=True)
    if membership is None:
        raise Http404
    form = ResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            response = response_post(
                story=story,
                responder=user,
                body=data["body"],
                change=data["change"],
                change_description=data["change_description"],
                idempotency_key=data["idempotency_key"],
            )
        except NotAllowed as exc:
            raise Http404 from exc
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "responses/sent.html", {"story": story, "response": response})
    return render(
        request,
        "responses/respond.html",
        {"story": story, "form": form, "membership": membership},
        status=400 if form.errors else 200,
    )
