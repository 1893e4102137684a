"""Where sessions are made. The only module that calls ``django.contrib.auth.login`` (a test
fails if another one does).

- ``session_start(request, user, via="link")``: an emailed link (sign-in, story confirmation).
  Refused (returns False, no session) for an account that signs in with a password: staff,
  moderators, admin users and members of any subscription. Their sessions come only from
  the password sign-in (and later MFA); anyone can make a staff address receive an author
  link by telling a story with it, and a mailbox is not a second factor.
- ``session_start(request, user, via="password")``: after the throttled password form.
- ``StaffAuthenticationForm`` and ``AdminLoginForm``: the two password forms, normalising the
  address and going through ``accounts.throttle`` (recorded in ``LoginAttempt``).
- ``password_login``: wraps both login views: 429 with Retry-After when the throttle refused,
  and the device cookie after a success.

The session remembers how it was made (``SESSION_VIA_KEY``: "link" or "password").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import ngettext

from carestory.accounts.models import User
from carestory.accounts.throttle import (
    DEVICE_COOKIE_MAX_AGE,
    LoginGate,
    device_cookie_name,
    device_cookie_value,
    login_attempt_begin,
    login_attempt_finish,
)
from carestory.audit.models import LoginAttempt
from carestory.lib.client import client_ip
from carestory.lib.emails import MAX_EMAIL_LENGTH, normalise_email

SESSION_VIA_KEY = "carestory_signed_in_via"
_GATE_ATTRIBUTE = "_carestory_login_gate"
_SUCCEEDED_ATTRIBUTE = "_carestory_login_succeeded"
_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_start(request: HttpRequest, user: User, *, via: Literal["link", "password"]) -> bool:
    """Sign ``user`` in; False (and no session) for a link to a password account."""
    if via == "link" and user.signs_in_with_password:
        return False
    login(request, user, backend=_BACKEND)
    request.session[SESSION_VIA_KEY] = via
    return True


def throttled_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return ngettext(
        "Too many failed attempts to sign in. Wait %(count)s minute and try again.",
        "Too many failed attempts to sign in. Wait %(count)s minutes and try again.",
        minutes,
    ) % {"count": minutes}


def _throttled_clean(
    form: AuthenticationForm, surface: str, clean: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The form's ``clean`` with the address normalised, the throttle asked first and the
    outcome recorded."""
    username = form.cleaned_data.get("username")
    password = form.cleaned_data.get("password")
    request = form.request
    if not username or not password or request is None:
        return clean()  # the fields' own messages ("Enter your email address")
    email = normalise_email(str(username))[:MAX_EMAIL_LENGTH]
    form.cleaned_data["username"] = email
    gate = login_attempt_begin(
        email=email,
        ip=client_ip(request),
        device_cookie=request.COOKIES.get(device_cookie_name()),
        surface=surface,
    )
    setattr(request, _GATE_ATTRIBUTE, gate)
    if not gate.allowed:
        raise ValidationError(throttled_message(gate.retry_after), code="throttled")
    try:
        cleaned = clean()
    except ValidationError:
        login_attempt_finish(gate=gate, succeeded=False, user_id=None)
        raise
    login_attempt_finish(gate=gate, succeeded=True, user_id=form.get_user().pk)
    setattr(request, _SUCCEEDED_ATTRIBUTE, True)
    return cleaned


class StaffAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        return _throttled_clean(self, LoginAttempt.Surface.STAFF, super().clean)


class AdminLoginForm(AdminAuthenticationForm):
    """The internal admin's login form (``admin.site.login_form``), through the same throttle."""

    def clean(self) -> dict[str, Any]:
        return _throttled_clean(self, LoginAttempt.Surface.ADMIN, super().clean)


def login_gate(request: HttpRequest) -> LoginGate | None:
    gate = getattr(request, _GATE_ATTRIBUTE, None)
    return gate if isinstance(gate, LoginGate) else None


def password_login(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a login view whose form is one of the throttled forms above."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        gate = login_gate(request)
        if gate is None:
            return response
        if not gate.allowed:
            response.status_code = 429
            response["Retry-After"] = str(gate.retry_after)
        elif getattr(request, _SUCCEEDED_ATTRIBUTE, False):
            response.set_cookie(
                device_cookie_name(),
                device_cookie_value(device=gate.device, account=gate.account),
                max_age=DEVICE_COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
                path="/",
            )
        return response

    return wrapper
