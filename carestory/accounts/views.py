"""Signing in: authors by an emailed link, staff and moderators with a password."""

from __future__ import annotations

import logging

from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.models import SignInToken
from carestory.accounts.services import (
    author_sign_in_request,
    sign_in_token_peek,
    sign_in_token_redeem,
)
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


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/staff_login.html"
    redirect_authenticated_user = False
