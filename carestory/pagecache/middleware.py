"""A cache of public pages for visitors who are not signed in.

Most requests to a national site are anonymous reads of a few pages (home, story lists, a
story, a service); rendering them costs more than everything else in the request. This
middleware keeps each such page, rendered once, in this process's memory and answers the
next anonymous request for it from there, while nothing has been written since
(``invalidation.py``). A hit costs one query (the generation).

A page is stored only when all of these hold, so nothing personal can be kept or shared:

- the view declared itself public (``@public_page`` or ``mark_public_page(request)``).
  Searches do not: a hit (or its speed) would tell a visitor that someone else searched for
  that postcode in the last minute;
- the request was a GET with no session cookie, no messages cookie, no Authorization header,
  so the visitor was anonymous and had no flash message waiting;
- the answer is a 200, not streamed, sets no cookie (so no CSRF token was used), is not
  marked private or no-store, and compresses to at most ``STORED_MAX_BYTES``.

The key holds the generation, the language, the scheme, the host and the full path with its
query. The view's rate limits (``lib/ratelimit``) are kept with the page and counted on each
hit, so the API's and the suggestions' limits still apply.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.core.exceptions import DisallowedHost, MiddlewareNotUsed
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from carestory.lib.ratelimit import RateLimit, rate_limit_request
from carestory.pagecache.invalidation import current_generation

CACHE_ALIAS = "pages"
# Entries are kept compressed (zlib, fastest level: ~1 ms for 100 KB of HTML or JSON, a fifth
# to a third of the size); one over STORED_MAX_BYTES compressed is not kept. So a process
# holds at most PAGE_CACHE_ENTRIES x STORED_MAX_BYTES (400 x 64 KB = 25 MB) of pages, however
# many junk query strings a visitor invents.
STORED_MAX_BYTES = 64 * 1024
HEADER = "X-Page-Cache"
_SKIP_HEADERS = frozenset({"set-cookie", HEADER.lower()})

View = TypeVar("View", bound=Callable[..., HttpResponse])


def mark_public_page(request: HttpRequest) -> None:
    """Declare that this request's answer is the same for every anonymous visitor."""
    request.public_page = True  # type: ignore[attr-defined]


def public_page(view: View) -> View:
    """A view whose answer to anonymous visitors may be cached (see the module's rules)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        mark_public_page(request)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class Entry:
    status: int
    headers: tuple[tuple[str, str], ...]
    compressed: bytes
    rate_limits: tuple[RateLimit, ...]

    def response(self) -> HttpResponse:
        response = HttpResponse(zlib.decompress(self.compressed), status=self.status)
        for name, value in self.headers:
            response[name] = value
        if settings.PAGE_CACHE_HEADER:
            response[HEADER] = "hit"
        return response


def anonymous_get(request: HttpRequest) -> bool:
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
        and "authorization" not in request.headers
    )


def cache_key(request: HttpRequest, generation: int) -> str:
    language = translation.get_language_from_request(request)
    raw = "\n".join(
        [
            str(generation),
            language,
            request.scheme or "",
            request.get_host(),
            request.get_full_path(),
        ]
    )
    return "page:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def storable(request: HttpRequest, response: HttpResponse) -> bool:
    user = getattr(request, "user", None)
    cache_control = response.get("Cache-Control", "")
    return (
        getattr(request, "public_page", False)
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (user is not None and user.is_authenticated)
        and "no-store" not in cache_control
        and "private" not in cache_control
    )


class PublicPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if settings.PAGE_CACHE_SECONDS <= 0:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.cache = caches[CACHE_ALIAS]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not anonymous_get(request):
            return self.get_response(request)
        try:
            key = cache_key(request, current_generation())
        except (DatabaseError, DisallowedHost):
            return self.get_response(request)  # the ordinary path answers (503, 400)
        entry: Entry | None = self.cache.get(key)
        if entry is not None and all(
            rate_limit_request(request, limit).allowed for limit in entry.rate_limits
        ):
            return entry.response()
        response = self.get_response(request)
        if entry is None and storable(request, response):
            headers = tuple(
                (name, value)
                for name, value in response.items()
                if name.lower() not in _SKIP_HEADERS
            )
            limits = tuple(getattr(request, "rate_limits_applied", ()))
            compressed = zlib.compress(response.content, 1)
            if len(compressed) <= STORED_MAX_BYTES:
                entry = Entry(response.status_code, headers, compressed, limits)
                self.cache.set(key, entry, settings.PAGE_CACHE_SECONDS)
                if settings.PAGE_CACHE_HEADER:
                    response[HEADER] = "miss"
        return response
