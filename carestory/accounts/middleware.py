"""Sessions that are not yet, or no longer, what they were: a session made by an emailed link
ends if its account becomes a password account; a password session still owing its second
factor reaches only the second step."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode

from carestory.accounts.models import User
from carestory.accounts.signin import (
    MFA_ENROL,
    MFA_NONE,
    MFA_PENDING,
    MFA_VERIFY,
    SESSION_MFA_KEY,
    SESSION_VIA_KEY,
)


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
            elif via == "password" and isinstance(user, User) and _frozen(user):
                logout(request)  # a membership was frozen since they signed in
        return self.get_response(request)


def _frozen(user: User) -> bool:
    from carestory.subscriptions.selectors import frozen_since_sign_in

    return frozen_since_sign_in(user)


def _password_flags(user: object) -> bool:
    return any(
        getattr(user, flag, False)
        for flag in ("is_staff", "is_superuser", "is_moderator", "is_senior_moderator")
    )


# What a session still owing its second factor may open.
SECOND_STEP_VIEWS = frozenset(
    {"accounts:mfa_verify", "accounts:mfa_enrol", "accounts:sign_out", "accounts:staff_login"}
)


class SecondFactorMiddleware:
    """A password session in ``verify`` or ``enrol`` (``accounts.signin``) is sent to that step
    from any other page, the internal admin included, until it is done. A session that needed
    no second step at sign-in (``none``) is checked again on each request, so someone made an
    administrator or a moderator meanwhile must enrol before going on.

    Sessions come only from ``accounts.signin`` (a test fails on any other ``login`` call), and
    every password session there gets its state. A session with no state at all (one from
    before MFA) is treated as one that gave no second factor, so none escapes this check."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if settings.SESSION_COOKIE_NAME in request.COOKIES and isinstance(user, User):
            state = request.session.get(SESSION_MFA_KEY)
            if state in (None, MFA_NONE) and request.session.get(SESSION_VIA_KEY) != "link":
                # No second factor was given in this session (it needed none then, or it is
                # older than MFA): whoever needs one now gives it before going on.
                from carestory.accounts.mfa import mfa_enrolled, mfa_required

                if mfa_required(user):
                    state = MFA_VERIFY if mfa_enrolled(user) else MFA_ENROL
                    request.session[SESSION_MFA_KEY] = state
            if state in MFA_PENDING and _view_name(request) not in SECOND_STEP_VIEWS:
                step = "accounts:mfa_enrol" if state == MFA_ENROL else "accounts:mfa_verify"
                target = reverse(step)
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
        return self.get_response(request)


def _view_name(request: HttpRequest) -> str | None:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None
