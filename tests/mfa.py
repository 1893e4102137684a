"""Staff MFA in tests: an authenticator with a known secret, and its codes.

``mfa_enrol(user)`` gives ``user`` a confirmed authenticator (as ``accounts/mfa.py`` would
after enrolment) and returns its secret; ``mfa_code(user)`` is a code the sign-in will accept
now: the current step's, or the next one's when the current step was already used (codes
cannot be replayed; the service accepts one step of drift).
``client.force_login`` stands for a finished sign-in: the root conftest marks its session as
having given the second factor (``mark_signed_in``), so tests that use it are not sent to the
second step; an unmarked session of someone who needs MFA is (the middleware's default)."""

from __future__ import annotations

import pyotp
from django.test import Client
from django.utils import timezone

from carestory.accounts.models import MFADevice, User
from carestory.accounts.signin import MFA_DONE, SESSION_MFA_KEY

TEST_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def mfa_enrol(user: User, secret: str = TEST_SECRET) -> str:
    """Idempotent: an authenticator already there is kept (and so is its last used step)."""
    device, _created = MFADevice.objects.get_or_create(
        user=user, defaults={"secret": secret, "confirmed_at": timezone.now()}
    )
    return device.secret


def mfa_code(user: User, *, step_offset: int = 0) -> str:
    device = MFADevice.objects.get(user=user)
    totp = pyotp.TOTP(device.secret)
    step = max(int(totp.timecode(timezone.now())), device.last_step + 1) + step_offset
    return totp.generate_otp(step)


def mark_signed_in(client: Client) -> None:
    """Mark ``client``'s session as fully signed in (password and second factor given)."""
    session = client.session
    session[SESSION_MFA_KEY] = MFA_DONE
    session.save()
