"""Absolute links for emails and the API, built from SITE_URL (never the request's Host)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def absolute_url(name: str, *args: str | int, fragment: str = "") -> str:
    url = settings.SITE_URL + reverse(name, args=args)
    return f"{url}#{fragment}" if fragment else url
