"""Signing in: authors by an emailed link, staff and moderators with a password.

Sessions are made only in ``accounts.signin`` (an emailed link never signs in a staff or
moderator account)."""

from __future__ import annotations

import logging

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.forms import EmailForm
from carestory.accounts.models import SignInToken
from carestory.accounts.services import (
    author_sign_in_request,
    sign_in_token_peek,
    sign_in_token_redeem,
)
from carestory.accounts.signin import StaffAuthenticationForm, session_start
from carestory.lib.errors import page_status
from carestory.lib.ratelimit import SIGN_IN_LINKS, rate_limited

logger = logging.getLogger(__name__)


@rate_limited(SIGN_IN_LINKS, methods=("POST",))
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        author_sign_in_request(email=form.cleaned_data["email"])
        # The same answer whether or not the address is known: no account oracle.
        return render(request, "accounts/sign_in_sent.html")
    return render(request, "accounts/sign_in.html", {"form": form}, status=page_status(form))


def use_password_page(request: HttpRequest, *, story_confirmed: bool = False) -> HttpResponse:
    """An emailed link for an account that signs in with a password: no session, and where to
    sign in instead. 403 for a sign-in link; 200 when the link also confirmed a story."""
    return render(
        request,
        "accounts/use_password.html",
        {"story_confirmed": story_confirmed},
        status=200 if story_confirmed else 403,
    )


@require_http_methods(["GET", "POST"])
def sign_in_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        peeked = sign_in_token_peek(raw=token, purpose=SignInToken.Purpose.SIGN_IN)
        if peeked is not None and peeked.user.signs_in_with_password:
            return use_password_page(request)
        return render(
            request,
            "accounts/sign_in_confirm.html",
            {"valid": peeked is not None},
            status=200 if peeked is not None else 404,
        )
    redeemed = sign_in_token_redeem(raw=token, purpose=SignInToken.Purpose.SIGN_IN)
    if redeemed is None:
        return render(request, "accounts/sign_in_confirm.html", {"valid": False}, status=404)
    if not session_start(request, redeemed.user, via="link"):
        logger.info("sign-in link refused for a password account: user %s", redeemed.user.pk)
        return use_password_page(request)
    logger.info("author signed in by link: user %s", redeemed.user.pk)
    return redirect("stories:my_stories")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("stories:home")


class StaffLoginView(auth_views.LoginView):
    """Wrapped in ``signin.password_login`` (urls.py): 429 and the device cookie."""

    template_name = "accounts/staff_login.html"
    redirect_authenticated_user = False
    authentication_form = StaffAuthenticationForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        session_start(self.request, form.get_user(), via="password")
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response
