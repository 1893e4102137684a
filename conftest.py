"""Shared pytest fixtures: personas, the local SMTP sink and settings for tests."""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
