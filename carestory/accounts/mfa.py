"""Staff MFA: a TOTP authenticator (RFC 6238, ``pyotp``) and ten single-use recovery codes.

Who must have it (``mfa_required``): moderators (senior ones too), Django staff and
superusers, and the administrators of any active subscription. Anyone else who signs in with
a password may enrol, and may turn it off again.

- **Enrolment** (``mfa_enrol_begin``, ``mfa_enrol_confirm``): a new secret, shown once as a QR
  code drawn here as SVG (``segno``; no outside service) and as text; the authenticator is
  confirmed by typing one of its codes back, which also hands out the recovery codes.
- **A code** (``mfa_verify``): a TOTP code of this step or one step either side (clock drift)
  that is *later* than the last one accepted. The step is stored with a conditional UPDATE
  (``last_step < step``), so a code cannot be used twice, not even by two racing requests.
  Or a recovery code: each works once (``used_at`` set by a conditional UPDATE).
- **Recovery codes**: ten, about 50 bits each, stored as an HMAC under the SECRET_KEY,
  shown once; regenerating replaces them all.

Secrets and codes never reach a log line or an audit event's changes. The throttle on typing
codes is ``accounts/throttle.second_factor_begin``; the session states are ``signin.py``'s.
"""

from __future__ import annotations

import logging
import secrets
from typing import Literal

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from carestory.accounts.models import MFADevice, RecoveryCode, User
from carestory.audit.services import audit_record
from carestory.lib.errors import NotAllowed, ValidationError

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_HALF = 5  # shown as xxxxx-xxxxx: 31**10, about 50 bits
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1  # one step (30 s) either side of now

CODE_WRONG = _("That code is not right. Enter the 6-digit code your app shows now.")
CODE_WRONG_ANY = _(
    "That code is not right. Enter the 6-digit code your app shows now, or a recovery code."
)
CODE_MISSING = _("Enter the code")

Used = Literal["totp", "recovery"]


def mfa_required(user: User) -> bool:
    """Whether this account may not work without a second factor."""
    from carestory.subscriptions.models import Membership

    if not user.is_active:
        return False
    if user.moderates or user.is_senior_moderator or user.is_staff or user.is_superuser:
        return True
    return (
        Membership.objects.active().filter(user=user, role=Membership.Role.ADMINISTRATOR).exists()
    )


def mfa_enrolled(user: User) -> bool:
    return MFADevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS)


def _step_now() -> int:
    return int(_totp(pyotp.random_base32()).timecode(timezone.now()))


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side) whose code this is, or None."""
    totp = _totp(secret)
    now = _step_now()
    for step in range(now - TOTP_DRIFT_STEPS, now + TOTP_DRIFT_STEPS + 1):
        if constant_time_compare(totp.generate_otp(step), code):
            return step
    return None


def _digits(code: str) -> str:
    return "".join(code.split()).replace("-", "")


def mfa_enrol_begin(*, user: User) -> str:
    """A new secret for ``user`` to add to their app (replacing an unconfirmed one). Refused
    (``NotAllowed``) while a confirmed authenticator exists: turn it off first."""
    with transaction.atomic():
        device = MFADevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed_at is not None:
            raise NotAllowed("already enrolled")
        secret = pyotp.random_base32()
        MFADevice.objects.update_or_create(
            user=user,
            defaults={"secret": secret, "confirmed_at": None, "last_step": 0},
        )
    return secret


def mfa_pending_secret(user: User) -> str | None:
    """The secret of an enrolment in progress (to draw its QR code again), or None."""
    device = MFADevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    return device.secret if device is not None else None


def mfa_provisioning_uri(*, user: User, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=settings.SITE_NAME)


def mfa_qr_data_url(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URL (the CSP's img-src allows ``data:``)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=4))


def mfa_enrol_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the enrolment in progress with a code from the app; returns the ten recovery
    codes (shown once). ``ValidationError`` on the ``code`` field for a wrong code."""
    code = _digits(code)
    with transaction.atomic():
        device = (
            MFADevice.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=True)
            .first()
        )
        if device is None:
            raise NotAllowed("no enrolment in progress")
        step = _matching_step(device.secret, code) if code else None
        if step is None:
            raise ValidationError({"code": CODE_WRONG if code else CODE_MISSING})
        device.confirmed_at = timezone.now()
        device.last_step = step
        device.save(update_fields=["confirmed_at", "last_step"])
        codes = _recovery_codes_replace(user)
        audit_record(actor=user, action="mfa.enrol", obj=user, object_type="user")
    logger.info("mfa enrolled: user %s", user.pk)
    return codes


def _recovery_hash(user: User, code: str) -> str:
    normal = _digits(code).lower()
    return salted_hmac(
        "carestory.recovery-code", f"{user.pk}:{normal}", algorithm="sha256"
    ).hexdigest()


def _recovery_codes_replace(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _i in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _j in range(2 * _RECOVERY_HALF))
        codes.append(f"{raw[:_RECOVERY_HALF]}-{raw[_RECOVERY_HALF:]}")
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_recovery_hash(user, code)) for code in codes
    )
    return codes


def mfa_recovery_codes_regenerate(*, user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    with transaction.atomic():
        if not mfa_enrolled(user):
            raise NotAllowed("not enrolled")
        codes = _recovery_codes_replace(user)
        audit_record(
            actor=user, action="mfa.recovery_codes_regenerated", obj=user, object_type="user"
        )
    return codes


def mfa_recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def mfa_verify(*, user: User, code: str) -> Used:
    """Check a second factor: a fresh TOTP code, or an unused recovery code. Raises
    ``ValidationError`` on ``code`` otherwise (a replayed code included)."""
    code = _digits(code)
    if not code:
        raise ValidationError({"code": CODE_MISSING})
    device = MFADevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise NotAllowed("not enrolled")
    if code.isdigit() and len(code) == TOTP_DIGITS:
        step = _matching_step(device.secret, code)
        if step is not None and (
            MFADevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step) == 1
        ):
            return "totp"
        raise ValidationError({"code": CODE_WRONG_ANY})
    with transaction.atomic():
        used = RecoveryCode.objects.filter(
            user=user, code_hash=_recovery_hash(user, code), used_at__isnull=True
        ).update(used_at=timezone.now())
        if used != 1:
            raise ValidationError({"code": CODE_WRONG_ANY})
        audit_record(
            actor=user,
            action="mfa.recovery_used",
            obj=user,
            object_type="user",
            changes={"left": mfa_recovery_codes_left(user)},
        )
    return "recovery"


def mfa_disable(*, user: User) -> None:
    """Turn MFA off: only for accounts that do not need it (``NotAllowed`` otherwise)."""
    if mfa_required(user):
        raise NotAllowed("MFA is required for this account")
    with transaction.atomic():
        deleted, _counts = MFADevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if deleted:
            audit_record(actor=user, action="mfa.disable", obj=user, object_type="user")
