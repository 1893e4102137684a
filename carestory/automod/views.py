"""The author's writing guidance: a small JSON endpoint the story form calls as people type.

It runs the same rules as the moderators' checks, without the criticality model, and answers
with messages that say what *kind* of thing was found, never the thing itself. Nothing about
the text is logged or stored. It never blocks sending a story: the form works without it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from carestory.automod.engine import analyse
from carestory.automod.guidance import author_messages
from carestory.lib.ratelimit import AUTHOR_GUIDANCE, rate_limited
from carestory.stories.services import TITLE_MAX_LENGTH

# The story's own limits (stories/services): the guidance checks any story the form may send.
MAX_TITLE_CHARS = TITLE_MAX_LENGTH
# Every character of the title and the story percent-encoded as up to four bytes of UTF-8.
_BYTES_PER_CHARACTER = 12


def _max_request_bytes() -> int:
    """The largest request a story within its limits can make, and a little for the rest."""
    return (MAX_TITLE_CHARS + settings.STORY_MAX_CHARACTERS) * _BYTES_PER_CHARACTER + 4096


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@never_cache
@rate_limited(AUTHOR_GUIDANCE, methods=("POST",), as_json=True)
@require_POST
def guidance(request: HttpRequest) -> JsonResponse:
    """POST title and body (form-encoded); CSRF-protected like every form on the site."""
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = 0
    if length > _max_request_bytes():
        return _error(_("Your story is too long to check as you type."))
    title = request.POST.get("title", "")
    body = request.POST.get("body", "")
    if len(title) > MAX_TITLE_CHARS or len(body) > settings.STORY_MAX_CHARACTERS:
        return _error(_("Your story is too long to check as you type."))
    if not (title.strip() or body.strip()):
        return JsonResponse({"messages": []})
    analysis = analyse(title=title, body=body, suggestions=False)
    messages = author_messages(analysis)
    response = JsonResponse({"messages": messages})
    if not settings.DEBUG:
        response["X-Robots-Tag"] = "noindex"
    return response
