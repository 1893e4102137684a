"""Reads of the service tree."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from carestory.services import search
from carestory.services.models import Service, ServiceQuerySet
from carestory.services.search import Match


def service_get(*, code: str) -> Service | None:
    return Service.objects.filter(code=code.strip().upper()).select_related("parent").first()


def services_by_codes(codes: Iterable[str]) -> tuple[list[Service], list[str]]:
    """The services the codes name (each tidied: stripped, upper case; blanks skipped), in
    the order typed and once each, and the codes that name none, as typed."""
    tidy = [c.strip().upper() for c in codes if c.strip()]
    found = {s.code: s for s in Service.objects.filter(code__in=tidy).select_related("parent")}
    missing = [c for c in tidy if c not in found]
    return [found[c] for c in dict.fromkeys(tidy) if c in found], missing


def no_service_message(missing: Sequence[str]) -> str:
    """What a form says when codes typed name no service."""
    return _("No service has the code %(codes)s") % {"codes": ", ".join(missing)}


@dataclass(frozen=True)
class ServiceHit:
    """One search result: the service, how it matched, and how far it is from the postcode
    in the query (None when the query had no postcode)."""

    service: Service
    match: Match
    distance_km: float | None = None


def service_search(
    *, query: str, kind: str | None = None, open_only: bool = False, limit: int = 20
) -> list[ServiceHit]:
    """Find services by name (partial, any order), code, town or postcode, best first.

    Ranking: the service whose code is the query; then, for a postcode ("TS18 1HU",
    "near TS18 1HU", "TS18", "surgery near TS18 1HU"), the nearest open services with their
    distance; otherwise name matches (the name beginning with the query, then whole words,
    then word prefixes, then substrings), then matches on the address or town; when nothing
    matches every word, near misses (typos; PostgreSQL only). Ties go to open services, higher
    levels of the tree and shorter names. ``kind`` keeps one Service.Kind; ``open_only``
    drops closed services (nearby results are always open). How it works:
    carestory/services/search.py and docs/search.md.
    """
    parsed = search.query_parse(query)
    if not parsed.words and not parsed.postcodes:
        return []
    limit = max(1, min(limit, 100))
    qs: ServiceQuerySet = Service.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if open_only:
        qs = qs.open()
    backend = search.backend_for(connection)

    ranked: list[tuple[int, Match, float | None]] = []
    code_pk = qs.filter(code=parsed.code).values_list("pk", flat=True).first()
    if code_pk is not None:
        ranked.append((code_pk, Match.CODE, None))

    centre = search.place_locate(parsed)
    if centre is None and parsed.postcodes:
        # Not a postcode we can place: look for it (and any other words) as text instead.
        parsed = search.query_parse(query, places=False)
    if centre is not None:
        near_qs = qs.open()
        if parsed.words:
            near_qs = backend.text_filter(near_qs, parsed.words)
        ranked += [(pk, Match.NEARBY, km) for pk, km in search.nearby(near_qs, centre, limit=limit)]
    elif parsed.words:
        candidates = search.text_candidates(qs, parsed, backend)
        ranked += [
            (pk, search.tier_match(tier), None)
            for pk, tier in search.text_ranked(candidates, parsed)
        ]
        if not candidates:  # a typo, perhaps: near misses (PostgreSQL only)
            ranked += [
                (pk, Match.SIMILAR, None) for pk in backend.similar(qs, parsed.words, limit=limit)
            ]

    chosen: dict[int, tuple[Match, float | None]] = {}
    for pk, match, km in ranked:
        if pk not in chosen:
            chosen[pk] = (match, km)
        if len(chosen) == limit:
            break
    services = Service.objects.select_related("parent").in_bulk(list(chosen))
    if centre is not None and code_pk is not None and code_pk in services:
        code_service = services[code_pk]
        if code_service.latitude is not None and code_service.longitude is not None:
            km = search.haversine_km(
                centre, search.Point(code_service.latitude, code_service.longitude)
            )
            chosen[code_pk] = (Match.CODE, km)
    return [
        ServiceHit(service=services[pk], match=match, distance_km=km)
        for pk, (match, km) in chosen.items()
        if pk in services
    ]


def service_search_services(
    *, query: str, kind: str | None = None, open_only: bool = False, limit: int = 20
) -> list[Service]:
    """The services of service_search, for callers that need no distance or match kind."""
    hits = service_search(query=query, kind=kind, open_only=open_only, limit=limit)
    return [hit.service for hit in hits]
