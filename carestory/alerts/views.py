"""Staff alert pages under /staff/alerts/: a member manages their own alerts, an administrator
any member's of their subscription (404 for anyone else), and the one-click unsubscribe."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from carestory.accounts.models import User
from carestory.alerts.forms import AlertForm
from carestory.alerts.models import Alert
from carestory.alerts.selectors import (
    alert_for,
    alerts_of,
    members_administered_by,
    membership_for_alerts,
)
from carestory.alerts.services import (
    alert_create,
    alert_delete,
    alert_for_unsubscribe,
    alert_unsubscribe,
    alert_update,
)
from carestory.lib.decorators import staff_required
from carestory.lib.errors import attempt, page_status
from carestory.subscriptions.models import Membership
from carestory.subscriptions.selectors import memberships_for


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _member_page(membership: Membership) -> str:
    return reverse("alerts:member", args=[membership.pk])


@staff_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """My alerts, in each of my subscriptions; an administrator also sees their members."""
    user = _user(request)
    mine = memberships_for(user=user)
    alerts = alerts_of(memberships=mine)
    context: dict[str, Any] = {
        "sections": [(m, alerts[m.pk]) for m in mine],
        "members": [m for m in members_administered_by(user=user) if m.user_id != user.pk],
    }
    return render(request, "alerts/list.html", context)


@staff_required
def member_alerts(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_for_alerts(user=_user(request), membership_id=membership_id)
    if membership is None:
        raise Http404
    alerts = alerts_of(memberships=[membership])[membership.pk]
    return render(request, "alerts/member.html", {"membership": membership, "alerts": alerts})


@staff_required
@require_http_methods(["GET", "POST"])
def alert_new(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership = membership_for_alerts(user=user, membership_id=membership_id)
    if membership is None:
        raise Http404
    form = AlertForm(request.POST or None)
    outcome = None
    if request.method == "POST" and form.is_valid():
        choice = form.choice()
        outcome = attempt(
            lambda: alert_create(actor=user, membership=membership, choice=choice), form
        )
        if outcome.done:
            return redirect(_member_page(membership))
    return render(
        request,
        "alerts/form.html",
        {"form": form, "membership": membership, "alert": None},
        status=page_status(form, outcome),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def alert_edit(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    alert = alert_for(user=user, alert_id=alert_id)
    if alert is None:
        raise Http404
    form = AlertForm(request.POST or None, initial=AlertForm.initial_for(alert))
    outcome = None
    if request.method == "POST" and form.is_valid():
        choice = form.choice()
        found: Alert = alert
        outcome = attempt(lambda: alert_update(actor=user, alert=found, choice=choice), form)
        if outcome.done:
            return redirect(_member_page(alert.membership))
    return render(
        request,
        "alerts/form.html",
        {"form": form, "membership": alert.membership, "alert": alert},
        status=page_status(form, outcome),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def alert_remove(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    alert = alert_for(user=user, alert_id=alert_id)
    if alert is None:
        raise Http404
    if request.method == "POST":
        membership = alert.membership
        found: Alert = alert
        attempt(lambda: alert_delete(actor=user, alert=found))
        return redirect(_member_page(membership))
    return render(request, "alerts/delete.html", {"alert": alert})


@csrf_exempt  # RFC 8058: the mail client POSTs with no session and no CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, signed: str) -> HttpResponse:
    """GET asks (mail scanners follow links); POST switches the one alert off, no sign-in."""
    alert = alert_for_unsubscribe(signed=signed)
    if alert is None:
        raise Http404
    if request.method == "POST":
        alert_unsubscribe(alert=alert)
        return render(request, "alerts/unsubscribed.html", {"alert": alert})
    return render(request, "alerts/unsubscribe.html", {"alert": alert})
