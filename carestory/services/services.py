"""Writes to the service tree."""

from __future__ import annotations

from django.db import transaction

from carestory.lib.search_text import compact_postcode, fold
from carestory.services.models import Service


def search_text_for(service: Service) -> str:
    """What search matches: name, code, address and postcode (with and without its space)."""
    parts = [service.name, service.code, service.address, service.postcode]
    return " ".join([fold(" ".join(parts)), compact_postcode(service.postcode).lower()]).strip()


def _compute_path(service: Service) -> None:
    parent_path = service.parent.path if service.parent else "/"
    service.path = f"{parent_path}{service.pk}/"
    service.depth = service.path.count("/") - 2


@transaction.atomic
def service_create(
    *,
    code: str,
    name: str,
    kind: str,
    parent: Service | None = None,
    address: str = "",
    postcode: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    is_open: bool = True,
) -> Service:
    service = Service.objects.create(
        code=code.strip().upper(),
        name=name.strip(),
        kind=kind,
        parent=parent,
        address=address,
        postcode=postcode.strip().upper(),
        latitude=latitude,
        longitude=longitude,
        is_open=is_open,
    )
    _compute_path(service)
    service.search_text = search_text_for(service)
    service.save(update_fields=["path", "depth", "search_text"])
    return service
