"""Request id for log correlation, and no-store caching on private pages."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from carestory.lib.logging import request_id_var

PRIVATE_PREFIXES = (
    "/moderation/",
    "/staff/",
    "/manage/",
    "/my-stories/",
    "/sign-in/",
    "/verify/",
    "/provider-review/",
    "/answer/",
)


class RequestIdMiddleware:
    """Gives every request a random id, shown on error pages and in every log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = secrets.token_hex(8)
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = rid
        return response


class NoStoreForPrivatePagesMiddleware:
    """Authenticated, author and moderation pages must never be stored by a shared cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith(PRIVATE_PREFIXES) or (
            user is not None and user.is_authenticated
        ):
            response["Cache-Control"] = "no-store"
        return response
