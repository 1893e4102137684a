"""Brute-force protection for password sign-in (the staff login and the internal admin).

Nobody can lock another person out, and nobody can guess a password:

- **Account and client together.** At most ``MAX_FAILURES_PER_ACCOUNT_AND_CLIENT`` failures in
  ``WINDOW`` for one account from one client; then that client waits for that account (a
  finite cool-off; a success resets the pair). Other clients, and this client's other accounts,
  are untouched. The client is the IP address (``lib.client``, honouring
  ``TRUSTED_PROXY_COUNT``; an IPv6 /64) or, for a browser that has signed in to this account
  before, its *device cookie* (OWASP's "device cookies"): then someone at the same address,
  behind the same proxy or NAT, cannot touch its count at all.
- **Per client.** At most ``MAX_FAILURES_PER_CLIENT`` failures in ``WINDOW`` from one unknown
  client across all accounts (password spraying).
- **Per account, slowing only.** Past ``ACCOUNT_CEILING`` failures on one account from unknown
  clients in ``WINDOW`` (many addresses guessing one password), unknown clients get one attempt
  on that account every ``SLOW_INTERVAL``. The owner is never locked out: a known browser is
  not slowed at all, a new one waits half a minute.

Each attempt is a ``LoginAttempt`` row written *before* the password is checked (outcome
``pending``, committed at once: sign-in runs in autocommit) and counted with every other row,
so concurrent guesses cannot all slip under a limit: of N racing attempts, the last to commit
sees all the others. The row then gets its outcome; ``refused`` rows (answered by the throttle
without checking a password) are kept as the record but never counted.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from carestory.accounts.models import SecondFactorAttempt
from carestory.audit.models import LoginAttempt
from carestory.lib.client import network_key
from carestory.lib.emails import normalise_email

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_CLIENT = 5
MAX_FAILURES_PER_CLIENT = 50
ACCOUNT_CEILING = 20
SLOW_INTERVAL = timedelta(seconds=30)

DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
DEVICE_COOKIE_ACCOUNTS = 5  # a shared computer remembers the last five accounts
_DEVICE_SALT = "carestory.accounts.device"

_Outcome = LoginAttempt.Outcome
_COUNTED = (_Outcome.PENDING, _Outcome.FAILED)


def account_key(email: str) -> str:
    """The account's key in the table: an HMAC of the normalised address (not reversible
    without the SECRET_KEY, so the table does not collect addresses)."""
    return salted_hmac(
        "carestory.login-account", normalise_email(email), algorithm="sha256"
    ).hexdigest()


def device_cookie_name() -> str:
    return "__Host-device" if settings.SESSION_COOKIE_SECURE else "device"


@dataclass(frozen=True)
class Device:
    id: str
    accounts: tuple[str, ...]  # prefixes of account keys that signed in from this browser


def device_read(cookie: str | None) -> Device | None:
    if not cookie:
        return None
    try:
        data = signing.loads(cookie, salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
        device_id, accounts = str(data["d"]), tuple(str(a) for a in data["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return Device(id=device_id, accounts=accounts[:DEVICE_COOKIE_ACCOUNTS])


def device_cookie_value(*, device: Device | None, account: str) -> str:
    """The cookie to set after a successful sign-in: this account first."""
    device_id = device.id if device is not None else secrets.token_urlsafe(16)
    known = device.accounts if device is not None else ()
    accounts = [account[:16]] + [a for a in known if a != account[:16]]
    payload = {"d": device_id, "a": accounts[:DEVICE_COOKIE_ACCOUNTS]}
    return signing.dumps(payload, salt=_DEVICE_SALT)


@dataclass(frozen=True)
class LoginGate:
    """The throttle's answer to one attempt, before the password is checked."""

    attempt_id: int
    account: str
    surface: str
    allowed: bool
    retry_after: int  # seconds; 0 when allowed
    device: Device | None


def _retry_after(
    rows: QuerySet[LoginAttempt] | QuerySet[SecondFactorAttempt], limit: int, span: timedelta
) -> int | None:
    """Seconds until ``rows`` (this attempt included) would hold at most ``limit`` - 1 others,
    or None if they are within the limit now."""
    times: list[datetime] = list(rows.order_by("-at").values_list("at", flat=True)[: limit + 1])
    if len(times) <= limit:
        return None
    wait = (times[limit] + span - timezone.now()).total_seconds()
    return max(1, math.ceil(wait))


@dataclass(frozen=True)
class _Who:
    """Who is trying: the account's key, the client's key (the device, when the cookie names
    one that has signed in to this account before; else the network), whether that device is
    trusted, and the device the cookie names (if any)."""

    account: str
    client: str
    trusted: bool
    device: Device | None


def _who(email: str, ip: str | None, device_cookie: str | None) -> _Who:
    account = account_key(email)
    device = device_read(device_cookie)
    trusted = device is not None and account[:16] in device.accounts
    if trusted and device is not None:
        client = "device:" + hashlib.sha256(device.id.encode()).hexdigest()[:32]
    else:
        client = "ip:" + (network_key(ip) if ip else "unknown")
    return _Who(account, client, trusted, device)


