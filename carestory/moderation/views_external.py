"""Moderation pages for people outside the moderation team: the author answering a
moderator's question (by emailed link), and a provider's administrators reviewing an approved
story before it is published."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from carestory.accounts.models import User
from carestory.lib.locking import ConflictError
from carestory.moderation.forms import AnswerForm, ProviderReviewForm
from carestory.moderation.models import ProviderReview
from carestory.moderation.selectors import REVIEW_VISIBLE_STATUSES, provider_review_for
from carestory.moderation.services.provider_review import (
    PROVIDER_REVIEW_HOURS,
    provider_review_go_ahead,
    provider_review_request,
)
from carestory.moderation.services.questions import open_question_for_token, story_question_answer
from carestory.stories.models import Story


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
        try:
            story = story_question_answer(raw_token=token, answer=form.cleaned_data["answer"])
        except ValidationError as exc:
            form.add_error("answer", exc)
        else:
            if story is None:
                return _link_not_valid(request)
            return render(request, "moderation/answered.html", {"story": story})
    return render(
        request,
        "moderation/answer.html",
        {"valid": True, "story": found.story, "question": found.question, "form": form},
        status=400 if form.errors else 200,
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
    pending = (
        review.outcome == ProviderReview.Outcome.PENDING
        and story.status == Story.Status.PROVIDER_REVIEW
    )
    form = ProviderReviewForm(request.POST or None)
    conflict = False
    if request.method == "POST":
        if not pending:
            conflict = True
        elif form.is_valid():
            try:
                if form.decision == "go_ahead":
                    provider_review_go_ahead(review=review, user=user)
                else:
                    provider_review_request(
                        review=review, user=user, reason=form.cleaned_data["reason"]
                    )
            except ConflictError:
                conflict = True
            except PermissionError as exc:
                raise Http404 from exc
            except ValidationError as exc:
                form.add_error("reason", exc)
            else:
                return redirect("provider_review:review", pk=review.pk)
        if conflict:
            review.refresh_from_db()
            story.refresh_from_db()
            if story.status not in REVIEW_VISIBLE_STATUSES:
                raise Http404  # withdrawn meanwhile: gone
            pending = False
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "moderation/provider_review.html",
        {
            "review": review,
            "story": story,
            "services": list(story.services.all()),
            "pending": pending,
            "form": form,
            "conflict": conflict,
            "hours": PROVIDER_REVIEW_HOURS,
        },
        status=status,
    )
