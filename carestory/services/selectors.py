"""Reads of the service tree."""

from __future__ import annotations

import re

from django.db.models import Q

from carestory.services.models import Service, ServiceQuerySet

_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}$")


def service_get(*, code: str) -> Service | None:
    return Service.objects.filter(code=code.strip().upper()).select_related("parent").first()


def service_search(*, query: str, open_only: bool = False, limit: int = 20) -> list[Service]:
    """Find services by code, name words (any order) or postcode.

    A first version: the service-directory work replaces it with full-text and distance search
    behind the same function.
    """
    text = " ".join(query.split())
    if not text:
        return []
    qs: ServiceQuerySet = Service.objects.select_related("parent")
    if open_only:
        qs = qs.open()
    upper = text.upper()
    results: list[Service] = []
    exact = qs.filter(code=upper).first()
    if exact:
        results.append(exact)
    if _POSTCODE.match(upper):
        compact = upper.replace(" ", "")
        spaced = compact[:-3] + " " + compact[-3:]
        results += list(qs.filter(postcode=spaced).exclude(pk__in=[r.pk for r in results])[:limit])
    words = [w for w in re.split(r"[\s,]+", text) if w]
    condition = Q()
    for word in words:
        condition &= Q(name__icontains=word) | Q(address__icontains=word)
    results += list(
        qs.filter(condition)
        .exclude(pk__in=[r.pk for r in results])
        .order_by("depth", "name")[: max(0, limit - len(results))]
    )
    return results[:limit]


def service_breadcrumbs(service: Service) -> list[Service]:
    return service.ancestors()
