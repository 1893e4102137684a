"""A session made by an emailed link ends if its account becomes a password account."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from carestory.accounts.signin import SESSION_VIA_KEY


class LinkSessionGuardMiddleware:
    """An author signed in by link who is then made staff, moderator or superuser (say in the
    admin, without a new password) is signed out on their next request: such accounts get
    sessions only from the password sign-in. Reads the user's own row flags, no extra query.

    (``moderator_add`` and ``staff_add`` set a password, which already ends every older
    session; this covers the paths that do not.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            via = request.session.get(SESSION_VIA_KEY)
            user = request.user
            if via == "link" and user.is_authenticated and _password_flags(user):
                logout(request)
        return self.get_response(request)


def _password_flags(user: object) -> bool:
    return any(
        getattr(user, flag, False)
        for flag in ("is_staff", "is_superuser", "is_moderator", "is_senior_moderator")
    )
