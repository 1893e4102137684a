"""One number that changes whenever anything a public page may show has changed."""

from __future__ import annotations

from django.db import models


class PageGeneration(models.Model):
    """A single row. Cached public pages are keyed by ``value``; a committed write to any
    table a public page reads adds one to it (``carestory.pagecache.invalidation``), so every
    cached page is from then on a miss."""

    value = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"page generation {self.value}"
