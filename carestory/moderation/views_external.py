"""Moderation pages for people outside the moderation team: the author answering a
moderator's question (by emailed link), and a provider's administrators reviewing an approved
story before it is published."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from carestory.accounts.models import User
from carestory.lib.errors import Outcome, attempt, page_status
from carestory.moderation.forms import AnswerForm, ProviderReviewForm
from carestory.moderation.models import ProviderReview
from carestory.moderation.selectors import (
    REVIEW_VISIBLE_STATUSES,
    provider_review_for,
    provider_review_pending,
)
from carestory.moderation.services.provider_review import (
    PROVIDER_REVIEW_HOURS,
    provider_review_go_ahead,
    provider_review_request,
)
from carestory.moderation.services.questions import open_question_for_token, story_question_answer


def _link_not_valid(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/answer.html", {"valid": False}, status=404)


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the question (mail scanners fetch links: nothing is used up); POST answers."""
    found = open_question_for_token(raw_token=token)
    if found is None:
        return _link_not_valid(request)
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["answer"]
        outcome = attempt(lambda: story_question_answer(raw_token=token, answer=text), form)
        if outcome.done and outcome.value is None:
            return _link_not_valid(request)
        if outcome.done:
            return render(request, "moderation/answered.html", {"story": outcome.value})
    return render(
        request,
        "moderation/answer.html",
        {"valid": True, "story": found.story, "question": found.question, "form": form},
        status=page_status(form),
    )


@require_http_methods(["GET", "POST"])
def provider_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Only administrators of a subscription covering the story; anyone else gets a 404.

    The page shows the approved public version only: never the author or their original.
    """
    user = request.user
    if not isinstance(user, User):
        raise Http404
    review = provider_review_for(review_id=pk, user=user)
    if review is None:
        raise Http404
    story = review.story
    pending = provider_review_pending(review)
    form = ProviderReviewForm(request.POST or None)
    outcome: Outcome[None] | None = None
    if request.method == "POST":
        if not pending:
            outcome = Outcome(conflict=True)  # answered or moved on meanwhile
        elif form.is_valid():
            outcome = attempt(lambda: _review_decide(form, review, user), form)
            if outcome.done:
                return redirect("provider_review:review", pk=review.pk)
        if outcome is not None and outcome.conflict:
            review.refresh_from_db()
            story.refresh_from_db()
            if story.status not in REVIEW_VISIBLE_STATUSES:
                raise Http404  # withdrawn meanwhile: gone
            pending = False
    return render(
        request,
        "moderation/provider_review.html",
        {
            "review": review,
            "story": story,
            "services": list(story.services.all()),
            "pending": pending,
            "form": form,
            "conflict": outcome is not None and outcome.conflict,
            "hours": PROVIDER_REVIEW_HOURS,
        },
        status=page_status(form, outcome),
    )


def _review_decide(form: ProviderReviewForm, review: ProviderReview, user: User) -> None:
    if form.decision == "go_ahead":
        provider_review_go_ahead(review=review, user=user)
    else:
        provider_review_request(review=review, user=user, reason=form.cleaned_data["reason"])
