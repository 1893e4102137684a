"""Public pages: home, telling a story, reading a story, and the author's own pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import sign_in_token_peek
from carestory.accounts.signin import session_start
from carestory.accounts.views import use_password_page
from carestory.lib.decorators import author_required
from carestory.lib.errors import attempt, page_status
from carestory.lib.ratelimit import STORY_SUBMISSIONS, rate_limit_request, too_many_requests
from carestory.pagecache.middleware import public_page
from carestory.responses.forms import ReplyForm
from carestory.responses.models import Response
from carestory.responses.services import reply_post
from carestory.services.models import Service
from carestory.services.selectors import service_search
from carestory.stories.forms import (
    StoryEditForm,
    StoryForm,
    StoryPageForm,
    story_page_links,
)
from carestory.stories.lifecycle import can_author_edit
from carestory.stories.models import Story
from carestory.stories.selectors import (
    stories_for_author,
    stories_published,
    stories_published_page,
    story_get_for_author,
    story_get_published,
)
from carestory.stories.services import (
    StoryDraft,
    story_author_edit,
    story_confirm_signed_in,
    story_draft_check,
    story_services_named,
    story_submit,
    story_verify,
    story_withdraw,
)
from carestory.subscriptions.selectors import membership_covering


@public_page
def home(request: HttpRequest) -> HttpResponse:
    recent = stories_published()[:6]
    return render(request, "stories/home.html", {"recent": recent})


STORIES_PER_PAGE = 20


@public_page
def story_list(request: HttpRequest) -> HttpResponse:
    """All published stories, newest first, by keyset: page 1,000 costs what page 1 costs."""
    form = StoryPageForm(request.GET)
    after, before = form.cursor()
    page = stories_published_page(size=STORIES_PER_PAGE, after=after, before=before)
    return render(
        request,
        "stories/story_list.html",
        {"page": page, "form": form, **story_page_links(page)},
        status=page_status(form),
    )


# What the author typed, kept in their session while they change the service (or when a
# service closed while they were writing), so nothing typed is lost.
DRAFT_SESSION_KEY = "story_draft"
_DRAFT_FIELDS = tuple(StoryForm.base_fields)
_DRAFT_MAX_CHARS = 60_000


def _keep_draft(request: HttpRequest) -> None:
    draft = {name: request.POST.getlist(name)[:50] for name in _DRAFT_FIELDS}
    if sum(len(v) for values in draft.values() for v in values) <= _DRAFT_MAX_CHARS:
        request.session[DRAFT_SESSION_KEY] = draft


def _draft_initial(request: HttpRequest) -> dict[str, Any]:
    draft = request.session.get(DRAFT_SESSION_KEY)
    if not isinstance(draft, dict):
        return {}
    initial: dict[str, Any] = {}
    for name, field in StoryForm.base_fields.items():
        values = draft.get(name) or []
        if not isinstance(values, list) or not values:
            continue
        if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
            initial[name] = [str(v) for v in values]
        elif isinstance(field, forms.BooleanField):
            initial[name] = field.to_python(str(values[0]))
        else:
            initial[name] = str(values[0])
    return initial


def _change_service_url(services: list[Service]) -> str:
    query = "".join(f"service={s.code}&" for s in services)
    return f"{reverse('stories:tell')}?{query}add=1"


@require_http_methods(["GET", "POST"])
def tell_your_story(request: HttpRequest) -> HttpResponse:
    codes = request.POST.getlist("service") if request.method == "POST" else []
    codes = codes or request.GET.getlist("service")
    services, bad_codes = story_services_named(codes)
    query = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"services": services, "query": query, "bad_codes": bad_codes}

    if request.method == "POST" and (request.POST.get("action") == "change_service" or bad_codes):
        # The author wants another service, or one they chose has closed or been merged since
        # they opened the form: keep everything they typed and let them choose again.
        _keep_draft(request)
        url = _change_service_url(services)
        return redirect(f"{url}&closed=1" if bad_codes else url)

    if not services or request.GET.get("add"):
        # Step 1: choose the service(s). Works without JavaScript: a GET search form.
        context["results"] = service_search(query=query, open_only=True) if query else []
        context["chosen_codes"] = [s.code for s in services]
        context["service_closed"] = bool(request.GET.get("closed"))
        context["draft_kept"] = DRAFT_SESSION_KEY in request.session
        return render(
            request,
            "stories/choose_service.html",
            context,
            status=page_status(invalid=bool(bad_codes)),
        )

    if request.method == "POST":
        form = StoryForm(request.POST)
        sent = _send_story(request, form, services)
        if sent is not None:
            return sent
    else:
        form = StoryForm(initial=_draft_initial(request))
        context["draft_kept"] = DRAFT_SESSION_KEY in request.session
    context["form"] = form
    return render(request, "stories/tell_your_story.html", context, status=page_status(form))


def _story_draft(form: StoryForm, services: list[Service]) -> StoryDraft:
    """The draft from what the form could read ("" where an answer was not of its type)."""
    data = form.cleaned_data
    return StoryDraft(
        email=data.get("email", ""),
        screen_name=data.get("screen_name", ""),
        author_role=data.get("author_role", ""),
        title=data.get("title", ""),
        body=data.get("body", ""),
        services=services,
        good_tags=list(data.get("good", [])),
        improve_tags=list(data.get("improve", [])),
        feeling_tags=list(data.get("feelings", [])),
        age_group=data.get("age_group", ""),
        postcode=data.get("postcode", ""),
        consent=data.get("consent", False),
    )


def _send_story(
    request: HttpRequest, form: StoryForm, services: list[Service]
) -> HttpResponse | None:
    """Send the story, or None to show the form again. The story's rules are checked even when
    the form found an answer of the wrong type, so the author sees every problem at once."""
    typed = form.is_valid()
    draft = _story_draft(form, services)
    if not attempt(lambda: story_draft_check(draft=draft), form).done or not typed:
        return None
    limited = rate_limit_request(request, STORY_SUBMISSIONS)
    if not limited.allowed:  # nothing is saved; what they typed is kept for later
        _keep_draft(request)
        back = reverse("stories:tell") + "?" + "&".join(f"service={s.code}" for s in services)
        return too_many_requests(request, limited, kept=True, back_url=back)
    signed_in = request.user if isinstance(request.user, User) else None
    key = form.cleaned_data["idempotency_key"]
    result = attempt(
        lambda: story_submit(draft=draft, idempotency_key=key, signed_in=signed_in), form
    ).value
    if result is None:
        return None
    request.session.pop(DRAFT_SESSION_KEY, None)
    request.session["last_story"] = result.story.public_id
    return redirect("stories:submitted")


def story_submitted(request: HttpRequest) -> HttpResponse:
    public_id = request.session.get("last_story")
    story = Story.objects.filter(public_id=public_id).first() if public_id else None
    if story is None:
        return redirect("stories:tell")
    return render(request, "stories/submitted.html", {"story": story})


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners fetch links); POST confirms the story."""
    if request.method == "GET":
        valid = sign_in_token_peek(raw=token, purpose=SignInToken.Purpose.VERIFY_STORY)
        return render(
            request,
            "stories/verify.html",
            {"valid": valid is not None},
            status=200 if valid else 404,
        )
    story = story_verify(raw_token=token)
    if story is None:
        return render(request, "stories/verify.html", {"valid": False}, status=404)
    if not session_start(request, story.author, via="link"):
        return use_password_page(request, story_confirmed=True)  # staff: no session by link
    return render(request, "stories/verified.html", {"story": story})


