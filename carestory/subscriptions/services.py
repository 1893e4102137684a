"""Subscriptions and their staff: adding, inviting, changing, freezing and removing members,
their profiles, and the subscription's safeguarding contact.

Each administrator's use case takes the ``actor`` and checks ``selectors.may_administer``
itself (``NotAllowed``: the page answers 404), then its own rule, and records an audit event in
its transaction. An administrator may not remove, freeze or demote the last active
administrator: ``_require_an_administrator_left`` checks after the change, under a lock on the
subscription's row, so of two administrators demoting each other at once one is refused.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.accounts.services import author_get_or_create
from carestory.alerts.services import alert_default_create
from carestory.audit.services import audit_record
from carestory.lib.emails import email_problem, normalise_email
from carestory.lib.errors import NotAllowed, Problems
from carestory.lib.idempotency import create_once
from carestory.lib.text import clean_text
from carestory.lib.tokens import hash_token, new_link_seed, secret_link, token_from_seed
from carestory.outbox.services import email_enqueue
from carestory.services.models import Service
from carestory.subscriptions.models import (
    Invitation,
    Membership,
    MemberUpload,
    StaffProfile,
    Subscription,
)
from carestory.subscriptions.selectors import may_administer

INVITATION_DAYS = 14
NAME_LIMIT = 75
TITLE_LIMIT = 150
WHAT_I_DO_LIMIT = 300
PHONE_LIMIT = 40
TOO_LONG = "Enter at most %(limit)s characters"


@transaction.atomic
def subscription_create(*, code: str, name: str, scope: list[Service]) -> Subscription:
    subscription = Subscription.objects.create(code=code.strip().upper(), name=name)
    subscription.scope.set(scope)
    audit_record(
        actor=None,
        action="subscription.create",
        obj=subscription,
        changes={"scope": [s.code for s in scope]},
    )
    return subscription


def subscription_for_code(*, code: str) -> Subscription:
    """The subscription with this code; if there is none but a service has the code, a new
    subscription scoped to that service. Raises ValidationError if neither exists."""
    code = code.strip().upper()
    subscription = Subscription.objects.filter(code=code).first()
    if subscription is not None:
        return subscription
    service = Service.objects.filter(code=code).first()
    if service is None:
        raise ValidationError(f"No organisation or service has the code {code}")
    return subscription_create(code=code, name=service.name, scope=[service])


@transaction.atomic
def staff_add(
    *,
    email: str,
    subscription: Subscription,
    role: str,
    password: str,
    full_name: str = "",
    job_title: str = "",
    actor: User | None = None,
) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError(f"Role must be one of {', '.join(Membership.Role.values)}")
    user = author_get_or_create(email=email)
    validate_password(password, user)
    user.set_password(password)
    if full_name:
        user.full_name = full_name
    if job_title:
        user.job_title = job_title
    user.email_verified_at = user.email_verified_at or timezone.now()
    user.save()
    membership, created = Membership.objects.update_or_create(
        user=user, subscription=subscription, defaults={"role": role, "is_active": True}
    )
    audit_record(
        actor=actor,
        action="membership.add" if created else "membership.change",
        obj=membership,
        changes={"subscription": subscription.code, "role": role, "user": user.pk},
    )
    if created:
        alert_default_create(membership=membership, actor=actor)
    return membership


# Profiles ------------------------------------------------------------------------------------


def _profile_fields(
    *, first_name: str, last_name: str, job_title: str, department: str
) -> dict[str, str]:
    """The checked names, job title and department (an invitation's and a profile's)."""
    problems = Problems()
    fields = {
        "first_name": problems.check(
            lambda: clean_text(
                first_name,
                field="first_name",
                limit=NAME_LIMIT,
                too_long=_(TOO_LONG),
                missing=_("Enter a first name"),
            ),
            default="",
        ),
        "last_name": problems.check(
            lambda: clean_text(
                last_name,
                field="last_name",
                limit=NAME_LIMIT,
                too_long=_(TOO_LONG),
                missing=_("Enter a last name"),
            ),
            default="",
        ),
        "job_title": problems.check(
            lambda: clean_text(
                job_title, field="job_title", limit=TITLE_LIMIT, too_long=_(TOO_LONG)
            ),
            default="",
        ),
        "department": problems.check(
            lambda: clean_text(
                department, field="department", limit=TITLE_LIMIT, too_long=_(TOO_LONG)
            ),
            default="",
        ),
    }
    problems.raise_any()
    return fields


def _profile_save(*, user: User, fields: dict[str, str]) -> StaffProfile:
    """Write the profile and keep ``User.full_name`` and ``User.job_title`` in step."""
    profile, _created = StaffProfile.objects.update_or_create(user=user, defaults=fields)
    user.full_name = profile.full_name
    user.job_title = profile.job_title
    user.save(update_fields=["full_name", "job_title"])
    return profile


@transaction.atomic
def profile_update(
    *,
    user: User,
    first_name: str,
    last_name: str,
    job_title: str,
    department: str,
    what_i_do: str,
    phone: str,
) -> StaffProfile:
    """A member changes how they are shown (on responses; the phone to members only)."""
    if not Membership.objects.active().filter(user_id=user.pk).exists():
        raise NotAllowed()
    problems = Problems()
    fields = problems.check(
        lambda: _profile_fields(
            first_name=first_name, last_name=last_name, job_title=job_title, department=department
        ),
        default=dict[str, str](),
    )
    fields["what_i_do"] = problems.check(
        lambda: clean_text(
            what_i_do, field="what_i_do", limit=WHAT_I_DO_LIMIT, too_long=_(TOO_LONG)
        ),
        default="",
    )
    fields["phone"] = problems.check(
        lambda: clean_text(phone, field="phone", limit=PHONE_LIMIT, too_long=_(TOO_LONG)),
        default="",
    )
    problems.raise_any()
    profile = _profile_save(user=user, fields=fields)
    audit_record(
        actor=user, action="profile.update", obj=profile, changes={"fields": sorted(fields)}
    )
    return profile


# Invitations ---------------------------------------------------------------------------------


def _require_admin(actor: User, subscription: Subscription) -> None:
    if not may_administer(user=actor, subscription=subscription):
        raise NotAllowed()


def role_problem(role: str) -> str:
    """What is wrong with a role's value, or ""."""
    if role in Membership.Role.values:
        return ""
    return _("Choose a role: member, responder or administrator")


