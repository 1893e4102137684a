"""Staff password reset by email.

The link is a single-use ``SignInToken`` (purpose ``password_reset``, one hour): the database
keeps only its hash and the outbox row only a seed (``lib.tokens.secret_link``), as for every
emailed link. The request says the same thing whether or not the address has an account.
Choosing a new password signs nobody in: the person then signs in with it, and the second
factor (``accounts/mfa.py``) is asked as always. Setting the password ends every other session
of the account (Django's session hash).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from carestory.accounts.models import SignInToken, User
from carestory.accounts.services import sign_in_token_issue, sign_in_token_peek
from carestory.audit.services import audit_record
from carestory.lib.errors import ValidationError
from carestory.lib.tokens import hash_token, secret_link
from carestory.outbox.services import email_enqueue

PASSWORD_RESET_MINUTES = 60
PASSWORD_RESETS_PER_HOUR = 3
_PURPOSE = SignInToken.Purpose.PASSWORD_RESET


@transaction.atomic
def staff_password_reset_request(*, email: str) -> None:
    """Email a reset link if the address is an active account that signs in with a password.
    Says nothing either way; at most ``PASSWORD_RESETS_PER_HOUR`` links an hour per account."""
    user = User.objects.get_by_email(email)
    if user is None or not user.is_active or not user.signs_in_with_password:
        return
    recent = SignInToken.objects.filter(
        user=user, purpose=_PURPOSE, created_at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if recent >= PASSWORD_RESETS_PER_HOUR:
        return
    token, seed = sign_in_token_issue(user=user, purpose=_PURPOSE)
    SignInToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(minutes=PASSWORD_RESET_MINUTES)
    )
    email_enqueue(
        dedupe_key=f"password-reset:{token.pk}",
        to=user.email,
        template="staff_password_reset",
        context={
            "link": secret_link("accounts:password_reset_confirm", seed),
            "minutes": PASSWORD_RESET_MINUTES,
        },
    )
    audit_record(actor=user, action="account.password_reset_requested", obj=user)


def staff_password_reset_peek(*, raw: str) -> User | None:
    """The account a reset link is for, while the link is valid; None otherwise."""
    token = sign_in_token_peek(raw=raw, purpose=_PURPOSE)
    return token.user if token is not None else None


@transaction.atomic
def staff_password_reset_complete(*, raw: str, password: str) -> User | None:
    """Use the link once and set the password. None if the link is not valid (any more);
    ``ValidationError`` on ``new_password1`` if the password is not good enough."""
    token = sign_in_token_peek(raw=raw, purpose=_PURPOSE)
    if token is None:
        return None
    user = token.user
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from exc
    used = SignInToken.objects.filter(
        token_hash=hash_token(raw), used_at__isnull=True, purpose=_PURPOSE
    ).update(used_at=timezone.now())
    if used != 1:
        return None
    # Any other reset link of this account stops working too.
    SignInToken.objects.filter(user=user, purpose=_PURPOSE, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=user, action="account.password_reset_completed", obj=user)
    return user
