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

The session remembers how it was made (``SESSION_VIA_KEY``: "link" or "password") and, for a
password sign-in, where it stands with the second factor (``SESSION_MFA_KEY``, set by
``second_step_begin``): ``verify`` (enrolled: a code is due), ``enrol`` (MFA is required and the
account has no authenticator yet), ``done`` (the code was given) or ``none`` (not needed). A
session in ``verify`` or ``enrol`` is not fully signed in: ``accounts.middleware`` lets it reach
only the second step's pages and sign-out. The device cookie of a sign-in that has a second
step is set only once that step is done (``second_step_done``).
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
    Device,
    LoginGate,
    account_key,
    device_cookie_name,
    device_cookie_value,
    login_attempt_begin,
    login_attempt_finish,
)
from carestory.audit.models import LoginAttempt
from carestory.lib.client import client_ip
from carestory.lib.emails import MAX_EMAIL_LENGTH, normalise_email

SESSION_VIA_KEY = "carestory_signed_in_via"
SESSION_MFA_KEY = "carestory_second_factor"
MFA_VERIFY, MFA_ENROL, MFA_DONE, MFA_NONE = "verify", "enrol", "done", "none"
MFA_PENDING = (MFA_VERIFY, MFA_ENROL)
_GATE_ATTRIBUTE = "_carestory_login_gate"
_SUCCEEDED_ATTRIBUTE = "_carestory_login_succeeded"
_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_start(request: HttpRequest, user: User, *, via: Literal["link", "password"]) -> bool:
    """Sign ``user`` in; False (and no session) for a link to a password account."""
    if via == "link" and user.signs_in_with_password:
        return False
    login(request, user, backend=_BACKEND)
    request.session[SESSION_VIA_KEY] = via
    if via == "password":
        second_step_begin(request, user)
    return True


def second_step_begin(request: HttpRequest, user: User) -> str:
    """After a password: what the session still needs (``SESSION_MFA_KEY``)."""
    from carestory.accounts.mfa import mfa_enrolled, mfa_required

    if mfa_enrolled(user):
        state = MFA_VERIFY
    elif mfa_required(user):
        state = MFA_ENROL
    else:
        state = MFA_NONE
    request.session[SESSION_VIA_KEY] = "password"
    request.session[SESSION_MFA_KEY] = state
    return state


def second_step_done(request: HttpRequest) -> None:
    """The second factor was given (or an authenticator enrolled): fully signed in. The
    session key changes, as at any change of privilege."""
    request.session.cycle_key()
    request.session[SESSION_MFA_KEY] = MFA_DONE


def device_cookie_set(response: HttpResponseBase, *, device: Device | None, email: str) -> None:
    """Remember this browser as one that finished a whole sign-in to this account."""
    response.set_cookie(
        device_cookie_name(),
        device_cookie_value(device=device, account=account_key(email)),
        max_age=DEVICE_COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
        path="/",
    )


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
        elif getattr(request, _SUCCEEDED_ATTRIBUTE, False) and isinstance(request.user, User):
            # The admin's login view makes its own session: its second step is set here.
            state = request.session.get(SESSION_MFA_KEY) or second_step_begin(request, request.user)
            if state not in MFA_PENDING:
                device_cookie_set(response, device=gate.device, email=request.user.email)
        return response

    return wrapper
