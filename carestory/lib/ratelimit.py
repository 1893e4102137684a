"""Requests per client: a small limiter shared by every web process, failing open.

Each limit counts requests per client (``lib.client.client_key``: an IPv4 address or an IPv6
/64) in fixed windows stored in the database (``accounts.RateLimitBucket``), and estimates a
sliding window from the current and previous ones (previous x the share of it still inside
the window + current). Counting is one statement, atomic on SQLite and PostgreSQL alike, so
any number of gunicorn workers and machines share the count::

    INSERT INTO accounts_ratelimitbucket (key, hits, expires_at) VALUES (%s, 1, %s)
    ON CONFLICT (key) DO UPDATE SET hits = accounts_ratelimitbucket.hits + 1 RETURNING hits

Refused requests count too: a client that keeps hammering stays refused until it slows down.

If the store fails (database error, missing table, anything) the request is **allowed** and a
warning logged: a broken limiter must never stop someone telling their story.

Limits are settings (requests per window, 0 for no limit), read at request time. Use
``@rate_limited(LIMIT)`` on a view, ``rate_limit_request()`` inside one, or ``ClientThrottle``
on a django-ninja API. A refusal is 429 with a ``Retry-After`` header and a page or JSON that
says how long to wait.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja.throttling import BaseThrottle

from carestory.lib.client import client_key

logger = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., HttpResponse])


@dataclass(frozen=True)
class RateLimit:
    scope: str
    setting: str  # the settings name holding the number of requests allowed per window
    window_seconds: int

    @property
    def limit(self) -> int:
        return max(0, int(getattr(settings, self.setting, 0)))


API = RateLimit("api", "RATE_LIMIT_API_PER_MINUTE", 60)
SERVICE_SUGGESTIONS = RateLimit("suggest", "RATE_LIMIT_SUGGEST_PER_MINUTE", 60)
AUTHOR_GUIDANCE = RateLimit("guidance", "RATE_LIMIT_GUIDANCE_PER_MINUTE", 60)
STORY_SUBMISSIONS = RateLimit("stories", "RATE_LIMIT_STORIES_PER_HOUR", 3600)
SIGN_IN_LINKS = RateLimit("sign-in-links", "RATE_LIMIT_SIGN_IN_LINKS_PER_HOUR", 3600)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds, when refused


ALLOW = Decision(allowed=True)


def _key(scope: str, client: str, window: int) -> str:
    return hashlib.sha256(f"{scope}|{client}|{window}".encode()).hexdigest()


def _count(*, current: str, previous: str, expires_at: datetime) -> tuple[int, int]:
    """Add one to the current window; the current and previous windows' counts."""
    from carestory.accounts.models import RateLimitBucket

    table = connection.ops.quote_name(RateLimitBucket._meta.db_table)
    key, hits, expires = (connection.ops.quote_name(c) for c in ("key", "hits", "expires_at"))
    upsert = (
        f"INSERT INTO {table} ({key}, {hits}, {expires}) VALUES (%s, 1, %s) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {hits} = {table}.{hits} + 1 RETURNING {hits}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(upsert, [current, connection.ops.adapt_datetimefield_value(expires_at)])
        row = cursor.fetchone()
        cursor.execute(f"SELECT {hits} FROM {table} WHERE {key} = %s", [previous])  # noqa: S608
        before = cursor.fetchone()
    return int(row[0]), int(before[0]) if before else 0


def _wait(*, limit: int, window: int, elapsed: float, current: int, previous: int) -> float:
    """Seconds until one more request would be within the limit, if no other comes."""
    if current + 1 <= limit and previous > 0:
        # Later in this window, once enough of the previous window has slid out.
        return max(0.0, window * (1 - (limit - current - 1) / previous) - elapsed)
    if current + 1 <= limit:
        return 0.0
    # In the next window, once enough of this one has slid out.
    return (window - elapsed) + window * max(0.0, 1 - (limit - 1) / current)


def rate_limit_hit(*, limit: RateLimit, client: str) -> Decision:
    """Count one request by ``client`` against ``limit``; fails open."""
    allowed = limit.limit
    if allowed <= 0:
        return ALLOW
    window = limit.window_seconds
    now = timezone.now().timestamp()
    number = int(now // window)
    elapsed = now - number * window
    try:
        current, previous = _count(
            current=_key(limit.scope, client, number),
            previous=_key(limit.scope, client, number - 1),
            expires_at=datetime.fromtimestamp((number + 2) * window, tz=UTC),
        )
    except Exception as exc:  # a broken limiter must never block anyone
        logger.warning(
            "rate limit store failed, allowing: scope=%s error=%s", limit.scope, type(exc).__name__
        )
        return ALLOW
    estimate = previous * (window - elapsed) / window + current
    if estimate <= allowed:
        return ALLOW
    wait = _wait(limit=allowed, window=window, elapsed=elapsed, current=current, previous=previous)
    logger.info("rate limited: scope=%s", limit.scope)
    return Decision(allowed=False, retry_after=max(1, math.ceil(wait)))


def rate_limit_request(request: HttpRequest, limit: RateLimit) -> Decision:
    # Remembered so that a cached copy of the answer (carestory.pagecache) counts it too.
    applied = request.__dict__.setdefault("rate_limits_applied", [])
    if limit not in applied:
        applied.append(limit)
    return rate_limit_hit(limit=limit, client=f"{client_key(request)}")


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return ngettext(
            "Wait %(count)s second and try again.", "Wait %(count)s seconds and try again.", seconds
        ) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Wait %(count)s minute and try again.", "Wait %(count)s minutes and try again.", minutes
    ) % {"count": minutes}


def too_many_requests(
    request: HttpRequest,
    decision: Decision,
    *,
    as_json: bool = False,
    kept: bool = False,
    back_url: str = "",
) -> HttpResponse:
    """429 with Retry-After: a page (``templates/429.html``) or JSON ``{"error": ...}``."""
    message = _("Too many requests from your network.") + " " + _wait_text(decision.retry_after)
    response: HttpResponse
    if as_json:
        response = JsonResponse({"error": message}, status=429)
    else:
        context = {"message": message, "kept": kept, "back_url": back_url}
        response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


def rate_limited(
    limit: RateLimit, *, methods: Collection[str] = ("GET", "POST"), as_json: bool = False
) -> Callable[[View], View]:
    """Count each request with one of ``methods`` against ``limit`` before the view runs."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in methods:
                decision = rate_limit_request(request, limit)
                if not decision.allowed:
                    return too_many_requests(request, decision, as_json=as_json)
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


class ClientThrottle(BaseThrottle):
    """The same limiter for django-ninja: ``NinjaAPI(throttle=[ClientThrottle(API)])``."""

    def __init__(self, limit: RateLimit) -> None:
        self.rate_limit = limit
        self._local = threading.local()  # ninja asks wait() right after allow_request()

    def allow_request(self, request: HttpRequest) -> bool:
        decision = rate_limit_request(request, self.rate_limit)
        self._local.wait = decision.retry_after
        return decision.allowed

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None) or None


def rate_limit_purge() -> int:
    """Delete expired buckets (a periodic task of the worker)."""
    from carestory.accounts.models import RateLimitBucket

    deleted, _ignored = RateLimitBucket.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