def _invitation_email(email: str) -> str:
    problem = email_problem(email)
    if problem:
        raise ValidationError({"email": problem})
    return normalise_email(email)


def _check_invitation(
    *, subscription: Subscription, email: str, role: str, names: dict[str, str]
) -> tuple[str, dict[str, str]]:
    problems = Problems()
    address = problems.check(lambda: _invitation_email(email), default="")
    fields = problems.check(lambda: _profile_fields(**names), default=dict[str, str]())
    if role_problem(role):
        problems.check(lambda: _raise({"role": role_problem(role)}), default=None)
    if (
        address
        and Membership.objects.filter(subscription=subscription, user__email=address).exists()
    ):
        problems.check(
            lambda: _raise({"email": _("This person is already a member of the organisation")}),
            default=None,
        )
    problems.raise_any()
    return address, fields


def _raise(errors: dict[str, str]) -> None:
    raise ValidationError(errors)


def invitation_send(
    *,
    actor: User,
    subscription: Subscription,
    email: str,
    role: str,
    first_name: str,
    last_name: str,
    job_title: str = "",
    department: str = "",
    idempotency_key: uuid.UUID | None = None,
    upload: MemberUpload | None = None,
) -> Invitation:
    """Invite someone by email to join with ``role``: a single-use link for INVITATION_DAYS
    (only its hash kept). An invitation still open to the same address is revoked, so the
    newest link is the one that works. A form sent twice (one ``idempotency_key``) invites
    once."""
    _require_admin(actor, subscription)
    names = {
        "first_name": first_name,
        "last_name": last_name,
        "job_title": job_title,
        "department": department,
    }
    address, fields = _check_invitation(
        subscription=subscription, email=email, role=role, names=names
    )

    def create() -> Invitation:
        now = timezone.now()
        Invitation.objects.filter(
            subscription=subscription, email=address, accepted_at__isnull=True, revoked_at=None
        ).update(revoked_at=now)
        seed = new_link_seed()
        invitation = Invitation.objects.create(
            subscription=subscription,
            email=address,
            role=role,
            token_hash=hash_token(token_from_seed(seed)),
            invited_by=actor,
            upload=upload,
            idempotency_key=idempotency_key,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
            **fields,
        )
        email_enqueue(
            dedupe_key=f"invitation:{invitation.pk}",
            to=address,
            template="member_invitation",
            context={
                "organisation": subscription.name,
                "first_name": invitation.first_name,
                "role": invitation.get_role_display(),
                "inviter": actor.full_name,
                "days": INVITATION_DAYS,
                "link": secret_link("subscriptions:invitation_accept", seed),
            },
        )
        audit_record(
            actor=actor,
            action="invitation.send",
            obj=invitation,
            changes={
                "subscription": subscription.code,
                "role": role,
                "upload": upload and upload.pk,
            },
        )
        return invitation

    if idempotency_key is None:
        with transaction.atomic():
            return create()
    return create_once(
        Invitation, idempotency_key=idempotency_key, create=create, same=lambda found: found
    )


