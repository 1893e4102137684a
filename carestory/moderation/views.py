"""Moderators' screens: the queue and the decision pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from carestory.accounts.models import User
from carestory.lib.decorators import moderator_required
from carestory.lib.locking import ConflictError
from carestory.moderation import services as decisions
from carestory.moderation.forms import ItemModerationForm, StoryModerationForm
from carestory.moderation.selectors import moderation_queue
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Service
from carestory.stories.models import Story, Tag
from carestory.stories.services import story_tag_pairs


@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/queue.html", moderation_queue())


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


def _services_from(form: StoryModerationForm) -> list[Service]:
    codes = [c.strip().upper() for c in form.cleaned_data["service_codes"].split(",") if c.strip()]
    found = {s.code: s for s in Service.objects.filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        form.add_error(
            "service_codes", _("No service has the code %(codes)s") % {"codes": ", ".join(missing)}
        )
    if not codes:
        form.add_error("service_codes", _("A story must be about at least one service"))
    return [found[c] for c in codes if c in found]


@moderator_required
@require_http_methods(["GET", "POST"])
def story_moderate(request: HttpRequest, public_id: str) -> HttpResponse:
    story = get_object_or_404(Story.objects.select_related("author"), public_id=public_id)
    moderator = request.user
    assert isinstance(moderator, User)
    form = StoryModerationForm(request.POST or None, initial=_initial_for(story))
    conflict = False
    if request.method == "POST":
        if story.status != Story.Status.IN_MODERATION:
            conflict = True
        elif form.is_valid():
            services = _services_from(form)
            if not form.errors:
                data = form.cleaned_data
                tags = story_tag_pairs(
                    good=list(data["good"]),
                    improve=list(data["improve"]),
                    feelings=list(data["feelings"]),
                )
                action = request.POST.get("action", "save")
                common = {
                    "story": story,
                    "moderator": moderator,
                    "version": data["version"],
                    "note": data["note"],
                }
                try:
                    if action == "reject":
                        decisions.story_reject(
                            reason=data["reason"], message=data["message"], **common
                        )
                    else:
                        edit = {
                            "title": data["title"],
                            "body": data["body"],
                            "criticality": data["criticality"],
                            "tags": tags,
                            "services": services,
                        }
                        if action == "publish":
                            decisions.story_publish(**common, **edit)
                        else:
                            decisions.story_moderate_save(**common, **edit)
                except ConflictError:
                    conflict = True
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    if action == "save":
                        return redirect("moderation:story", public_id=story.public_id)
                    return redirect("moderation:queue")
    if conflict:
        story.refresh_from_db()
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        "moderation/story.html",
        {
            "story": story,
            "form": form,
            "conflict": conflict,
            "notes": story.moderator_notes.select_related("moderator"),
            "services": story.services.select_related("parent"),
        },
        status=status,
    )


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
    conflict = False
    if request.method == "POST":
        if item.status != ModerationStatus.IN_MODERATION:
            conflict = True
        elif form.is_valid():
            data = form.cleaned_data
            try:
                if request.POST.get("action") == "reject":
                    reject(moderator=moderator, version=data["version"], reason=data["reason"])
                else:
                    publish(moderator=moderator, version=data["version"], body=data["body"])
            except ConflictError:
                conflict = True
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("moderation:queue")
    status = 409 if conflict else (400 if form.errors else 200)
    return render(
        request,
        template,
        {"item": item, "form": form, "conflict": conflict, **extra},
        status=status,
    )


@moderator_required
@require_http_methods(["GET", "POST"])
def response_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    response = get_object_or_404(
        Response.objects.select_related("story", "subscription", "responder"), pk=pk
    )

    def publish(**kw: Any) -> None:
        decisions.response_publish(response=response, **kw)

    def reject(**kw: Any) -> None:
        decisions.response_reject(response=response, **kw)

    return _item_view(
        request, response, publish, reject, "moderation/response.html", {"story": response.story}
    )


@moderator_required
@require_http_methods(["GET", "POST"])
def reply_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(
        AuthorReply.objects.select_related("response__story", "response__subscription"), pk=pk
    )
    if reply.response.story.status == Story.Status.WITHDRAWN:
        raise Http404

    def publish(**kw: Any) -> None:
        decisions.reply_publish(reply=reply, **kw)

    def reject(**kw: Any) -> None:
        decisions.reply_reject(reply=reply, **kw)

    return _item_view(
        request,
        reply,
        publish,
        reject,
        "moderation/reply.html",
        {"story": reply.response.story, "response": reply.response},
    )
