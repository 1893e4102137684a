"""Writes to the service tree.

Creating services (the importer and the demo loader), and the tree operations that staff use
to keep it right: add a department, rename, move, close, merge and describe. Each operation
checks permission (``NotAllowed``: views answer 404), validates its input
(``ValidationError`` keyed by form field name; nothing is changed), records an audit event
and runs in one transaction.

Who may change a service:

- site staff (superusers, and moderators who are also senior moderators): any service;
- administrators of an active subscription whose scope covers the service. They may add
  departments under, and describe, any service in their scope; they may rename, move, close
  and merge away only services strictly inside it (not a root of their scope, which is the
  organisation itself), and only to places inside the same subscription's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.audit.services import audit_record
from carestory.lib.errors import NotAllowed, Problems
from carestory.lib.postcodes import compact, uk_tidy
from carestory.lib.search_text import fold
from carestory.lib.text import clean_text, normalise_text
from carestory.services.codes import CODE_MAX, code_well_formed
from carestory.services.models import Service, ServiceRedirect
from carestory.stories.models import StoryService
from carestory.subscriptions.selectors import admin_scope_links, is_covered

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NAME_MAX = 200
DESCRIPTION_MAX = 5_000
WEBSITE_MAX = 200


# request.user, as views have it.
AnyUser = AbstractBaseUser | AnonymousUser


def search_text_for(service: Service) -> str:
    """What search matches: name, code, address and postcode (with and without its space)."""
    parts = [service.name, service.code, service.address, service.postcode]
    return " ".join([fold(" ".join(parts)), compact(service.postcode).lower()]).strip()


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
    source: str = "",
    region: str = "uk",
) -> Service:
    service = Service.objects.create(
        code=code.strip().upper(),
        name=name.strip(),
        kind=kind,
        parent=parent,
        address=address,
        # A UK postcode as lib/postcodes stores it; another country's as typed, in capitals.
        postcode=uk_tidy(postcode) if region == "uk" else postcode.strip().upper(),
        latitude=latitude,
        longitude=longitude,
        is_open=is_open,
        source=source,
        region=region,
    )
    _compute_path(service)
    service.search_text = search_text_for(service)
    service.save(update_fields=["path", "depth", "search_text"])
    return service


# --- Subtree paths -------------------------------------------------------------------------


def _rewrite_prefix(*, old_prefix: str, new_prefix: str, exclude_pk: int | None = None) -> int:
    """Rewrite the path (and depth) of every service whose path starts with ``old_prefix``.

    One UPDATE for the whole subtree, whatever its size or depth. Returns the rows changed.
    """
    delta = new_prefix.count("/") - old_prefix.count("/")
    rows = Service.objects.filter(path__startswith=old_prefix)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    return rows.update(
        path=Concat(
            Value(new_prefix), Substr("path", len(old_prefix) + 1), output_field=CharField()
        ),
        depth=F("depth") + delta,
        updated_at=timezone.now(),
    )


def service_subtree_repath(*, service: Service, parent: Service | None) -> int:
    """Put ``service`` under ``parent`` and recompute path/depth of its whole subtree.

    The building block of ``service_move`` and ``service_merge``, for reuse by the importer:
    it checks no permission and records no audit event (its callers do), but it refuses a
    cycle. Two UPDATEs in all. Call it inside a transaction. Returns the subtree's size.
    """
    if parent is not None and parent.path.startswith(service.path):
        raise ValueError(f"{parent.code} is {service.code} or below it: that would be a cycle")
    old_prefix = service.path
    new_prefix = f"{parent.path if parent is not None else '/'}{service.pk}/"
    Service.objects.filter(pk=service.pk).update(parent=parent)
    count = _rewrite_prefix(old_prefix=old_prefix, new_prefix=new_prefix)
    service.parent = parent
    service.path = new_prefix
    service.depth = new_prefix.count("/") - 2
    return count


# --- Who may change what -------------------------------------------------------------------


def _is_site_staff(user: AnyUser) -> bool:
    if not (isinstance(user, User) and user.is_active):
        return False
    return bool(user.is_superuser or (user.moderates and user.is_senior_moderator))


def _admin_scope_links(*, user: AnyUser, service: Service) -> list[tuple[int, int]]:
    """subscriptions/selectors.admin_scope_links, for a user who may be anonymous."""
    if not isinstance(user, User):
        return []
    return admin_scope_links(user=user, service=service)


def _admin_subscriptions(*, user: AnyUser, service: Service, strictly_inside: bool) -> set[int]:
    return {
        sub
        for sub, root in _admin_scope_links(user=user, service=service)
        if not strictly_inside or root != service.pk
    }


@dataclass(frozen=True)
class ServicePermissions:
    manage: bool = False  # see the manage page; add departments; describe
    restructure: bool = False  # rename, move, close, merge away


def service_permissions(*, user: AnyUser, service: Service) -> ServicePermissions:
    """What the user may do to this service. One query for staff, none for anonymous."""
    if not isinstance(user, User):
        return ServicePermissions()
    if _is_site_staff(user):
        return ServicePermissions(manage=True, restructure=True)
    links = _admin_scope_links(user=user, service=service)
    return ServicePermissions(
        manage=bool(links), restructure=any(root != service.pk for _sub, root in links)
    )


def _require(*, actor: User, service: Service, restructure: bool) -> set[int] | None:
    """The administrator subscriptions that allow this, or None for site staff."""
    if _is_site_staff(actor):
        return None
    subs = _admin_subscriptions(user=actor, service=service, strictly_inside=restructure)
    if not subs:
        raise NotAllowed()
    return subs


def _locked(service: Service) -> Service:
    """A fresh copy of the row, locked on PostgreSQL, so the path we rewrite is current."""
    return (
        Service.objects.select_for_update(of=("self",)).select_related("parent").get(pk=service.pk)
    )


# --- Input checks --------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    return clean_text(
        " ".join(normalise_text(name).split()),
        field="name",
        limit=NAME_MAX,
        too_long=_("The name must be %(limit)s characters or fewer"),
        missing=_("Enter a name for the service"),
    )


def _code_taken(code: str) -> bool:
    return (
        Service.objects.filter(code=code).exists()
        or ServiceRedirect.objects.filter(old_code=code).exists()
    )


def service_code_too_long(code: str) -> str:
    """The message when a service code (a new one, or one typed to find a service) is longer
    than any code may be, or ""."""
    if len(code) > CODE_MAX:
        return _("The code must be %(max)s characters or fewer") % {"max": CODE_MAX}
    return ""


def _clean_code(code: str) -> str:
    code = code.strip().upper()
    if too_long := service_code_too_long(code):
        raise ValidationError({"code": too_long})
    if not code_well_formed(code):
        raise ValidationError(
            {
                "code": _(
                    "A code can only use letters, numbers, dots, hyphens and underscores, "
                    "and must be %(max)s characters or fewer"
                )
                % {"max": CODE_MAX}
            }
        )
    if _code_taken(code):
        raise ValidationError(
            {"code": _("The code %(code)s is already used by another service") % {"code": code}}
        )
    return code


def department_code_for(*, parent: Service, name: str) -> str:
    """An unused code like "<PARENTCODE>-<SLUG>", cut to fit, with -2, -3... if taken."""
    slug = slugify(name).upper() or "DEPT"
    base = f"{parent.code}-{slug}"[:CODE_MAX].rstrip("-")
    if not _code_taken(base):
        return base
    for n in range(2, 1000):
        suffix = f"-{n}"
        candidate = base[: CODE_MAX - len(suffix)].rstrip("-") + suffix
        if not _code_taken(candidate):
            return candidate
    raise ValidationError({"code": _("Type a code for the new department")})


# --- Tree operations -----------------------------------------------------------------------


@transaction.atomic
def service_add_department(*, actor: User, parent: Service, name: str, code: str = "") -> Service:
    """A new department under ``parent``; its code is typed or made from the parent's."""
    _require(actor=actor, service=parent, restructure=False)
    parent = _locked(parent)
    if not parent.is_open:
        raise ValidationError({"name": _("You cannot add a department to a closed service")})
    problems = Problems()
    name = problems.check(lambda: _clean_name(name), default="")
    typed = code.strip()
    code = problems.check(lambda: _clean_code(typed), default="") if typed else ""
    problems.raise_any()
    code = code or department_code_for(parent=parent, name=name)
    try:
        with transaction.atomic():
            department = service_create(
                code=code,
                name=name,
                kind=Service.Kind.DEPARTMENT,
                parent=parent,
                source="staff",
                region=parent.region,
            )
    except IntegrityError:
        # Someone took the code between our check and the insert.
        raise ValidationError(
            {"code": _("The code %(code)s is already used by another service") % {"code": code}}
        ) from None
    audit_record(
        actor=actor,
        action="service.add_department",
        obj=department,
        changes={"parent": parent.code, "code": code, "name": name},
    )
    audit_record(
        actor=actor,
        action="service.department_added",
        obj=parent,
        changes={"department": code, "name": name},
    )
    return department