def published_story_or_404(public_id: str) -> Story:
    """The published story, or 404: the selector answers None, the view decides."""
    story = story_get_published(public_id=public_id)
    if story is None:
        raise Http404
    return story


def _own_story_or_404(request: HttpRequest, public_id: str) -> tuple[User, Story]:
    """The signed-in author and their story, or 404 (someone else's is not found either)."""
    author = request.user
    assert isinstance(author, User)
    story = story_get_for_author(public_id=public_id, author=author)
    if story is None:
        raise Http404
    return author, story


@public_page
def story_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    story = published_story_or_404(public_id)
    user = request.user
    can_respond = (
        isinstance(user, User)
        and membership_covering(user=user, services=story.services.all(), responders_only=True)
        is not None
    )
    is_author = isinstance(user, User) and story.author_id == user.pk
    return render(
        request,
        "stories/story_detail.html",
        {
            "story": story,
            "can_respond": can_respond,
            "is_author": is_author,
            "reply_form": ReplyForm() if is_author else None,
        },
    )


@author_required
@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, public_id: str, response_id: int) -> HttpResponse:
    story = published_story_or_404(public_id)
    author = request.user
    assert isinstance(author, User)
    response = Response.objects.published().filter(pk=response_id, story=story).first()
    if response is None or story.author_id != author.pk:
        raise Http404
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = attempt(
            lambda: reply_post(
                response=response,
                author=author,
                body=data["body"],
                idempotency_key=data["idempotency_key"],
            ),
            form,
        )
        if sent.done:
            return render(request, "stories/reply_sent.html", {"story": story})
    return render(
        request,
        "stories/reply.html",
        {"story": story, "response": response, "form": form},
        status=page_status(form),
    )


@author_required
def my_stories(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    return render(
        request, "stories/my_stories.html", {"stories": stories_for_author(author=request.user)}
    )


@author_required
@require_http_methods(["GET", "POST"])
def my_story(request: HttpRequest, public_id: str) -> HttpResponse:
    author, story = _own_story_or_404(request, public_id)
    editable = can_author_edit(story)
    form = None
    outcome = None
    if editable:
        form = StoryEditForm(
            request.POST or None,
            initial={
                "title": story.original_title,
                "body": story.original_body,
                "version": story.version,
            },
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            outcome = attempt(
                lambda: story_author_edit(
                    story=story,
                    author=author,
                    title=data["title"],
                    body=data["body"],
                    version=data["version"],
                ),
                form,
            )
            if outcome.done:
                return redirect("stories:my_story", public_id=story.public_id)
    elif request.method == "POST":
        raise Http404
    responses = Response.objects.published().filter(story=story).select_related("subscription")
    conflict = outcome is not None and outcome.conflict
    return render(
        request,
        "stories/my_story.html",
        {"story": story, "form": form, "conflict": conflict, "responses": responses},
        status=page_status(form, outcome),
    )


@author_required
@require_POST
def confirm(request: HttpRequest, public_id: str) -> HttpResponse:
    """A signed-in author sends a story that waits for email confirmation to the moderators."""
    author, story = _own_story_or_404(request, public_id)
    attempt(lambda: story_confirm_signed_in(story=story, author=author))
    return redirect("stories:my_story", public_id=story.public_id)


@author_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    author, story = _own_story_or_404(request, public_id)
    if request.method == "POST":
        story_withdraw(story=story, author=author)
        return redirect("stories:my_story", public_id=story.public_id)
    return render(request, "stories/withdraw.html", {"story": story})
