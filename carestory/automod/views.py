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

# Generous for a 1,500-word story; anything bigger is not from our form.
MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 20_000
MAX_REQUEST_BYTES = 64 * 1024


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
    if length > MAX_REQUEST_BYTES:
        return _error(_("Your story is too long to check as you type."))
    title = request.POST.get("title", "")
    body = request.POST.get("body", "")
    if len(title) > MAX_TITLE_CHARS or len(body) > MAX_BODY_CHARS:
        return _error(_("Your story is too long to check as you type."))
    if not (title.strip() or body.strip()):
        return JsonResponse({"messages": []})
    analysis = analyse(title=title, body=body, suggestions=False)
    messages = author_messages(analysis)
    response = JsonResponse({"messages": messages})
    if not settings.DEBUG:
        response["X-Robots-Tag"] = "noindex"
    return response