@transaction.atomic
def service_rename(*, actor: User, service: Service, name: str) -> Service:
    _require(actor=actor, service=service, restructure=True)
    service = _locked(service)
    name = _clean_name(name)
    if name == service.name:
        raise ValidationError({"name": _("The new name is the same as the current name")})
    old = service.name
    service.name = name
    service.search_text = search_text_for(service)
    service.save(update_fields=["name", "search_text", "updated_at"])
    audit_record(actor=actor, action="service.rename", obj=service, changes={"name": [old, name]})
    return service


class _TargetWords(NamedTuple):
    """What a move or a merge says when its target (new parent, survivor) will not do."""

    itself: StrOrPromise
    below: StrOrPromise
    closed: StrOrPromise
    not_ours: StrOrPromise


_MOVE_TARGET = _TargetWords(
    gettext_lazy("A service cannot be moved under itself"),
    gettext_lazy("A service cannot be moved under one of the services below it"),
    gettext_lazy("You cannot move a service under a closed service"),
    gettext_lazy("You can only move it under a service that your organisation manages"),
)
_MERGE_TARGET = _TargetWords(
    gettext_lazy("A service cannot be merged into itself"),
    gettext_lazy("A service cannot be merged into one of the services below it"),
    gettext_lazy("You cannot merge into a closed service"),
    gettext_lazy("You can only merge it into a service that your organisation manages"),
)