def login_attempt_begin(
    *, email: str, ip: str | None, device_cookie: str | None, surface: str
) -> LoginGate:
    """Record an attempt (pending) and decide whether its password may be checked."""
    who = _who(email, ip, device_cookie)
    account, client, trusted, device = who.account, who.client, who.trusted, who.device
    now = timezone.now()
    attempt = LoginAttempt.objects.create(
        at=now,
        email_hash=account,
        ip=ip,
        client_key=client,
        trusted_device=trusted,
        surface=surface,
        outcome=_Outcome.PENDING,
    )
    recent = LoginAttempt.objects.filter(at__gte=now - WINDOW)

    pair = recent.filter(email_hash=account, client_key=client)
    last_success = pair.filter(outcome=_Outcome.SUCCEEDED).aggregate(last=Max("at"))["last"]
    pair_failures = pair.filter(outcome__in=_COUNTED)
    if last_success is not None:
        pair_failures = pair_failures.filter(at__gt=last_success)
    waits = [_retry_after(pair_failures, MAX_FAILURES_PER_ACCOUNT_AND_CLIENT, WINDOW)]

    if not trusted:
        by_client = recent.filter(client_key=client, trusted_device=False, outcome__in=_COUNTED)
        waits.append(_retry_after(by_client, MAX_FAILURES_PER_CLIENT, WINDOW))
        on_account = recent.filter(email_hash=account, trusted_device=False, outcome__in=_COUNTED)
        if len(on_account.values_list("pk", flat=True)[: ACCOUNT_CEILING + 1]) > ACCOUNT_CEILING:
            checked = LoginAttempt.objects.filter(
                email_hash=account, trusted_device=False, at__gte=now - SLOW_INTERVAL
            ).exclude(outcome=_Outcome.REFUSED)
            waits.append(_retry_after(checked, 1, SLOW_INTERVAL))

    wait = max((w for w in waits if w is not None), default=0)
    if wait:
        LoginAttempt.objects.filter(pk=attempt.pk).update(outcome=_Outcome.REFUSED)
        logger.info("sign-in %s refused by the throttle: retry after %ss", surface, wait)
    return LoginGate(
        attempt_id=attempt.pk,
        account=account,
        surface=surface,
        allowed=not wait,
        retry_after=wait,
        device=device,
    )


def login_attempt_finish(*, gate: LoginGate, succeeded: bool, user_id: int | None) -> None:
    outcome = _Outcome.SUCCEEDED if succeeded else _Outcome.FAILED
    LoginAttempt.objects.filter(pk=gate.attempt_id).update(outcome=outcome)
    logger.info("sign-in %s %s: user %s", gate.surface, outcome, user_id or "-")


# The second step (a code after the password) ------------------------------------------------
# The same design: (account, client) pairs, then the client across accounts. A browser is a
# trusted device for the account only once it has finished a whole sign-in, second step
# included (the device cookie is set then, ``signin``), so knowing the password does not make
# a client trusted. Nothing counts per account alone: a person who has the right code can use
# it from any client however many wrong codes others typed for their account elsewhere.

MAX_CODE_FAILURES_PER_ACCOUNT_AND_CLIENT = 5
MAX_CODE_FAILURES_PER_CLIENT = 20

_CodeOutcome = SecondFactorAttempt.Outcome
_CODE_COUNTED = (_CodeOutcome.PENDING, _CodeOutcome.FAILED)


@dataclass(frozen=True)
class SecondFactorGate:
    attempt_id: int
    allowed: bool
    retry_after: int
    device: Device | None


def second_factor_begin(
    *, user_id: int, email: str, ip: str | None, device_cookie: str | None
) -> SecondFactorGate:
    """Record a code attempt (pending) and decide whether its code may be checked."""
    who = _who(email, ip, device_cookie)
    client, trusted, device = who.client, who.trusted, who.device
    now = timezone.now()
    attempt = SecondFactorAttempt.objects.create(
        at=now, user_id=user_id, client_key=client, trusted_device=trusted
    )
    recent = SecondFactorAttempt.objects.filter(at__gte=now - WINDOW)
    pair = recent.filter(user_id=user_id, client_key=client)
    last_success = pair.filter(outcome=_CodeOutcome.SUCCEEDED).aggregate(last=Max("at"))["last"]
    pair_failures = pair.filter(outcome__in=_CODE_COUNTED)
    if last_success is not None:
        pair_failures = pair_failures.filter(at__gt=last_success)
    waits = [_retry_after(pair_failures, MAX_CODE_FAILURES_PER_ACCOUNT_AND_CLIENT, WINDOW)]
    if not trusted:
        by_client = recent.filter(client_key=client, outcome__in=_CODE_COUNTED)
        waits.append(_retry_after(by_client, MAX_CODE_FAILURES_PER_CLIENT, WINDOW))
    wait = max((w for w in waits if w is not None), default=0)
    if wait:
        SecondFactorAttempt.objects.filter(pk=attempt.pk).update(outcome=_CodeOutcome.REFUSED)
        logger.info("second factor refused by the throttle: retry after %ss", wait)
    return SecondFactorGate(
        attempt_id=attempt.pk, allowed=not wait, retry_after=wait, device=device
    )


def second_factor_finish(*, gate: SecondFactorGate, succeeded: bool, user_id: int) -> None:
    outcome = _CodeOutcome.SUCCEEDED if succeeded else _CodeOutcome.FAILED
    SecondFactorAttempt.objects.filter(pk=gate.attempt_id).update(outcome=outcome)
    logger.info("second factor %s: user %s", outcome, user_id)
