"""The administrator's pages for their organisation (members, invitations, roles, freezing,
removal, bulk upload, the safeguarding contact), the invitee's accept page, a member's own
profile and the switch between one's subscriptions.

Every organisation page opens its subscription through ``selectors.subscription_administered``
(None: 404, for anyone not an active administrator of it or site staff) and runs its use case
through ``lib/errors.attempt``; the use cases check the administrator again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from carestory.accounts.models import User
from carestory.lib.decorators import staff_required
from carestory.lib.errors import attempt, page_status
from carestory.subscriptions import bulk
from carestory.subscriptions.forms import (
    AcceptForm,
    InviteForm,
    ProfileForm,
    RoleForm,
    SafeguardingForm,
    SwitchForm,
    UploadForm,
)
from carestory.subscriptions.models import Membership, StaffProfile, Subscription
from carestory.subscriptions.selectors import (
    active_membership,
    invitation_for_token,
    invitation_of,
    invitations_pending,
    member_of,
    member_upload_for,
    members_of,
    subscription_administered,
)
from carestory.subscriptions.services import (
    invitation_accept,
    invitation_needs_password,
    invitation_problem,
    invitation_send,
    invitation_withdraw,
    member_freeze,
    member_remove,
    member_role_change,
    member_unfreeze,
    member_upload_check,
    member_upload_confirm,
    profile_update,
    safeguarding_contact_set,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: The session's choice of subscription, for a person in several (``selectors.active_membership``).
ACTIVE_SUBSCRIPTION_KEY = "carestory_active_subscription"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _administered(request: HttpRequest, code: str) -> tuple[User, Subscription]:
    """The signed-in user and the subscription they administer, or 404. Opening it makes it
    the active one."""
    user = _user(request)
    subscription = subscription_administered(user=user, code=code)
    if subscription is None:
        raise Http404
    request.session[ACTIVE_SUBSCRIPTION_KEY] = subscription.pk
    return user, subscription


def _member(subscription: Subscription, membership_id: int) -> Membership:
    membership = member_of(subscription=subscription, membership_id=membership_id)
    if membership is None:
        raise Http404
    return membership


@staff_required
def organisation(request: HttpRequest) -> HttpResponse:
    """The active subscription's members page, if the user administers it."""
    user = _user(request)
    membership = active_membership(user=user, chosen=request.session.get(ACTIVE_SUBSCRIPTION_KEY))
    if membership is None or membership.role != Membership.Role.ADMINISTRATOR:
        raise Http404
    return redirect("subscriptions:members", code=membership.subscription.code)