def _require_good_target(
    *,
    actor: User,
    subs: set[int] | None,
    service: Service,
    target: Service,
    field: str,
    words: _TargetWords,
) -> None:
    """A move's new parent or a merge's survivor lies outside ``service``'s own subtree, is
    open, and is in the scope of a subscription the actor administers (``subs``; None: site
    staff, anywhere)."""
    if target.pk == service.pk:
        raise ValidationError({field: words.itself})
    if target.path.startswith(service.path):
        raise ValidationError({field: words.below})
    if not target.is_open:
        raise ValidationError({field: words.closed})
    if subs is not None and not subs & _admin_subscriptions(
        user=actor, service=target, strictly_inside=False
    ):
        raise ValidationError({field: words.not_ours})


@transaction.atomic
def service_move(*, actor: User, service: Service, new_parent: Service) -> Service:
    """Move a service (and everything below it) under another parent in the same scope."""
    subs = _require(actor=actor, service=service, restructure=True)
    service = _locked(service)
    new_parent = _locked(new_parent)
    if service.parent_id == new_parent.pk:
        raise ValidationError(
            {"parent": _("This service is already under %(name)s") % {"name": new_parent.name}}
        )
    _require_good_target(
        actor=actor,
        subs=subs,
        service=service,
        target=new_parent,
        field="parent",
        words=_MOVE_TARGET,
    )
    old_parent_code = service.parent.code if service.parent is not None else ""
    moved = service_subtree_repath(service=service, parent=new_parent)
    audit_record(
        actor=actor,
        action="service.move",
        obj=service,
        changes={"parent": [old_parent_code, new_parent.code], "services_moved": moved},
    )
    return service


@transaction.atomic
def service_close(*, actor: User, service: Service) -> Service:
    """Close a service and whatever is still open below it. Their stories stay."""
    _require(actor=actor, service=service, restructure=True)
    service = _locked(service)
    if not service.is_open:
        raise ValidationError(_("This service is already closed"))
    today = timezone.localdate()
    below = (
        Service.objects.subtree_of(service)
        .exclude(pk=service.pk)
        .filter(is_open=True)
        .update(is_open=False, closed_on=today, updated_at=timezone.now())
    )
    service.is_open = False
    service.closed_on = today
    service.save(update_fields=["is_open", "closed_on", "updated_at"])
    audit_record(
        actor=actor,
        action="service.close",
        obj=service,
        changes={"is_open": [True, False], "closed_on": today.isoformat(), "also_closed": below},
    )
    return service


def _clean_description(description: str) -> str:
    return clean_text(
        description,
        field="description",
        limit=DESCRIPTION_MAX,
        too_long=_("The description must be %(limit)s characters or fewer"),
    )


def _clean_website(website: str) -> str:
    website = clean_text(
        website,
        field="website",
        limit=WEBSITE_MAX,
        too_long=_("The website address must be %(limit)s characters or fewer"),
    )
    if not website:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(website)
    except ValidationError:
        raise ValidationError(
            {"website": _("Enter the website address in full, starting https://")}
        ) from None
    return website


