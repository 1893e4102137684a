"""Public statistics pages. Counts only: nothing here can identify a person or a story."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from carestory.pagecache.middleware import public_page
from carestory.reports.selectors import moderation_statistics_for_page


@public_page
@require_safe
def moderation(request: HttpRequest) -> HttpResponse:
    """The stored figures (kept by the worker), or "being prepared" before the first ones on
    a large database."""
    stats = moderation_statistics_for_page()
    reasons = (
        [
            (row.label, [w.rejected_by_reason[i].count for w in stats.windows])
            for i, row in enumerate(stats.windows[0].rejected_by_reason)
        ]
        if stats is not None and stats.windows
        else []
    )
    return render(request, "reports/moderation.html", {"stats": stats, "reasons": reasons})
