"""Brute-force protection for staff password sign-in: failures per address and per IP
address in a sliding window, with a finite cool-off (never a permanent lockout)."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from carestory.audit.models import LoginAttempt

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 5
MAX_FAILURES_PER_IP = 50


def _hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def login_throttled(*, email: str, ip: str | None) -> bool:
    since = timezone.now() - WINDOW
    failures = LoginAttempt.objects.filter(at__gte=since, succeeded=False)
    by_address = failures.filter(email_hash=_hash(email)).count()
    by_ip = failures.filter(ip=ip).count() if ip else 0
    return by_address >= MAX_FAILURES_PER_ADDRESS or by_ip >= MAX_FAILURES_PER_IP


def login_attempt_record(
    *, email: str, ip: str | None, succeeded: bool, user_id: int | None
) -> None:
    LoginAttempt.objects.create(email_hash=_hash(email), ip=ip, succeeded=succeeded)
    if succeeded:
        # A success clears the address's failures, so a colleague's typo streak ends.
        LoginAttempt.objects.filter(Q(email_hash=_hash(email)) & Q(succeeded=False)).delete()
    logger.info("staff sign-in %s: user %s", "succeeded" if succeeded else "failed", user_id or "-")
