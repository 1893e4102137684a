"""Absolute links for emails and the API, built from SITE_URL (never the request's Host)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse


def absolute_url(
    name: str, *args: str | int, query: Mapping[str, str] | None = None, fragment: str = ""
) -> str:
    """``SITE_URL`` + the named URL, then ``?query`` and ``#fragment`` when given."""
    url = settings.SITE_URL + reverse(name, args=args)
    if query:
        url = f"{url}?{urlencode(query)}"
    return f"{url}#{fragment}" if fragment else url