@staff_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's subscriptions the active one."""
    user = _user(request)
    form = SwitchForm(request.POST)
    if not form.is_valid():
        raise Http404
    chosen = form.cleaned_data["subscription"]
    membership = active_membership(user=user, chosen=chosen)
    if membership is None or membership.subscription_id != chosen:
        raise Http404
    request.session[ACTIVE_SUBSCRIPTION_KEY] = membership.subscription_id
    messages.success(
        request, _("You are now working for %(name)s.") % {"name": membership.subscription.name}
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = ""
    return redirect(target or "subscriptions:dashboard")


@staff_required
def members(request: HttpRequest, code: str) -> HttpResponse:
    _, subscription = _administered(request, code)
    return render(
        request,
        "subscriptions/members.html",
        {
            "subscription": subscription,
            "members": members_of(subscription=subscription),
            "invitations": invitations_pending(subscription=subscription),
        },
    )


def _form_page(
    request: HttpRequest,
    subscription: Subscription,
    form: Any,
    run: Callable[[dict[str, Any]], str],
    *,
    title: str,
    button: str,
    intro: str = "",
    multipart: bool = False,
) -> HttpResponse:
    """A page with one form: on a valid POST ``run`` calls the use case (through ``attempt``)
    and answers the message shown on the members page; otherwise the form again."""
    if request.method == "POST" and form.is_valid():
        outcome = attempt(lambda: run(form.cleaned_data), form)
        if outcome.done and outcome.value is not None:
            messages.success(request, outcome.value)
            return redirect("subscriptions:members", code=subscription.code)
    return render(
        request,
        "subscriptions/form.html",
        {
            "subscription": subscription,
            "form": form,
            "title": title,
            "button": button,
            "intro": intro,
            "multipart": multipart,
        },
        status=page_status(form),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, code: str) -> HttpResponse:
    user, subscription = _administered(request, code)
    form = InviteForm(request.POST if request.method == "POST" else None)

    def run(data: dict[str, Any]) -> str:
        invitation = invitation_send(
            actor=user,
            subscription=subscription,
            email=data["email"],
            role=data["role"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            job_title=data["job_title"],
            department=data["department"],
            idempotency_key=data["idempotency_key"],
        )
        return _("An invitation was sent to %(email)s.") % {"email": invitation.email}

    return _form_page(
        request,
        subscription,
        form,
        run,
        title=_("Invite a member"),
        button=_("Send the invitation"),
        intro=_(
            "They get an email with a link to join, which works once, for 14 days. "
            "Inviting the same address again replaces the earlier link."
        ),
    )


def _member_page(
    request: HttpRequest,
    subscription: Subscription,
    membership: Membership,
    form: RoleForm,
    status: int,
) -> HttpResponse:
    """One member's page: their details, and the forms to change the role, freeze or remove."""
    return render(
        request,
        "subscriptions/member.html",
        {
            "subscription": subscription,
            "membership": membership,
            "profile": StaffProfile.objects.filter(user=membership.user).first(),
            "form": form,
        },
        status=status,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def member(request: HttpRequest, code: str, membership_id: int) -> HttpResponse:
    """One member: their details, and the forms to change the role, freeze or remove."""
    user, subscription = _administered(request, code)
    membership = _member(subscription, membership_id)
    form = RoleForm(
        request.POST if request.method == "POST" else None, initial={"role": membership.role}
    )
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        outcome = attempt(
            lambda: member_role_change(actor=user, membership=membership, role=role), form
        )
        if outcome.done:
            messages.success(request, _("The role was changed."))
            return redirect("subscriptions:member", code=code, membership_id=membership.pk)
    return _member_page(request, subscription, membership, form, page_status(form))


def _member_action(
    request: HttpRequest,
    code: str,
    membership_id: int,
    action: Callable[[User, Membership], object],
    done: str,
) -> HttpResponse:
    user, subscription = _administered(request, code)
    membership = _member(subscription, membership_id)
    form = RoleForm({"role": membership.role})  # bound: the action's message goes on it
    form.is_valid()
    outcome = attempt(lambda: action(user, membership), form)
    if outcome.done:
        messages.success(request, done)
        if Membership.objects.filter(pk=membership.pk).exists():
            return redirect("subscriptions:member", code=code, membership_id=membership.pk)
        if subscription_administered(user=user, code=code) is None:
            return redirect("subscriptions:dashboard")  # they removed themselves
        return redirect("subscriptions:members", code=code)
    return _member_page(request, subscription, membership, form, page_status(form, outcome))


@staff_required
@require_POST
def invitation_withdraw_view(request: HttpRequest, code: str, invitation_id: int) -> HttpResponse:
    """Withdraw an invitation not yet used (its link stops working); another organisation's is
    a 404."""
    user, subscription = _administered(request, code)
    invitation = invitation_of(subscription=subscription, invitation_id=invitation_id)
    if invitation is None:
        raise Http404
    if invitation_withdraw(actor=user, invitation=invitation):
        messages.success(
            request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email}
        )
    return redirect("subscriptions:members", code=code)


def _member_action_view(
    action: Callable[..., object], done: StrOrPromise
) -> Callable[[HttpRequest, str, int], HttpResponse]:
    """The POST-only page of one action on a member (``action(actor=, membership=)``)."""

    @staff_required
    @require_POST
    def view(request: HttpRequest, code: str, membership_id: int) -> HttpResponse:
        return _member_action(
            request,
            code,
            membership_id,
            lambda user, m: action(actor=user, membership=m),
            str(done),
        )

    return view


freeze = _member_action_view(
    member_freeze,
    gettext_lazy(
        "The member is frozen: they were signed out and can no longer use the organisation's "
        "access."
    ),
)
unfreeze = _member_action_view(member_unfreeze, gettext_lazy("The member is no longer frozen."))
remove = _member_action_view(
    member_remove, gettext_lazy("The member was removed from the organisation.")
)


@staff_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, code: str) -> HttpResponse:
    """Step one of a bulk upload: the file is read and checked, then previewed."""
    user, subscription = _administered(request, code)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        data = file.read(bulk.MAX_UPLOAD_BYTES + 1)
        outcome = attempt(
            lambda: member_upload_check(
                actor=user, subscription=subscription, file_name=file.name or "", data=data
            ),
            form,
        )
        if outcome.done and outcome.value is not None:
            return redirect("subscriptions:upload_preview", code=code, upload_id=outcome.value.pk)
    return render(
        request,
        "subscriptions/upload.html",
        {"subscription": subscription, "form": form, "columns": bulk.COLUMN_TITLES.values()},
        status=page_status(form),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def upload_preview(request: HttpRequest, code: str, upload_id: int) -> HttpResponse:
    """Step two: every row, what it will do, its problems, and a summary; confirming
    invites (once, however often it is sent)."""
    user, subscription = _administered(request, code)
    found = member_upload_for(subscription=subscription, upload_id=upload_id)
    if found is None:
        raise Http404
    if request.method == "POST":
        already = found.confirmed_at is not None
        invited = member_upload_confirm(actor=user, upload=found)
        if already:
            messages.info(
                request, _("This upload was confirmed already: no one was invited again.")
            )
        else:
            messages.success(request, _("Invitations sent: %(count)s.") % {"count": invited})
        return redirect("subscriptions:members", code=code)
    return render(
        request,
        "subscriptions/upload_preview.html",
        {
            "subscription": subscription,
            "upload": found,
            "rows": found.rows,
            "summary": bulk.summary(found.rows),
            "roles": dict(Membership.Role.choices),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def safeguarding(request: HttpRequest, code: str) -> HttpResponse:
    user, subscription = _administered(request, code)
    form = SafeguardingForm(
        request.POST if request.method == "POST" else None,
        initial={"email": subscription.safeguarding_email},
    )

    def run(data: dict[str, Any]) -> str:
        safeguarding_contact_set(actor=user, subscription=subscription, email=data["email"])
        return _("The safeguarding contacts were saved.")

    return _form_page(
        request,
        subscription,
        form,
        run,
        title=_("Safeguarding contacts"),
        button=_("Save"),
        intro=_(
            "When a moderator holds a story about one of your services because someone may be "
            "at risk, these addresses are told at once."
        ),
    )


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's link: a page that says what the link is (mail scanners open links, so
    the GET changes nothing), asks for a password if the person has none yet, and joins them."""
    invitation = invitation_for_token(raw=token)
    if invitation is None:
        return render(
            request,
            "subscriptions/invitation_gone.html",
            {"problem": _("This invitation link is not valid. Check you copied all of it.")},
            status=404,
        )
    problem = invitation_problem(invitation)
    if problem:
        return render(
            request, "subscriptions/invitation_gone.html", {"problem": problem}, status=410
        )
    needs_password = invitation_needs_password(invitation)
    form = AcceptForm(
        request.POST if request.method == "POST" else None, needs_password=needs_password
    )
    if request.method == "POST" and form.is_valid():
        outcome = attempt(
            lambda: invitation_accept(
                invitation=invitation, password=form.cleaned_data.get("password1", "")
            ),
            form,
        )
        if outcome.done:
            return render(request, "subscriptions/invitation_done.html", {"invitation": invitation})
    return render(
        request,
        "subscriptions/invitation_accept.html",
        {"invitation": invitation, "form": form, "needs_password": needs_password},
        status=page_status(form),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """A member's own profile: how they are shown on responses and to fellow members."""
    user = _user(request)
    if not Membership.objects.active().filter(user_id=user.pk).exists():
        raise Http404
    current = StaffProfile.objects.filter(user=user).first()
    initial = {
        name: getattr(current, name, "")
        for name in ("first_name", "last_name", "job_title", "department", "what_i_do", "phone")
    }
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        outcome = attempt(lambda: profile_update(user=user, **form.cleaned_data), form)
        if outcome.done:
            messages.success(request, _("Your profile was saved."))
            return redirect("subscriptions:profile")
    return render(request, "subscriptions/profile.html", {"form": form}, status=page_status(form))
