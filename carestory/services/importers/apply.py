"""Comparing the placed rows with the database, then writing the differences in bulk.

Planning changes only in-memory copies; ``write_*`` does the writing and must run inside the
caller's transaction. Nothing is ever deleted: services missing from the files stay as they
are, closed ones keep their children and their stories (stories link to the service row, which
is updated in place).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone

from carestory.audit.services import audit_record
from carestory.services.importers.common import Mode, PostcodeRow, ServiceRow
from carestory.services.importers.progress import Progress
from carestory.services.importers.summary import PostcodeCounts, ServiceCounts
from carestory.services.importers.tree import paths_compute
from carestory.services.models import Postcode, Service
from carestory.services.services import search_text_for

# What a file's own row decides about an existing service.
FULL_FIELDS = (
    "name",
    "kind",
    "address",
    "postcode",
    "latitude",
    "longitude",
    "is_open",
    "closed_on",
    "region",
    "source",
)
WRITE_FIELDS = [
    *FULL_FIELDS,
    "provider_review",
    "parent",
    "path",
    "depth",
    "search_text",
    "updated_at",
]
BATCH = 500

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


M = TypeVar("M", bound=models.Model)


def _update_rows(model: type[M], objs: Sequence[M], fields: Sequence[str]) -> None:
    """UPDATE each row's ``fields`` by primary key, with one prepared statement run for all
    rows (executemany). Django's bulk_update builds a CASE expression per row and field in
    Python, which takes tens of seconds for the ten thousand rows of a first import; this is
    linear and cheap on both SQLite and PostgreSQL. Values go through each field's own
    get_db_prep_save, as they would in save()."""
    if not objs:
        return
    meta = model._meta
    concrete: list[models.Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, models.Field), name
        concrete.append(field)
    assert meta.pk is not None
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in concrete)
    table, key = quote(meta.db_table), quote(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608 - model names only
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in concrete] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        for batch in _chunks(rows, 2000):
            cursor.executemany(sql, batch)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


@dataclass
class Event:
    service: Service
    action: str
    changes: dict[str, Any]
    reason: str


@dataclass
class ServicePlan:
    new: list[Service] = field(default_factory=list)
    changed: list[Service] = field(default_factory=list)
    # code -> parent code, for every new service and every existing one that moves.
    parent_codes: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    counts: ServiceCounts = field(default_factory=ServiceCounts)


def plan_services(
    rows: Sequence[ServiceRow],
    existing: dict[str, Service],
    *,
    sources: set[str],
) -> ServicePlan:
    """Decide what each row adds or changes. Existing instances are changed in memory only."""
    plan = ServicePlan()
    counts = plan.counts
    code_of = {s.pk: s.code for s in existing.values()}
    now = timezone.now()
    for row in rows:
        service = existing.get(row.code)
        if service is None:
            service = Service(
                code=row.code,
                name=row.name,
                kind=row.kind,
                address=row.address,
                postcode=row.postcode,
                latitude=row.latitude,
                longitude=row.longitude,
                is_open=row.is_open,
                closed_on=row.closed_on,
                provider_review=row.provider_review,
                region=row.region,
                source=row.source,
                path="",
                depth=0,
            )
            service.search_text = search_text_for(service)
            plan.new.append(service)
            plan.parent_codes[row.code] = row.parent_code
            counts.added += 1
            counts.added_by_kind[row.kind] = counts.added_by_kind.get(row.kind, 0) + 1
            continue

        changes: dict[str, tuple[Any, Any]] = {}
        was_open = service.is_open
        if row.mode is Mode.FULL:
            for name in FULL_FIELDS:
                new = getattr(row, name)
                old = getattr(service, name)
                if old != new:
                    changes[name] = (old, new)
                    setattr(service, name, new)
            if service.provider_review is None and row.provider_review is not None:
                changes["provider_review"] = (None, row.provider_review)
                service.provider_review = row.provider_review
            old_parent = code_of.get(service.parent_id, "") if service.parent_id else ""
            if old_parent != row.parent_code:
                changes["parent"] = (old_parent, row.parent_code)
                plan.parent_codes[row.code] = row.parent_code
            search_text = search_text_for(service)
            if search_text != service.search_text:
                service.search_text = search_text
                changes.setdefault("search_text", ("", ""))
        elif row.mode is Mode.REGION and service.is_open != row.is_open:
            changes["is_open"] = (service.is_open, row.is_open)
            service.is_open = row.is_open

        if not changes:
            counts.unchanged += 1
            continue
        service.updated_at = now
        plan.changed.append(service)
        reason = f"import from {row.where}"
        if was_open and not service.is_open:
            counts.closed += 1
            plan.events.append(
                Event(service, "service.close", {"closed_on": _plain(service.closed_on)}, reason)
            )
        else:
            counts.updated += 1
            if not was_open and service.is_open:
                counts.reopened += 1
                plan.events.append(Event(service, "service.reopen", {}, reason))
        if "parent" in changes:
            counts.moved += 1
            old_parent, new_parent = changes["parent"]
            plan.events.append(
                Event(service, "service.move", {"parent": [old_parent, new_parent]}, reason)
            )

    # Services below a moved one whose own rows did not change: their paths change too.
    moved_ids = {existing[c].pk for c in plan.parent_codes if c in existing}
    if moved_ids:
        in_files = {row.code for row in rows}
        for service in existing.values():
            if service.code in in_files:
                continue
            ancestors = service.ancestor_ids()[:-1]
            if moved_ids.intersection(ancestors):
                counts.repathed += 1
    # Made-up parents (stand-ins) that exist already are not rows, but the files refer to them.
    mentioned = {row.code for row in rows} | {row.parent_code for row in rows}
    counts.absent = sum(
        1 for s in existing.values() if s.source in sources and s.code not in mentioned
    )
    return plan


def write_services(plan: ServicePlan, existing: dict[str, Service], *, progress: Progress) -> None:
    """Insert, link, re-path and update. Run inside a transaction."""
    progress.start("writing", len(plan.new) * 2 + len(plan.changed))
    for batch in _chunks(plan.new, 1000):
        Service.objects.bulk_create(batch)
        progress.advance(len(batch))
    missing_pk = [s for s in plan.new if s.pk is None]
    if missing_pk:  # databases that cannot return ids from a bulk insert
        ids = dict(
            Service.objects.filter(code__in=[s.code for s in missing_pk]).values_list("code", "pk")
        )
        for service in missing_pk:
            service.pk = ids[service.code]

    by_code = dict(existing)
    by_code.update({s.code: s for s in plan.new})
    for code, parent_code in plan.parent_codes.items():
        by_code[code].parent_id = by_code[parent_code].pk if parent_code else None

    by_pk = {s.pk: s for s in by_code.values()}
    paths = paths_compute({pk: s.parent_id for pk, s in by_pk.items()})
    changed_pks = {s.pk for s in plan.changed}
    repathed: list[Service] = []
    for pk, (path, depth) in paths.items():
        service = by_pk[pk]
        if service.path != path or service.depth != depth:
            service.path, service.depth = path, depth
            if pk not in changed_pks and service.code in existing:
                repathed.append(service)

    for batch in _chunks(plan.new, 2000):
        _update_rows(Service, batch, ["parent", "path", "depth"])
        progress.advance(len(batch))
    for batch in _chunks(plan.changed, 2000):
        _update_rows(Service, batch, WRITE_FIELDS)
        progress.advance(len(batch))
    _update_rows(Service, repathed, ["path", "depth"])
    progress.finish()


def write_events(plan: ServicePlan) -> None:
    for event in plan.events:
        audit_record(
            actor=None,
            action=event.action,
            obj=event.service,
            changes=event.changes,
            reason=event.reason,
        )


@dataclass
class PostcodePlan:
    new: list[Postcode] = field(default_factory=list)
    changed: list[Postcode] = field(default_factory=list)
    counts: PostcodeCounts = field(default_factory=PostcodeCounts)


def plan_postcodes(rows: Sequence[PostcodeRow], existing: dict[str, Postcode]) -> PostcodePlan:
    plan = PostcodePlan()
    for row in rows:
        current = existing.get(row.code)
        if current is None:
            plan.new.append(
                Postcode(
                    code=row.code, kind=row.kind, latitude=row.latitude, longitude=row.longitude
                )
            )
            plan.counts.added += 1
        elif (current.kind, current.latitude, current.longitude) != (
            row.kind,
            row.latitude,
            row.longitude,
        ):
            current.kind, current.latitude, current.longitude = (
                row.kind,
                row.latitude,
                row.longitude,
            )
            plan.changed.append(current)
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1
    return plan


def write_postcodes(plan: PostcodePlan, *, progress: Progress) -> None:
    progress.start("postcodes", len(plan.new) + len(plan.changed))
    for batch in _chunks(plan.new, 2000):
        Postcode.objects.bulk_create(batch)
        progress.advance(len(batch))
    for batch in _chunks(plan.changed, 2000):
        _update_rows(Postcode, batch, ["kind", "latitude", "longitude"])
        progress.advance(len(batch))
    progress.finish()
