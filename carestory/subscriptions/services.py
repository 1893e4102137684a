"""Subscriptions and their staff."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from carestory.accounts.models import User
from carestory.accounts.services import author_get_or_create
from carestory.audit.services import audit_record
from carestory.services.models import Service
from carestory.subscriptions.models import Membership, Subscription


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
    return membership
