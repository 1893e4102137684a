"""Writes of the staff workspace (reading a story, answering it, staff tags, saved searches)
and the one check of its filters. Each says no with ``lib/errors``: NotAllowed (404) or
ValidationError keyed by the form's field names (400)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from carestory.accounts.models import User
from carestory.audit.services import audit_record
from carestory.lib.errors import NotAllowed, Problems, ValidationError
from carestory.lib.text import clean_text
from carestory.services.models import Service
from carestory.stories.models import Criticality, Story
from carestory.subscriptions.models import Membership
from carestory.workspace.models import (
    AnsweringMarker,
    Progress,
    SavedSearch,
    StaffTag,
    StoryHeard,
    StoryRead,
)
from carestory.workspace.selectors import Filters, Scope, Sort, story_for_staff

TAG_NAME_MAX = 60
SEARCH_NAME_MAX = 80
SEARCH_QUERY_MAX = 1000
SAVED_SEARCHES_MAX = 100


# --- Filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterInput:
    """What the filter form parsed (types only): the service is a code."""

    service: str = ""
    published_from: date | None = None
    published_to: date | None = None
    min_criticality: int | None = None
    tags: tuple[str, ...] = ()
    staff_tags: tuple[str, ...] = ()
    answered: bool | None = None
    read: bool | None = None
    progress: int | None = None
    sort: str = Sort.NEWEST


def _clean_service(code: str, scope: Scope) -> Service | None:
    if not code:
        return None
    service = Service.objects.filter(code=code.strip().upper()).first()
    if service is None or not scope.covers(service):
        raise ValidationError(
            {"service": _("Choose a service inside your organisation's services")}
        )
    return service


def _clean_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise ValidationError({"published_to": _("The end date must be on or after the start")})


def _clean_choice(value: int | None, choices: type[Criticality | Progress], name: str) -> None:
    if value is not None and value not in choices.values:
        raise ValidationError({name: _("Choose one of the options")})


def workspace_filters_clean(*, scope: Scope, given: FilterInput) -> Filters:
    """The workspace's filters checked against the user's scope: a service outside it, dates
    the wrong way round, a rating or progress that does not exist. Every problem at once."""
    problems = Problems()
    service = problems.check(lambda: _clean_service(given.service, scope), default=None)
    problems.check(lambda: _clean_dates(given.published_from, given.published_to), default=None)
    problems.check(
        lambda: _clean_choice(given.min_criticality, Criticality, "min_criticality"), None
    )
    problems.check(lambda: _clean_choice(given.progress, Progress, "progress"), None)
    if given.sort not in (Sort.NEWEST, Sort.CRITICAL):
        problems.check(lambda: _raise({"sort": _("Choose one of the options")}), None)
    problems.raise_any()
    return Filters(
        service=service,
        published_from=given.published_from,
        published_to=given.published_to,
        min_criticality=given.min_criticality,
        tags=list(given.tags),
        staff_tags=list(given.staff_tags),
        answered=given.answered,
        read=given.read,
        progress=given.progress,
        sort=given.sort,
    )


# --- Heard, read, answering ------------------------------------------------------------------


def story_heard_record(*, story_id: int, user_ids: Iterable[int]) -> None:
    """Story alerts were queued for these people: the story is "heard" by each subscription
    they belong to. Called by ``alerts.services.alerts_story_published`` in its transaction;
    idempotent (one row per story and subscription)."""
    subscription_ids = set(
        Membership.objects.filter(user_id__in=list(user_ids)).values_list(
            "subscription_id", flat=True
        )
    )
    now = timezone.now()
    StoryHeard.objects.bulk_create(
        [StoryHeard(story_id=story_id, subscription_id=s, heard_at=now) for s in subscription_ids],
        ignore_conflicts=True,
    )


def stories_heard_by(*, story_ids: Iterable[int], subscription_id: int) -> None:
    """A digest for a member of this subscription was queued with these stories: each is
    "heard" by it. Idempotent, one statement."""
    now = timezone.now()
    StoryHeard.objects.bulk_create(
        [StoryHeard(story_id=s, subscription_id=subscription_id, heard_at=now) for s in story_ids],
        ignore_conflicts=True,
    )


def _require_story(scope: Scope, story: Story) -> None:
    """The use cases' own check: the story is published and in scope (else NotAllowed)."""
    if story_for_staff(scope=scope, public_id=story.public_id) is None:
        raise NotAllowed


def story_read_record(*, scope: Scope, story: Story) -> StoryRead:
    """Record that the user opened the story (first and last time). Idempotent per person."""
    _require_story(scope, story)
    now = timezone.now()
    read, created = StoryRead.objects.get_or_create(
        story=story, user=scope.user, defaults={"first_read_at": now, "last_read_at": now}
    )
    if not created:
        StoryRead.objects.filter(pk=read.pk).update(last_read_at=now)
    return read


def _covering(memberships: QuerySet[Membership], scope: Scope, story: Story) -> Membership:
    """The user's first of ``memberships`` (highest role first) whose scope covers the story;
    NotAllowed if none."""
    membership = (
        memberships.filter(
            user_id=scope.user.pk,
            subscription_id__in=scope.subscription_ids,
            subscription__scope__in=_ancestors(story),
        )
        .order_by("-role", "subscription_id")
        .first()
    )
    if membership is None:
        raise NotAllowed
    return membership


def _responder_membership(scope: Scope, story: Story) -> Membership:
    return _covering(Membership.objects.in_term().can_respond(), scope, story)


