"""Writes to the service tree."""

from __future__ import annotations

from django.db import transaction

from carestory.services.models import Service


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
    service.save(update_fields=["path", "depth"])
    return service
