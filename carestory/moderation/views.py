"""Moderators' screens: the queues and the workbench where a story is edited and decided."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.models import User
from carestory.lib.decorators import moderator_required
from carestory.lib.errors import Outcome, attempt, page_status
from carestory.lib.locking import VersionForm
from carestory.lib.text import normalise_text
from carestory.moderation.diff import text_diff_html
from carestory.moderation.forms import (
    ItemModerationForm,
    ServicesForm,
    StoryModerationForm,
)
from carestory.moderation.selectors import (
    Suggestion,
    claim_of,
    flag_names,
    moderation_queues,
    parse_suggestion_key,
    reply_for_moderation,
    response_for_moderation,
    story_findings,
    story_for_moderation,
    story_history,
    story_suggestions,
)
from carestory.moderation.services import claims, decisions, edits, questions, safeguarding
from carestory.moderation.services.edits import StoryEdit
from carestory.responses.models import AuthorReply, Response
from carestory.responses.moderation import (
    awaits_decision,
    reply_publish,
    reply_reject,
    response_publish,
    response_reject,
)
from carestory.services.models import Service
from carestory.services.selectors import no_service_message, services_by_codes
from carestory.stories.lifecycle import TRANSITIONS, can_change_services, can_decide
from carestory.stories.models import Criticality, Story, Tag
from carestory.stories.services import story_findings_store, story_tag_pairs

_S = Story.Status


def _moderator(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    moderator = _moderator(request)
    queues = moderation_queues()
    return render(
        request,
        "moderation/queue.html",
        {"queues": queues, "queue_list": list(queues.values()), "moderator": moderator},
    )


# --- The workbench --------------------------------------------------------------------------


def _story_or_404(public_id: str) -> Story:
    story = story_for_moderation(public_id=public_id)
    if story is None:
        raise Http404
    return story


# The transitions each workbench button may make (publishing approves instead when the provider
# reviews first); "save" makes none. Which buttons a story offers follows from the diagram
# (stories/lifecycle.TRANSITIONS), and who may press them from can_decide.
_BUTTON_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "save": (),
    "publish": ("story.publish", "story.approve"),
    "publish_signpost": ("story.publish", "story.approve"),
    "hold": ("story.safeguarding_hold",),
    "ask": ("story.question_ask",),
    "reject": ("story.reject",),
}
_MOVES = frozenset((source, action) for source, action, _target in TRANSITIONS)


def _decisions_from(status: str) -> tuple[str, ...]:
    """The workbench's decisions the lifecycle allows from ``status`` (none: not a state
    moderators decide in)."""
    return tuple(
        button
        for button in StoryModerationForm.ACTIONS
        if any((status, action) in _MOVES for action in _BUTTON_TRANSITIONS[button])
    )


def _actions_for(story: Story) -> tuple[str, ...]:
    """The buttons for ``story``: saving, and each decision its state allows (a held story is
    published or rejected, not held again or questioned)."""
    decisions = _decisions_from(story.status)
    return ("save", *decisions) if decisions else ()


def _initial_for(story: Story) -> dict[str, Any]:
    tags = list(story.story_tags.select_related("tag"))
    return {
        "version": story.version,
        "title": story.title,
        "body": story.body,
        "criticality": story.criticality,
        "good": [st.tag for st in tags if st.tag.group == Tag.Group.ASPECT and st.polarity > 0],
        "improve": [st.tag for st in tags if st.tag.group == Tag.Group.ASPECT and st.polarity < 0],
        "feelings": [st.tag for st in tags if st.tag.group == Tag.Group.FEELING],
        "service_codes": ", ".join(story.services.values_list("code", flat=True)),
    }


def _services_from(form: StoryModerationForm | ServicesForm) -> list[Service]:
    """The services the codes typed name, in order, once each; a code that names none is an
    error on the form. (None typed: the decision says a story needs one.)"""
    services, missing = services_by_codes(form.cleaned_data["service_codes"].split(","))
    if missing:
        form.add_error("service_codes", no_service_message(missing))
    return services


def _rebound(data: QueryDict, **values: str) -> StoryModerationForm:
    """The form with what the moderator typed, and some values replaced (a new version)."""
    copy = data.copy()
    for key, value in values.items():
        copy[key] = value
    return StoryModerationForm(copy)


def _conflict_context(story: Story, data: QueryDict) -> dict[str, Any]:
    """What the moderator typed against what is saved now, word by word."""
    if "title" not in data and "body" not in data:
        return {"typed": False}
    typed_title = normalise_text(data.get("title", ""))
    typed_body = normalise_text(data.get("body", ""))
    return {
        "typed": True,
        "typed_title": typed_title,
        "typed_body": typed_body,
        "title_diff": text_diff_html(story.title, typed_title),
        "body_diff": text_diff_html(story.body, typed_body),
    }


def _suggestions(story: Story) -> list[Suggestion] | None:
    """The suggested edits for the saved text: from the findings kept for it (by the check
    job); when the text has changed since, analysed now and kept for the next view."""
    checked = story_findings(story=story)
    if checked is None:
        return None
    if not checked.kept:
        story_findings_store(
            story=story, title=story.title, body=story.body, findings=checked.findings
        )
    return story_suggestions(story=story, findings=checked.findings)


def _render_story(
    request: HttpRequest,
    story: Story,
    *,
    form: StoryModerationForm | None = None,
    services_form: ServicesForm | None = None,
    conflict: dict[str, Any] | None = None,
    applied: str = "",
    status: int = 200,
) -> HttpResponse:
    moderator = _moderator(request)
    decides = can_decide(story, moderator)
    if decides and form is None:
        form = StoryModerationForm(initial=_initial_for(story))
    if not decides and services_form is None and can_change_services(story, moderator):
        services_form = ServicesForm(
            initial={
                "version": story.version,
                "service_codes": ", ".join(story.services.values_list("code", flat=True)),
            }
        )
    actions = _actions_for(story) if decides else ()
    suggestions = _suggestions(story) if decides else []
    context = {
        "story": story,
        "form": form if decides else None,
        "services_form": services_form,
        "can_decide": decides,
        "actions": actions,
        "conflict": conflict,
        "applied": applied,
        "claim": claim_of(story=story, user=moderator),
        "original_title_diff": text_diff_html(story.original_title, story.title),
        "original_body_diff": text_diff_html(story.original_body, story.body),
        "suggestions": suggestions or [],
        "checks_unavailable": decides and suggestions is None,
        "flags": flag_names(story.automod_flags),
        "suggested_criticality": (
            Criticality(story.suggested_criticality).label
            if story.suggested_criticality is not None
            else ""
        ),
        "history": story_history(story=story),
        "questions": story.questions.select_related("moderator"),
        "reviews": story.provider_reviews.select_related("decided_by"),
        "notes": story.moderator_notes.select_related("moderator"),
        "services": story.services.select_related("parent"),
    }
    return render(request, "moderation/story.html", context, status=status)


@moderator_required
@require_http_methods(["GET", "POST"])
def story_moderate(request: HttpRequest, public_id: str) -> HttpResponse:
    story = _story_or_404(public_id)
    moderator = _moderator(request)
    if request.method == "POST":
        return _story_post(request, story, moderator)
    if request.method == "GET" and can_decide(story, moderator):
        claims.story_claim(story=story, moderator=moderator)
    return _render_story(request, story)


def _story_post(request: HttpRequest, story: Story, moderator: User) -> HttpResponse:
    if not can_decide(story, moderator):
        if _decisions_from(story.status):
            raise Http404  # a state moderators decide in, but not this one (can_decide)
        # Someone else decided meanwhile: nothing is saved; show what was typed.
        return _render_story(
            request,
            story,
            conflict=_conflict_context(story, request.POST),
            status=page_status(conflict=True),
        )
    if "apply" in request.POST:
        return _apply_suggestion(request, story, moderator)
    form = StoryModerationForm(request.POST)
    if form.is_valid():
        services = _services_from(form)
        if form.action not in _actions_for(story):
            form.add_error(None, _("That decision is not available for this story"))
        if not form.errors:
            outcome = attempt(lambda: _decide(form, story, moderator, services), form)
            if outcome.conflict:
                return _conflict(request, story, moderator)
            if outcome.done and form.action == "save":
                return redirect("moderation:story", public_id=story.public_id)
            if outcome.done:
                return redirect("moderation:queue")
    return _render_story(request, story, form=form, status=page_status(form))


def _edit_from(form: StoryModerationForm, services: list[Service]) -> StoryEdit:
    """What the moderator typed, once, for whichever decision saves it."""
    data = form.cleaned_data
    tags = story_tag_pairs(
        good=list(data["good"]), improve=list(data["improve"]), feelings=list(data["feelings"])
    )
    return StoryEdit(
        version=data["version"],
        title=data["title"],
        body=data["body"],
        criticality=data["criticality"],
        tags=tuple(tags),
        services=tuple(services),
        note=data["note"],
    )


def _decide(
    form: StoryModerationForm, story: Story, moderator: User, services: list[Service]
) -> None:
    data = form.cleaned_data
    action = form.action
    if action == "reject":
        decisions.story_reject(
            story=story,
            moderator=moderator,
            version=data["version"],
            reason=data["reason"],
            message=data["message"],
            note=data["note"],
        )
        return
    edit = _edit_from(form, services)
    if action in ("publish", "publish_signpost"):
        decisions.story_publish(
            story=story, moderator=moderator, edit=edit, signpost=action == "publish_signpost"
        )
    elif action == "hold":
        safeguarding.story_safeguarding_hold(story=story, moderator=moderator, edit=edit)
    elif action == "ask":
        questions.story_question_ask(
            story=story, moderator=moderator, edit=edit, question=data["question"]
        )
    else:
        edits.story_moderate_save(story=story, moderator=moderator, edit=edit)


def _conflict(request: HttpRequest, story: Story, moderator: User) -> HttpResponse:
    """Someone saved first. Keep every word typed, show the difference from what is saved, and
    let the moderator save again over the new version once they have looked."""
    story.refresh_from_db()
    form = (
        _rebound(request.POST, version=str(story.version)) if can_decide(story, moderator) else None
    )
    return _render_story(
        request,
        story,
        form=form,
        conflict=_conflict_context(story, request.POST),
        status=page_status(conflict=True),
    )


def _moved_on(request: HttpRequest, story: Story) -> HttpResponse:
    """Someone decided or changed the story first (no text was typed here): the workbench as
    it is now, with the conflict message."""
    story.refresh_from_db()
    return _render_story(
        request,
        story,
        conflict=_conflict_context(story, QueryDict()),
        status=page_status(conflict=True),
    )


def _apply_suggestion(request: HttpRequest, story: Story, moderator: User) -> HttpResponse:
    """Apply one suggestion to the saved text without losing anything else typed in the form."""
    key = parse_suggestion_key(request.POST.get("apply", ""))
    form = StoryModerationForm(request.POST)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    problem = ""
    if key is None:
        problem = edits.suggestion_gone_message()
    elif version == story.version:
        saved = story.title if key[0] == "title" else story.body
        if normalise_text(request.POST.get(key[0], "")) != saved:
            problem = _(
                "You have changed the text since it was saved. Save your changes first, then "
                "apply the suggestion, or make the change by hand."
            )
    if key is None or problem:
        form.full_clean()
        form.add_error(None, problem)
        return _render_story(request, story, form=form, status=page_status(form))
    field, start, end, label = key
    outcome = attempt(
        lambda: edits.story_suggestion_apply(
            story=story,
            moderator=moderator,
            version=version,
            field=field,
            start=start,
            end=end,
            label=label,
        ),
        form,
    )
    if outcome.conflict:
        return _conflict(request, story, moderator)
    new_text = outcome.value
    if new_text is None:
        return _render_story(request, story, form=form, status=page_status(form, outcome))
    story.refresh_from_db()
    form = _rebound(request.POST, version=str(story.version), **{field: new_text})
    return _render_story(
        request, story, form=form, applied=_("Suggestion applied and saved."), status=200
    )


@moderator_required
@require_POST
def story_release(request: HttpRequest, public_id: str) -> HttpResponse:
    story = _story_or_404(public_id)
    claims.story_claim_release(story=story, moderator=_moderator(request))
    return redirect("moderation:queue")


@moderator_required
@require_POST
def story_services(request: HttpRequest, public_id: str) -> HttpResponse:
    story = _story_or_404(public_id)
    moderator = _moderator(request)
    form = ServicesForm(request.POST)
    if form.is_valid():
        services = _services_from(form)
        if not form.errors:
            version = form.cleaned_data["version"]
            outcome = attempt(
                lambda: edits.story_services_change(
                    story=story, moderator=moderator, version=version, services=services
                ),
                form,
            )
            if outcome.conflict:
                return _moved_on(request, story)
            if outcome.done:
                messages.success(request, _("The story's services were changed."))
                return redirect("moderation:story", public_id=story.public_id)
    return _render_story(request, story, services_form=form, status=page_status(form))


@moderator_required
@require_POST
def story_question_cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    story = _story_or_404(public_id)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _render_story(request, story, status=page_status(form))
    version = form.cleaned_data["version"]
    outcome = attempt(
        lambda: questions.story_question_cancel(
            story=story, moderator=_moderator(request), version=version
        ),
        form,
    )
    if outcome.conflict:
        return _moved_on(request, story)
    messages.success(request, _("The story is back in the queue."))
    return redirect("moderation:story", public_id=story.public_id)


# --- Staff responses and author replies -----------------------------------------------------


def _item_view(
    request: HttpRequest,
    item: Response | AuthorReply,
    publish: Any,
    reject: Any,
    template: str,
    extra: dict[str, Any],
) -> HttpResponse:
    moderator = request.user
    form = ItemModerationForm(
        request.POST or None, initial={"version": item.version, "body": item.body}
    )
    outcome: Outcome[None] | None = None
    if request.method == "POST":
        if not awaits_decision(item):
            outcome = Outcome(conflict=True)  # decided meanwhile: nothing to do
        elif form.is_valid():
            data = form.cleaned_data
            decide = (
                partial(reject, reason=data["reason"])
                if request.POST.get("action") == "reject"
                else partial(publish, body=data["body"])
            )
            outcome = attempt(lambda: decide(moderator=moderator, version=data["version"]), form)
            if outcome.done:
                return redirect("moderation:queue")
    conflict = outcome is not None and outcome.conflict
    return render(
        request,
        template,
        {"item": item, "form": form, "conflict": conflict, **extra},
        status=page_status(form, outcome),
    )


@moderator_required
@require_http_methods(["GET", "POST"])
def response_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    response = response_for_moderation(pk=pk)
    if response is None:
        raise Http404

    def publish(**kw: Any) -> None:
        response_publish(response=response, **kw)

    def reject(**kw: Any) -> None:
        response_reject(response=response, **kw)

    return _item_view(
        request, response, publish, reject, "moderation/response.html", {"story": response.story}
    )


@moderator_required
@require_http_methods(["GET", "POST"])
def reply_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    reply = reply_for_moderation(pk=pk)
    if reply is None:
        raise Http404

    def publish(**kw: Any) -> None:
        reply_publish(reply=reply, **kw)

    def reject(**kw: Any) -> None:
        reply_reject(reply=reply, **kw)

    return _item_view(
        request,
        reply,
        publish,
        reject,
        "moderation/reply.html",
        {"story": reply.response.story, "response": reply.response},
    )
