"""Finding a service: the search page, and suggestions as you type (the same search)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carestory.lib.ratelimit import SERVICE_SUGGESTIONS, rate_limited
from carestory.services.models import Service
from carestory.services.selectors import ServiceHit, service_search

MAX_QUERY_LENGTH = 100
PAGE_RESULTS = 20
SUGGESTIONS = 8
MIN_SUGGEST_LENGTH = 2


def _query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY_LENGTH]


def _kind(request: HttpRequest) -> str | None:
    kind = request.GET.get("type", "")
    return kind if kind in Service.Kind.values else None


@require_GET
def service_find(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    kind = _kind(request)
    results = service_search(query=query, kind=kind, limit=PAGE_RESULTS) if query else []
    return render(
        request,
        "services/find.html",
        {
            "query": query,
            "kind": kind or "",
            "kinds": Service.Kind.choices,
            "results": results,
            "by_distance": any(hit.distance_km is not None for hit in results),
        },
    )


def _suggestion(hit: ServiceHit) -> dict[str, Any]:
    service = hit.service
    return {
        "code": service.code,
        "name": service.name,
        "type": service.kind,
        "type_label": str(service.get_kind_display()),
        "parent": service.parent.name if service.parent else None,
        "url": service.get_absolute_url(),
        "is_open": service.is_open,
        "distance_km": None if hit.distance_km is None else round(hit.distance_km, 1),
    }


@rate_limited(SERVICE_SUGGESTIONS, methods=("GET",), as_json=True)
@require_GET
def service_suggest(request: HttpRequest) -> JsonResponse:
    """A few matches for the text typed so far, as JSON: the enhancement of the search forms.

    ``open=1`` offers open services only (the tell-your-story chooser); ``type`` keeps one
    type. Fewer than two characters suggest nothing.
    """
    query = _query(request)
    if len(query) < MIN_SUGGEST_LENGTH:
        hits: list[ServiceHit] = []
    else:
        hits = service_search(
            query=query,
            kind=_kind(request),
            open_only=request.GET.get("open") == "1",
            limit=SUGGESTIONS,
        )
    response = JsonResponse([_suggestion(hit) for hit in hits], safe=False)
    response["Cache-Control"] = "private, max-age=60"
    return response