@transaction.atomic
def service_describe(*, actor: User, service: Service, description: str, website: str) -> Service:
    """The organisation's own words and website. Empty means "as the service above"."""
    _require(actor=actor, service=service, restructure=False)
    service = _locked(service)
    problems = Problems()
    description = problems.check(lambda: _clean_description(description), default="")
    website = problems.check(lambda: _clean_website(website), default="")
    problems.raise_any()
    changes: dict[str, list[str]] = {}
    if description != service.description:
        changes["description"] = [service.description, description]
    if website != service.website:
        changes["website"] = [service.website, website]
    if not changes:
        return service
    service.description = description
    service.website = website
    service.save(update_fields=["description", "website", "updated_at"])
    audit_record(actor=actor, action="service.describe", obj=service, changes=dict(changes))
    return service


@dataclass(frozen=True)
class MergeResult:
    survivor: Service
    stories_moved: int
    children_moved: int
    redirects: int


@transaction.atomic
def service_merge(*, actor: User, service: Service, into: Service) -> MergeResult:
    """Merge ``service`` into ``into`` (the survivor).

    Its stories and children move to the survivor, it is closed, and its code (and any old
    codes that pointed at it) now redirect to the survivor.
    """
    subs = _require(actor=actor, service=service, restructure=True)
    old = _locked(service)
    survivor = _locked(into)
    _require_good_target(
        actor=actor, subs=subs, service=old, target=survivor, field="into", words=_MERGE_TARGET
    )
    # Stories: drop links the survivor already has, then re-point the rest (no duplicates).
    StoryService.objects.filter(
        service=old,
        story__in=StoryService.objects.filter(service=survivor).values("story"),
    ).delete()
    stories_moved = StoryService.objects.filter(service=old).update(service=survivor)
    # Children (and everything below them) move under the survivor.
    children_moved = Service.objects.filter(parent=old).update(parent=survivor)
    _rewrite_prefix(old_prefix=old.path, new_prefix=survivor.path, exclude_pk=old.pk)
    # Old codes that meant the merged service now mean the survivor; so does its own code.
    redirects = ServiceRedirect.objects.filter(service=old).update(service=survivor)
    ServiceRedirect.objects.update_or_create(old_code=old.code, defaults={"service": survivor})
    was_open = old.is_open
    old.is_open = False
    old.closed_on = old.closed_on or timezone.localdate()
    old.save(update_fields=["is_open", "closed_on", "updated_at"])
    summary: dict[str, object] = {
        "stories_moved": stories_moved,
        "children_moved": children_moved,
        "redirects_moved": redirects,
    }
    audit_record(
        actor=actor,
        action="service.merge",
        obj=old,
        changes={"into": survivor.code, "is_open": [was_open, False], **summary},
    )
    audit_record(
        actor=actor,
        action="service.merge_in",
        obj=survivor,
        changes={"merged": old.code, **summary},
    )
    return MergeResult(
        survivor=survivor,
        stories_moved=stories_moved,
        children_moved=children_moved,
        redirects=redirects + 1,
    )


def service_history(*, service: Service, limit: int = 50) -> list[AuditEvent]:
    """The audit events about this service, newest first (for the manage page)."""
    return list(
        AuditEvent.objects.filter(object_type="service", object_id=str(service.pk)).order_by(
            "-at", "-id"
        )[:limit]
    )


# --- Reads for the service pages -----------------------------------------------------------
# Kept beside the rules they share; they can move to selectors.py with no change to callers'
# keyword arguments.


def service_redirect_target(*, code: str) -> Service | None:
    """The survivor an old (merged) code now means, if any."""
    redirect = (
        ServiceRedirect.objects.filter(old_code=code.strip().upper())
        .select_related("service")
        .first()
    )
    return redirect.service if redirect is not None else None


@dataclass(frozen=True)
class ServiceProfile:
    """The organisation's own words, shown only while a subscription covers the service."""

    description: str
    website: str


def service_profile(*, service: Service, ancestors: list[Service]) -> ServiceProfile | None:
    """Description and website, each from the nearest of the service and its ancestors that
    sets one. ``ancestors`` from the root down, as ``Service.ancestors()`` gives (the page
    already has them for its breadcrumbs). One query."""
    if not is_covered(services=[service]):
        return None
    chain = [service, *reversed(ancestors)]
    description = next((s.description for s in chain if s.description), "")
    # Only web links: an address set some other way (the admin site, an import) that is not
    # http(s) is never rendered as a link.
    website = next(
        (s.website for s in chain if s.website.lower().startswith(("https://", "http://"))), ""
    )
    if not (description or website):
        return None
    return ServiceProfile(description=description, website=website)
