"""A database that cannot answer gets a clear 503 page, never a bare 500 or a traceback.

PostgreSQL restarting, a connection dropped mid-request, an SQLite file locked past its busy
timeout: Django raises ``OperationalError`` (or ``InterfaceError`` for a connection already
closed). The transaction the view was in has been rolled back, so the person is told that what
they sent was not saved, to send it again in a minute (a story's hidden idempotency key makes a
second send the same story, never a copy), and the request id to quote. The API gets the same
as JSON in its error shape. The page is rendered without the request's context processors, so
showing it needs no database.

A database error reaches this middleware in one of two ways:

- raised by the view (most cases): ``process_exception`` answers;
- raised by another middleware after the view (the session saved after the story committed,
  say): Django has already turned it into a 500 response by the time it comes back here, so
  the 500 is replaced when ``got_request_exception`` saw a database error for that request.

Put it just inside ``RequestIdMiddleware``, outside the session middleware.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
_SEEN_ATTR = "_carestory_database_error"


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_ERRORS)


@receiver(got_request_exception, dispatch_uid="carestory.lib.errors_middleware")
def _note_database_error(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Called by Django while it turns an exception into a 500: remember a database one."""
    exc = sys.exc_info()[1]
    if request is not None and is_database_unavailable(exc):
        setattr(request, _SEEN_ATTR, type(exc).__name__)


def database_unavailable_response(
    request: HttpRequest, error: str, *, after_view: bool = False
) -> HttpResponse:
    """The 503 answer: a page that says what happened and what to do, or the API's JSON.

    ``after_view``: the error came from a middleware, perhaps after the view had committed
    (the session saved after the story), so the page cannot say that nothing was saved.
    """
    request_id = str(getattr(request, "request_id", ""))
    # ``error`` is the class name only: a database error's text can quote the values of the
    # failed query.
    logger.error("database unavailable error=%s method=%s", error, request.method or "")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "detail": _(
                    "The service is unavailable for a moment. Try again in %(seconds)s seconds."
                )
                % {"seconds": RETRY_AFTER_SECONDS}
            },
            status=503,
        )
    else:
        # No request passed: the context processors (the signed-in user, the session) would
        # need the database that has just failed.
        html = render_to_string(
            "503.html",
            {
                "SITE_NAME": settings.SITE_NAME,
                "SITE_URL": settings.SITE_URL,
                "was_sending": request.method not in ("GET", "HEAD", "OPTIONS"),
                "may_be_saved": after_view,
                "request_id": request_id,
            },
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage during a request into ``database_unavailable_response``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        error = getattr(request, _SEEN_ATTR, "")
        if response.status_code == 500 and error:
            replacement = database_unavailable_response(request, error, after_view=True)
            # The 500 came from a middleware outside the CSP one, so it has no policy yet.
            CSPMiddleware(self.get_response).process_response(request, replacement)
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable_response(request, type(exception).__name__)
        return None
