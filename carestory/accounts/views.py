"""Signing in: authors by an emailed link, staff and moderators with a password."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.models import SignInToken
from carestory.accounts.services import (
    author_sign_in_request,
    sign_in_token_peek,
    sign_in_token_redeem,
)
from carestory.accounts.throttle import login_attempt_record, login_throttled
from carestory.stories.forms import EmailForm

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        author_sign_in_request(email=form.cleaned_data["email"])
        # The same answer whether or not the address is known: no account oracle.
        return render(request, "accounts/sign_in_sent.html")
    return render(
        request, "accounts/sign_in.html", {"form": form}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def sign_in_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        valid = sign_in_token_peek(raw=token, purpose=SignInToken.Purpose.SIGN_IN) is not None
        return render(
            request, "accounts/sign_in_confirm.html", {"valid": valid}, status=200 if valid else 404
        )
    redeemed = sign_in_token_redeem(raw=token, purpose=SignInToken.Purpose.SIGN_IN)
    if redeemed is None:
        return render(request, "accounts/sign_in_confirm.html", {"valid": False}, status=404)
    login(request, redeemed.user, backend="django.contrib.auth.backends.ModelBackend")
    logger.info("author signed in by link: user %s", redeemed.user.pk)
    return redirect("stories:my_stories")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("stories:home")


def _client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR: behind a proxy, configure the server (e.g. gunicorn
    --forwarded-allow-ips) so it is the client's address; X-Forwarded-For is never trusted here."""
    return request.META.get("REMOTE_ADDR") or None


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/staff_login.html"
    redirect_authenticated_user = False

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = str(request.POST.get("username", ""))[:254]
        if login_throttled(email=email, ip=_client_ip(request)):
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                _("Too many failed attempts to sign in. Wait 15 minutes and try again."),
            )
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        login_attempt_record(
            email=user.get_username(), ip=_client_ip(self.request), succeeded=True, user_id=user.pk
        )
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        login_attempt_record(
            email=str(self.request.POST.get("username", ""))[:254],
            ip=_client_ip(self.request),
            succeeded=False,
            user_id=None,
        )
        response = super().form_invalid(form)
        response.status_code = 400
        return response