def _ancestors(story: Story) -> set[int]:
    ids: set[int] = set()
    for service in story.services.all():
        ids.update(service.ancestor_ids())
    return ids


def story_answering_start(*, scope: Scope, story: Story) -> AnsweringMarker:
    """A responder opened Respond: "X is answering" for ANSWERING_FOR (or until they send)."""
    _require_story(scope, story)
    membership = _responder_membership(scope, story)
    marker, _created = AnsweringMarker.objects.update_or_create(
        story=story,
        user=scope.user,
        defaults={"subscription_id": membership.subscription_id, "started_at": timezone.now()},
    )
    return marker


# --- Staff tags ------------------------------------------------------------------------------


def _membership_covering(scope: Scope, story: Story) -> Membership:
    return _covering(Membership.objects.active(), scope, story)


def staff_tag_add(
    *, scope: Scope, story: Story, name: str, visibility: str, polarity: int
) -> StaffTag:
    """Tag a story. Private and shared tags: any member; public ones (shown on the public story
    page at once): responders and administrators only. Audited."""
    _require_story(scope, story)
    membership = _membership_covering(scope, story)
    problems = Problems()
    name = problems.check(
        lambda: clean_text(
            name,
            field="name",
            limit=TAG_NAME_MAX,
            missing=_("Enter a tag"),
            too_long=_("A tag can have at most %(limit)s characters"),
        ),
        default="",
    )
    slug = slugify(name)
    if name and not slug:
        problems.check(
            lambda: _raise({"name": _("A tag needs at least one letter or number")}), None
        )
    if visibility not in StaffTag.Visibility.values:
        problems.check(lambda: _raise({"visibility": _("Choose who can see the tag")}), None)
    elif visibility == StaffTag.Visibility.PUBLIC and membership.role == Membership.Role.MEMBER:
        problems.check(
            lambda: _raise(
                {"visibility": _("Only responders and administrators can add public tags")}
            ),
            None,
        )
    if polarity not in StaffTag.Polarity.values:
        problems.check(lambda: _raise({"polarity": _("Choose one of the options")}), None)
    problems.raise_any()
    try:
        with transaction.atomic():
            tag = StaffTag.objects.create(
                story=story,
                author=scope.user,
                subscription_id=membership.subscription_id,
                name=name,
                slug=slug,
                visibility=visibility,
                polarity=polarity,
            )
            audit_record(
                actor=scope.user,
                action="staff_tag.add",
                obj=story,
                changes={"tag": tag.pk, "slug": slug, "visibility": visibility},
            )
    except IntegrityError:
        raise ValidationError({"name": _("You have already added this tag")}) from None
    return tag


def _raise(errors: dict[str, str]) -> None:
    raise ValidationError(errors)


def staff_tag_removable(*, scope: Scope, tag: StaffTag, administers: set[int]) -> bool:
    """Whether the user may remove the tag: its author, or an administrator of its
    organisation (a shared or public one). ``administers``: ``administered_ids(scope)``."""
    if tag.author_id == scope.user.pk:
        return True
    return tag.visibility != StaffTag.Visibility.PRIVATE and tag.subscription_id in administers


def administered_ids(scope: Scope) -> set[int]:
    """The subscriptions the user actively administers."""
    return set(
        Membership.objects.active()
        .filter(user_id=scope.user.pk, role=Membership.Role.ADMINISTRATOR)
        .values_list("subscription_id", flat=True)
    )


def staff_tag_remove(*, scope: Scope, tag: StaffTag) -> None:
    """Remove a tag (``staff_tag_removable``). Audited. Anyone else: NotAllowed (404)."""
    if not staff_tag_removable(scope=scope, tag=tag, administers=administered_ids(scope)):
        raise NotAllowed
    with transaction.atomic():
        audit_record(
            actor=scope.user,
            action="staff_tag.remove",
            obj=tag.story,
            changes={"tag": tag.pk, "slug": tag.slug, "visibility": tag.visibility},
        )
        tag.delete()


# --- Saved searches --------------------------------------------------------------------------


def saved_search_create(*, user: User, name: str, query: str) -> SavedSearch:
    """Save the current filters under a name (one name once per person)."""
    problems = Problems()
    name = problems.check(
        lambda: clean_text(
            name,
            field="name",
            limit=SEARCH_NAME_MAX,
            missing=_("Enter a name for the search"),
            too_long=_("A name can have at most %(limit)s characters"),
        ),
        default="",
    )
    if len(query) > SEARCH_QUERY_MAX:
        problems.check(lambda: _raise({"name": _("This search is too long to save")}), None)
    if SavedSearch.objects.filter(user_id=user.pk).count() >= SAVED_SEARCHES_MAX:
        problems.check(
            lambda: _raise({"name": _("Delete a saved search before saving another")}), None
        )
    problems.raise_any()
    query = urlencode(parse_qsl(query))  # a query string and nothing else (it is redirected to)
    try:
        with transaction.atomic():
            search = SavedSearch.objects.create(user=user, name=name, query=query)
            audit_record(
                actor=user, action="saved_search.create", obj=search, changes={"name": name}
            )
            return search
    except IntegrityError:
        raise ValidationError({"name": _("You already have a search with this name")}) from None


@transaction.atomic
def saved_search_delete(*, user: User, search: SavedSearch) -> None:
    if search.user_id != user.pk:
        raise NotAllowed
    audit_record(
        actor=user, action="saved_search.delete", obj=search, changes={"name": search.name}
    )
    search.delete()