def invitation_problem(invitation: Invitation) -> str:
    """Why this invitation's link no longer works ("" if it does): the page says so, and
    ``invitation_accept`` refuses with the same words."""
    if invitation.accepted_at is not None:
        return _(
            "This invitation has already been used. Sign in with your email address and password."
        )
    if invitation.revoked_at is not None:
        return _(
            "This invitation was replaced by a newer one or withdrawn. Use the link in the "
            "newest email, or ask your administrator."
        )
    if invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask your administrator to invite you again.")
    inviter = invitation.invited_by
    if inviter is None or not may_administer(user=inviter, subscription=invitation.subscription):
        # Its authority was the inviter's: frozen, demoted or gone since, it lapses with them.
        return _(
            "This invitation can no longer be used: the person who sent it no longer manages "
            "the organisation's members. Ask your administrator to invite you again."
        )
    return ""


@transaction.atomic
def invitation_withdraw(*, actor: User, invitation: Invitation) -> bool:
    """An administrator withdraws an invitation not yet used: its link stops working at once.
    True if it was still open (a second click changes nothing)."""
    _require_admin(actor, invitation.subscription)
    withdrawn = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if withdrawn:
        audit_record(
            actor=actor,
            action="invitation.withdraw",
            obj=invitation,
            changes={"role": invitation.role},
        )
    return bool(withdrawn)


def invitation_needs_password(invitation: Invitation) -> bool:
    """Whether accepting must set a password: the address has no password account yet."""
    user = User.objects.get_by_email(invitation.email)
    return user is None or not user.has_usable_password()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, password: str = "") -> Membership:
    """The invitee accepts: the invitation is used once (a conditional UPDATE, so two clicks
    make one membership), the account is made (or found) with the password they chose, and
    they join with the invited role. An account that already has a password keeps it."""
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    now = timezone.now()
    needs_password = invitation_needs_password(invitation)
    user = author_get_or_create(email=invitation.email)
    if needs_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password1": exc.messages}) from exc
    used = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(accepted_at=now)
    if used != 1:
        invitation.refresh_from_db()
        raise ValidationError(
            invitation_problem(invitation) or _("This invitation cannot be used.")
        )
    if needs_password:
        user.set_password(password)
    user.email_verified_at = user.email_verified_at or now
    user.save()
    profile = StaffProfile.objects.filter(user=user).first()
    if profile is None or not profile.full_name:
        _profile_save(
            user=user,
            fields={
                "first_name": invitation.first_name,
                "last_name": invitation.last_name,
                "job_title": invitation.job_title,
                "department": invitation.department,
            },
        )
    membership, created = Membership.objects.get_or_create(
        user=user, subscription=invitation.subscription, defaults={"role": invitation.role}
    )
    audit_record(
        actor=user,
        action="invitation.accept",
        obj=invitation,
        changes={"membership": membership.pk, "created": created, "role": membership.role},
    )
    if created:
        alert_default_create(membership=membership, actor=user)
    return membership


# Changing members ----------------------------------------------------------------------------


def _locked(membership: Membership, actor: User) -> Membership:
    """The membership read again, under a lock on its subscription's row (PostgreSQL; SQLite
    serialises writers), after checking the actor administers it."""
    _require_admin(actor, membership.subscription)
    Subscription.objects.select_for_update().filter(pk=membership.subscription_id).first()
    current = Membership.objects.filter(pk=membership.pk).select_related("user", "subscription")
    found = current.first()
    if found is None:
        raise NotAllowed()
    return found


def _require_an_administrator_left(subscription: Subscription) -> None:
    """After a change: at least one active administrator remains (checked in the change's
    transaction, so a refused change is rolled back)."""
    if not Membership.objects.filter(
        subscription=subscription,
        role=Membership.Role.ADMINISTRATOR,
        is_active=True,
        user__is_active=True,
    ).exists():
        raise ValidationError(
            _(
                "The organisation must keep at least one active administrator. Make someone "
                "else an administrator first."
            )
        )


@transaction.atomic
def member_role_change(*, actor: User, membership: Membership, role: str) -> Membership:
    membership = _locked(membership, actor)
    if role_problem(role):
        raise ValidationError({"role": role_problem(role)})
    before = membership.role
    if before == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    _require_an_administrator_left(membership.subscription)
    audit_record(
        actor=actor, action="membership.role", obj=membership, changes={"role": [before, role]}
    )
    return membership


