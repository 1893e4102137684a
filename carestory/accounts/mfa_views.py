"""The second sign-in step, MFA enrolment and settings, and the staff password reset.

The use cases are ``accounts/mfa.py`` and ``accounts/passwords.py``; the session states and
the device cookie are ``accounts/signin.py``'s; the throttle of the second step is
``accounts/throttle.second_factor_begin``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import decorators as auth_decorators
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.forms import CodeForm, NewPasswordForm, PasswordResetForm
from carestory.accounts.mfa import (
    RECOVERY_CODE_COUNT,
    mfa_disable,
    mfa_enrol_begin,
    mfa_enrol_confirm,
    mfa_enrolled,
    mfa_pending_secret,
    mfa_provisioning_uri,
    mfa_qr_data_url,
    mfa_recovery_codes_left,
    mfa_recovery_codes_regenerate,
    mfa_required,
    mfa_verify,
)
from carestory.accounts.models import User
from carestory.accounts.passwords import (
    staff_password_reset_complete,
    staff_password_reset_peek,
    staff_password_reset_request,
)
from carestory.accounts.signin import (
    MFA_PENDING,
    MFA_VERIFY,
    SESSION_MFA_KEY,
    device_cookie_set,
    second_step_done,
    throttled_message,
)
from carestory.accounts.throttle import (
    device_cookie_name,
    device_read,
    second_factor_begin,
    second_factor_finish,
)
from carestory.lib.client import client_ip
from carestory.lib.errors import attempt, page_status
from carestory.lib.ratelimit import SIGN_IN_LINKS, rate_limited

logger = logging.getLogger(__name__)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _password_user(request: HttpRequest) -> User:
    """The signed-in account, if it signs in with a password (authors have no MFA): else 404."""
    user = request.user
    if not isinstance(user, User) or not user.signs_in_with_password:
        raise Http404
    return user


def _finish_sign_in(request: HttpRequest, response: HttpResponse, user: User) -> HttpResponse:
    """The second step is done: the session is fully signed in, the browser a known device."""
    second_step_done(request)
    device = device_read(request.COOKIES.get(device_cookie_name()))
    device_cookie_set(response, device=device, email=user.email)
    return response


@auth_decorators.login_required
@require_http_methods(["GET", "POST"])
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    """After the password: a code from the app, or a recovery code."""
    user = _password_user(request)
    if request.session.get(SESSION_MFA_KEY) != MFA_VERIFY:
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    context = {"form": form, "next": _next_url(request)}
    if request.method != "POST" or not form.is_valid():
        return render(request, "accounts/mfa_verify.html", context, status=page_status(form))
    gate = second_factor_begin(
        user_id=user.pk,
        email=user.email,
        ip=client_ip(request),
        device_cookie=request.COOKIES.get(device_cookie_name()),
    )
    if not gate.allowed:
        form.add_error("code", throttled_message(gate.retry_after))
        response = render(request, "accounts/mfa_verify.html", context, status=429)
        response["Retry-After"] = str(gate.retry_after)
        return response
    outcome = attempt(lambda: mfa_verify(user=user, code=form.cleaned_data["code"]), form)
    second_factor_finish(gate=gate, succeeded=outcome.done, user_id=user.pk)
    if not outcome.done:
        return render(request, "accounts/mfa_verify.html", context, status=400)
    if outcome.value == "recovery":
        left = mfa_recovery_codes_left(user)
        response = render(
            request,
            "accounts/mfa_recovery_used.html",
            {"left": left, "next": _next_url(request)},
        )
    else:
        response = redirect(_next_url(request))
    return _finish_sign_in(request, response, user)


@auth_decorators.login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol_view(request: HttpRequest) -> HttpResponse:
    """Add an authenticator: scan the QR code or type the secret, then a code from the app."""
    user = _password_user(request)
    if mfa_enrolled(user):
        return redirect("accounts:mfa_manage")
    secret = mfa_pending_secret(user) or mfa_enrol_begin(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = attempt(
            lambda: mfa_enrol_confirm(user=user, code=form.cleaned_data["code"]), form
        )
        if outcome.done and outcome.value is not None:
            response = render(
                request,
                "accounts/mfa_recovery_codes.html",
                {"codes": outcome.value, "next": _next_url(request)},
            )
            if request.session.get(SESSION_MFA_KEY) in MFA_PENDING:
                return _finish_sign_in(request, response, user)
            second_step_done(request)
            return response
    uri = mfa_provisioning_uri(user=user, secret=secret)
    context = {
        "form": form,
        "qr": mfa_qr_data_url(uri),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "required": mfa_required(user),
        "next": _next_url(request),
    }
    return render(request, "accounts/mfa_enrol.html", context, status=page_status(form))


@auth_decorators.login_required
def mfa_manage(request: HttpRequest) -> HttpResponse:
    user = _password_user(request)
    context = {
        "enrolled": mfa_enrolled(user),
        "required": mfa_required(user),
        "codes_left": mfa_recovery_codes_left(user),
        "code_count": RECOVERY_CODE_COUNT,
    }
    return render(request, "accounts/mfa_manage.html", context)


@auth_decorators.login_required
@require_POST
def mfa_recovery_codes_view(request: HttpRequest) -> HttpResponse:
    user = _password_user(request)
    codes = attempt(lambda: mfa_recovery_codes_regenerate(user=user)).value
    return render(
        request,
        "accounts/mfa_recovery_codes.html",
        {"codes": codes, "next": resolve_url("accounts:mfa_manage")},
    )


@auth_decorators.login_required
@require_POST
def mfa_disable_view(request: HttpRequest) -> HttpResponse:
    user = _password_user(request)
    attempt(lambda: mfa_disable(user=user))
    return redirect("accounts:mfa_manage")


@rate_limited(SIGN_IN_LINKS, methods=("POST",))
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        staff_password_reset_request(email=form.cleaned_data["email"])
        # The same answer whether or not the address has an account: no account oracle.
        return render(request, "accounts/password_reset_sent.html")
    return render(request, "accounts/password_reset.html", {"form": form}, status=page_status(form))


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if staff_password_reset_peek(raw=token) is None:
        return render(request, "accounts/password_reset_confirm.html", {"valid": False}, status=404)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = attempt(
            lambda: staff_password_reset_complete(
                raw=token, password=form.cleaned_data["new_password1"]
            ),
            form,
        )
        if outcome.done:
            if outcome.value is None:
                return render(
                    request, "accounts/password_reset_confirm.html", {"valid": False}, status=404
                )
            logger.info("password reset completed: user %s", outcome.value.pk)
            return render(request, "accounts/password_reset_done.html")
    return render(
        request,
        "accounts/password_reset_confirm.html",
        {"valid": True, "form": form},
        status=page_status(form, invalid=bool(form.errors)),
    )