@transaction.atomic
def member_freeze(*, actor: User, membership: Membership) -> Membership:
    """Freeze a member: they lose what the membership gave at once, and any session they
    began before now ends on its next request (``selectors.frozen_since_sign_in``)."""
    membership = _locked(membership, actor)
    if not membership.is_active:
        return membership
    membership.is_active = False
    membership.frozen_at = timezone.now()
    membership.save(update_fields=["is_active", "frozen_at"])
    _require_an_administrator_left(membership.subscription)
    audit_record(actor=actor, action="membership.freeze", obj=membership)
    return membership


@transaction.atomic
def member_unfreeze(*, actor: User, membership: Membership) -> Membership:
    membership = _locked(membership, actor)
    if membership.is_active:
        return membership
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    audit_record(actor=actor, action="membership.unfreeze", obj=membership)
    return membership


@transaction.atomic
def member_remove(*, actor: User, membership: Membership) -> None:
    """Remove a member from the organisation (their account, and other memberships, stay)."""
    membership = _locked(membership, actor)
    audit_record(
        actor=actor,
        action="membership.remove",
        obj=membership,
        changes={"user": membership.user_id, "role": membership.role},
    )
    membership.delete()
    _require_an_administrator_left(membership.subscription)


SAFEGUARDING_CONTACTS_MAX = 5


@transaction.atomic
def safeguarding_contact_set(
    *, actor: User, subscription: Subscription, email: str
) -> Subscription:
    """The addresses told when a story about the organisation's services is held for
    safeguarding: one a line (or separated by commas), at most SAFEGUARDING_CONTACTS_MAX,
    each checked, repeats dropped; blank: none."""
    _require_admin(actor, subscription)
    given = [part.strip() for part in re.split(r"[\n,;]+", email) if part.strip()]
    if len(given) > SAFEGUARDING_CONTACTS_MAX:
        raise ValidationError(
            {"email": _("Give at most %(most)s addresses") % {"most": SAFEGUARDING_CONTACTS_MAX}}
        )
    for address in given:
        if problem := email_problem(address):
            raise ValidationError({"email": f"{address[:80]}: {problem}"})
    addresses = list(dict.fromkeys(normalise_email(a) for a in given))
    before = subscription.safeguarding_contacts
    stored = "\n".join(addresses)
    Subscription.objects.filter(pk=subscription.pk).update(safeguarding_email=stored)
    subscription.safeguarding_email = stored
    audit_record(
        actor=actor,
        action="subscription.safeguarding_contact",
        obj=subscription,
        changes={"changed": before != addresses, "contacts": len(addresses)},
    )
    return subscription


# Bulk upload ---------------------------------------------------------------------------------


@transaction.atomic
def member_upload_check(
    *, actor: User, subscription: Subscription, file_name: str, data: bytes
) -> MemberUpload:
    """Read and check an administrator's file of members (``bulk``): the checked rows are kept
    for the preview, and nothing else is written until ``member_upload_confirm``."""
    from carestory.subscriptions import bulk

    _require_admin(actor, subscription)
    table = bulk.read_table(file_name=file_name, data=data)
    rows = bulk.check_rows(table=table, subscription=subscription)
    upload = MemberUpload.objects.create(
        subscription=subscription,
        uploaded_by=actor,
        file_name=file_name[:200],
        rows=[row.as_json() for row in rows],
    )
    audit_record(
        actor=actor, action="member_upload.check", obj=upload, changes=bulk.summary(upload.rows)
    )
    return upload


@transaction.atomic
def member_upload_confirm(*, actor: User, upload: MemberUpload) -> int:
    """Invite everyone the preview said would be invited; answers how many were. Confirmed
    once (a conditional UPDATE): a second submit, or a reload, invites no one again. A row
    whose person joined or was invited since the preview is passed over."""
    from carestory.subscriptions.bulk import Outcome

    subscription = upload.subscription
    _require_admin(actor, subscription)
    confirmed = MemberUpload.objects.filter(pk=upload.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    if confirmed != 1:
        return 0
    invited = 0
    for row in upload.rows:
        if row["outcome"] != Outcome.INVITE:
            continue
        values = row["values"]
        try:
            with transaction.atomic():
                invitation_send(
                    actor=actor,
                    subscription=subscription,
                    email=values["email"],
                    role=values["role"],
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    job_title=values["job_title"],
                    department=values["department"],
                    upload=upload,
                )
        except ValidationError:
            continue
        invited += 1
    audit_record(
        actor=actor, action="member_upload.confirm", obj=upload, changes={"invited": invited}
    )
    return invited
