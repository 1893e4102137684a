"""A synthetic national dataset over the real service tree, for measuring the site.

``synthetic_generate(stories=N, seed=S)`` adds N published stories and, in proportion, the
rest of a living site: stories waiting in moderation (0.2% of N: 2,000 at a million), with the
author, with the provider, held, unconfirmed, rejected (5%) and withdrawn; the authors' User
rows; a submitted revision for every story and a moderator's edit for some; staff responses to
about 75% of published stories (1 to 3 each, some "change planned/made"), author replies;
subscriptions over most organisations with their staff; moderators.

Shape (what "realistic" means here):

* ten years of submissions ending at ``anchor`` (a fixed date, so the same seed makes the same
  data on any day), growing 2.5 times over the decade, with a winter peak, fewer at weekends
  and few at night;
* a skewed spread: organisations (trusts, health boards, independent providers) ranked in a
  seeded order with Zipf weights (exponent 0.7; South Tees, RTR, first when it exists), so a
  few have tens of thousands of stories at a million; inside an organisation the organisation
  itself or one of its sites; GP practices and care homes 8% of stories, a handful each;
* 15% of stories about two or three services; ~70% entirely positive, 18% mixed, 12% negative,
  with criticality and tags (aspects with the question's polarity, feelings with their own)
  that follow the tone.

Same seed and same service tree give the same content: every choice comes from one seeded
``random.Random`` walked in a fixed order (services by code), and no clock is read. Row ids
depend on what the tables already hold; ``public_id`` and ``idempotency_key`` do not.

Rows are written with COPY on PostgreSQL (psycopg 3) and ``executemany`` elsewhere, in one
transaction: an interrupted run leaves nothing. Every row respects the models' constraints
(published stories have ``published_at``; unique public ids, idempotency keys, emails,
story/service and story/tag/polarity pairs; polarity in -1..1). One audit event,
``synthetic.generate``, records each run with its parameters and counts (and
``synthetic.clear`` each removal); the generated moderation history is data, not actions, and
is not in the audit log.

Everything generated hangs off users whose address ends in ``@synthetic.carestory.invalid``
and subscriptions whose code starts ``SYN-``: ``synthetic_clear()`` removes exactly that.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent
from carestory.audit.services import audit_record
from carestory.lib.postcodes import Kind, uk_postcode
from carestory.moderation.models import (
    AuthorQuestion,
    ModeratorNote,
    ProviderReview,
    RejectionReason,
)
from carestory.responses.models import AuthorReply, ModerationStatus, Response
from carestory.services.models import Postcode, Service
from carestory.stories.models import (
    AgeGroup,
    AuthorRole,
    Story,
    StoryFindings,
    StoryRevision,
    StoryService,
    StoryTag,
    Tag,
)
from carestory.subscriptions.models import Membership, Subscription
from carestory.synthetic import text

ANCHOR = datetime(2026, 12, 1, tzinfo=UTC)
"""The end of the synthetic decade: the newest story is a little before it."""
YEARS = 10
DOMAIN = "synthetic.carestory.invalid"
SUBSCRIPTION_PREFIX = "SYN-"
GENERATOR_VERSION = 1
"""Bumped when the same seed would make different data (the bench then regenerates)."""
CHUNK = 10_000

_PUBLIC_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_PUBLIC_ID_SPACE = len(_PUBLIC_ID_ALPHABET) ** 10
_PUBLIC_ID_STEP = 498_767_312_359  # not a multiple of 31: i -> i*STEP+offset is one-to-one

# Story states beyond the N published ones, as a share of N (with a floor so that a small
# dataset still has one of each).
EXTRA_STATES: dict[str, tuple[float, int, float | None]] = {
    # status: (share of N, at least, submitted within this many days of the anchor or None)
    Story.Status.IN_MODERATION: (0.002, 5, 7.0),
    Story.Status.AWAITING_AUTHOR: (0.0001, 1, 14.0),
    Story.Status.PROVIDER_REVIEW: (0.0002, 1, 3.0),
    Story.Status.HELD: (0.00005, 1, 14.0),
    Story.Status.REJECTED: (0.05, 2, None),
    Story.Status.WITHDRAWN: (0.005, 1, None),
}
UNCONFIRMED_RECENT = (0.001, 2, 2.0)  # awaiting verification, the last two days
UNCONFIRMED_OLD = (0.002, 1, None)  # never confirmed, over the decade

TONES = ("positive", "mixed", "negative")
TONE_WEIGHTS = (0.70, 0.18, 0.12)
CRITICALITY_BY_TONE: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "positive": ((0, 1), (0.85, 0.15)),
    "mixed": ((1, 2, 3), (0.35, 0.45, 0.20)),
    "negative": ((2, 3, 4, 5), (0.30, 0.40, 0.25, 0.05)),
}
ROLES = (
    (AuthorRole.PATIENT, 0.55),
    (AuthorRole.RELATIVE, 0.15),
    (AuthorRole.PARENT, 0.10),
    (AuthorRole.CARER, 0.08),
    (AuthorRole.FRIEND, 0.03),
    (AuthorRole.STAFF_ON_BEHALF, 0.02),
    (AuthorRole.OTHER, 0.07),
)
REJECTION_WEIGHTS = (
    (RejectionReason.NOT_CARE_EXPERIENCE, 0.25),
    (RejectionReason.TOO_OLD, 0.15),
    (RejectionReason.DUPLICATE, 0.20),
    (RejectionReason.COMMERCIAL, 0.10),
    (RejectionReason.OFFENSIVE, 0.08),
    (RejectionReason.LEGAL_RISK, 0.07),
    (RejectionReason.STAFF_ABOUT_COLLEAGUES, 0.05),
    (RejectionReason.AUTHOR_REQUEST, 0.10),
)
WEEKDAY_WEIGHTS = (1.15, 1.10, 1.05, 1.0, 0.95, 0.70, 0.75)  # Monday first
HOUR_WEIGHTS = (
    0.15, 0.1, 0.08, 0.06, 0.06, 0.1, 0.3, 0.6, 0.9, 1.1, 1.2, 1.2,
    1.15, 1.1, 1.05, 1.0, 0.95, 0.9, 0.95, 1.1, 1.2, 1.0, 0.6, 0.3,
)  # fmt: skip
SMALL_TARGET_SHARE = 0.08  # GP practices and care homes
ANSWER_RATE = 0.92  # of published stories whose service an organisation subscribes to


class SyntheticError(Exception):
    """The database cannot take a synthetic dataset as it is (the message says why)."""


@dataclass
class Summary:
    stories: int = 0
    published: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    authors: int = 0
    staff: int = 0
    subscriptions: int = 0
    story_services: int = 0
    story_tags: int = 0
    revisions: int = 0
    responses: int = 0
    published_responses: int = 0
    replies: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "seconds"} | {
            "seconds": round(self.seconds, 1)
        }


# --- The service tree ----------------------------------------------------------------------


@dataclass
class _Org:
    code: str
    pk: int
    targets: list[int]
    cum: list[float]


@dataclass
class _Tree:
    orgs: list[_Org]
    org_cum: list[float]
    small: list[int]
    small_cum: list[float]
    paths: dict[int, list[int]]  # service id -> ancestor ids, root first, itself last
    region_of_small: dict[int, int]


_GROUPING_KINDS = {Service.Kind.REGION}
_SMALL_KINDS = {Service.Kind.GP_PRACTICE, Service.Kind.CARE_HOME}


def _cum(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _draw(rng: random.Random, cum: list[float]) -> int:
    return bisect.bisect_right(cum, rng.random() * cum[-1])


def _load_tree(rng: random.Random) -> _Tree:
    rows = list(
        Service.objects.filter(is_open=True)
        .order_by("code")
        .values_list("pk", "code", "kind", "path", "depth")
    )
    paths = {pk: [int(p) for p in path.strip("/").split("/") if p] for pk, _, _, path, _ in rows}
    roots = [r for r in rows if r[4] == 0 and r[2] not in _GROUPING_KINDS | _SMALL_KINDS]
    below: dict[int, list[tuple[int, str]]] = {r[0]: [] for r in roots}
    small: list[int] = []
    region_of_small: dict[int, int] = {}
    for pk, _code, kind, _path, depth in rows:
        if kind in _SMALL_KINDS:
            small.append(pk)
            region_of_small[pk] = paths[pk][0]
        elif depth > 0 and kind not in _GROUPING_KINDS and paths[pk][0] in below:
            below[paths[pk][0]].append((pk, kind))
    if not roots and not small:
        raise SyntheticError(
            "The database has no open services. Import the national tree first: "
            "`manage.py import_ods ../shared/data` (or `manage.py seed_demo` for a demo slice)."
        )
    rng.shuffle(roots)
    roots.sort(key=lambda r: r[1] != "RTR")  # South Tees first: the big trust of the bench
    orgs = []
    for pk, code, _kind, _path, _depth in roots:
        children = below[pk]
        if children:
            weights = [rng.lognormvariate(0.0, 1.0) for _ in children]
            scale = 0.7 / sum(weights)
            targets = [pk] + [c[0] for c in children]
            cum = _cum([0.3] + [w * scale for w in weights])
        else:
            targets, cum = [pk], [1.0]
        orgs.append(_Org(code=code, pk=pk, targets=targets, cum=cum))
    kinds = {r[0]: r[2] for r in roots}
    org_weights = [
        (0.2 if kinds[o.pk] == Service.Kind.PROVIDER else 1.0) / (rank + 1) ** 0.7
        for rank, o in enumerate(orgs)
    ]
    small_cum = _cum(rng.lognormvariate(0.0, 0.8) for _ in small)
    return _Tree(
        orgs=orgs,
        org_cum=_cum(org_weights),
        small=small,
        small_cum=small_cum,
        paths=paths,
        region_of_small=region_of_small,
    )


# --- Writing rows --------------------------------------------------------------------------


class _Writer:
    """Rows for a few models, written in batches: COPY on PostgreSQL, executemany elsewhere.

    A row is a tuple in the order of ``fields`` (attnames). Values are Python values (aware
    datetimes, UUIDs, lists for JSON); each backend adapts them.
    """

    def __init__(self) -> None:
        self.specs: dict[type[models.Model], tuple[str, ...]] = {}
        self.rows: dict[type[models.Model], list[tuple[Any, ...]]] = {}
        self.counts: dict[type[models.Model], int] = {}
        self.postgres = connection.vendor == "postgresql"

    def model(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.specs[model] = tuple(fields)
        self.rows[model] = []
        self.counts[model] = 0

    def add(self, model: type[models.Model], row: tuple[Any, ...]) -> None:
        self.rows[model].append(row)

    def flush(self) -> None:
        for model, rows in self.rows.items():
            if rows:
                self._write(model, rows)
                self.counts[model] += len(rows)
                rows.clear()

    def _write(self, model: type[models.Model], rows: list[tuple[Any, ...]]) -> None:
        meta = model._meta
        fields: list[Any] = [meta.get_field(name) for name in self.specs[model]]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        table = connection.ops.quote_name(meta.db_table)
        if self.postgres:
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        if json_at:
                            values = list(row)
                            for i in json_at:
                                values[i] = json.dumps(values[i])
                            copy.write_row(values)
                        else:
                            copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        sql = _sql("INSERT INTO {t} ({c}) VALUES ({p})", t=table, c=columns, p=placeholders)
        prepared = [
            [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)


def _next_ids(model_list: Sequence[type[models.Model]]) -> dict[type[models.Model], int]:
    """The first free id of each table (after locking the tables against other writers)."""
    out = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in model_list)
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
        for model in model_list:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            out[model] = int(cursor.fetchone()[0]) + 1
    return out


def _reset_sequences(model_list: Sequence[type[models.Model]]) -> None:
    """PostgreSQL: move each id sequence past the ids written explicitly."""
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest id written
    with connection.cursor() as cursor:
        for model in model_list:
            cursor.execute(
                _sql(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "COALESCE((SELECT MAX(id) FROM {t}), 1))",
                    t=_table(model),
                ),
                [model._meta.db_table],
            )


def _skip_row_checks(model_list: Sequence[type[models.Model]]) -> bool:
    """PostgreSQL, as a superuser, and no triggers of our own on these tables: skip the
    per-row foreign key triggers for this transaction (``session_replication_role = replica``,
    as pg_restore --disable-triggers does) and check every foreign key once, set-wise, at the
    end (``_check_foreign_keys``). Django's deferred checks would otherwise queue one trigger
    event per reference (ten million at a million stories) and run them all at COMMIT.

    Returns True if the checks are skipped (the caller must then call _check_foreign_keys)."""
    if connection.vendor != "postgresql":
        return False
    tables = [m._meta.db_table for m in model_list]
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal "
            "AND tgrelid IN (SELECT oid FROM pg_class WHERE relname = ANY(%s))",
            [tables],
        )
        if cursor.fetchone()[0]:
            return False  # a trigger of ours would be skipped too
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def _check_foreign_keys(model_list: Sequence[type[models.Model]]) -> None:
    """Every foreign key of these tables points at a row: one anti-join per key."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
        for model in model_list:
            for f in model._meta.concrete_fields:
                if not f.is_relation or f.related_model is None:
                    continue
                target = f.related_model._meta  # type: ignore[union-attr]
                child, column = q(model._meta.db_table), q(f.column)
                parent = q(target.db_table)
                parent_column = q(f.target_field.column)  # type: ignore[attr-defined]
                cursor.execute(
                    f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT "  # noqa: S608
                    f"EXISTS (SELECT 1 FROM {parent} p WHERE p.{parent_column} = c.{column})"
                )
                orphans = cursor.fetchone()[0]
                if orphans:
                    raise SyntheticError(
                        f"{orphans} rows of {model._meta.db_table}.{f.column} point nowhere"
                    )


# --- The generator -------------------------------------------------------------------------


def _public_id(n: int) -> str:
    chars = []
    for _ in range(10):
        n, r = divmod(n, 31)
        chars.append(_PUBLIC_ID_ALPHABET[r])
    return "".join(chars)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class _Clock:
    """Seeded times: days weighted by growth, season and weekday; hours by time of day."""

    def __init__(self, anchor: datetime) -> None:
        self.end = anchor.timestamp()
        first_day = (anchor - timedelta(days=round(365.25 * YEARS))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self.start = first_day.timestamp()
        days = int((self.end - self.start) // 86400)
        weights = []
        for d in range(days):
            day = first_day + timedelta(days=d)
            growth = 1.0 + 1.5 * d / days
            season = 1.0 + 0.15 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
            weights.append(growth * season * WEEKDAY_WEIGHTS[day.weekday()])
        self.day_cum = _cum(weights)
        self.hour_cum = _cum(HOUR_WEIGHTS)

    def any_time(self, rng: random.Random, before: float) -> float:
        """A time in the decade, earlier than ``before`` (seconds since the epoch)."""
        while True:
            day = _draw(rng, self.day_cum)
            hour = _draw(rng, self.hour_cum)
            ts = self.start + day * 86400 + hour * 3600 + rng.random() * 3600
            if ts < before:
                return ts

    def recent(self, rng: random.Random, within_days: float) -> float:
        """A time in the last ``within_days`` days, more of them recent."""
        ago = min(rng.expovariate(3.0 / within_days), within_days) * 86400
        return self.end - max(ago, 60.0)


@dataclass
class _Staff:
    moderators: list[int]
    senior: list[int]
    by_subscription: list[list[tuple[int, str, str]]]  # (user id, name, job) who can respond
    subscription_ids: list[int]
    covering: dict[int, int]  # subscribed service id -> subscription index


_USER_FIELDS = (
    "id",
    "password",
    "last_login",
    "is_superuser",
    "email",
    "full_name",
    "job_title",
    "is_active",
    "is_staff",
    "is_moderator",
    "is_senior_moderator",
    "email_verified_at",
    "date_joined",
)
_STORY_FIELDS = (
    "id",
    "public_id",
    "status",
    "author_id",
    "screen_name",
    "author_role",
    "age_group",
    "postcode",
    "original_title",
    "original_body",
    "title",
    "body",
    "criticality",
    "consent_given_at",
    "consent_version",
    "idempotency_key",
    "submitted_at",
    "verified_at",
    "published_at",
    "rejected_at",
    "rejection_reason",
    "withdrawn_at",
    "moderated_by_id",
    "version",
    "updated_at",
    "claimed_by_id",
    "claimed_until",
    "urgent",
    "safeguarding_level",
    "automod_flags",
    "suggested_criticality",
    "checked_at",
    "approved_at",
    "provider_review_due_at",
)
_RESPONSE_FIELDS = (
    "id",
    "story_id",
    "responder_id",
    "subscription_id",
    "responder_name",
    "responder_job_title",
    "original_body",
    "body",
    "change",
    "change_description",
    "status",
    "idempotency_key",
    "created_at",
    "editable_until",
    "fast_tracked",
    "edited_by_moderator",
    "published_at",
    "rejection_reason",
    "version",
)
_REPLY_FIELDS = (
    "response_id",
    "author_id",
    "original_body",
    "body",
    "status",
    "idempotency_key",
    "created_at",
    "published_at",
    "rejection_reason",
    "version",
)


def _user_row(
    rng: random.Random,
    pk: int,
    email: str,
    joined: float,
    verified: float | None,
    *,
    name: str = "",
    job: str = "",
    staff: bool = False,
    moderator: bool = False,
    senior: bool = False,
) -> tuple[Any, ...]:
    unusable = "!" + "".join(rng.choices(_PUBLIC_ID_ALPHABET, k=40))
    return (
        pk,
        unusable,
        None,
        False,
        email,
        name,
        job,
        True,
        staff,
        moderator,
        senior,
        _dt(verified) if verified is not None else None,
        _dt(joined),
    )


def _make_staff(
    rng: random.Random, tree: _Tree, writer: _Writer, ids: dict[type[models.Model], int]
) -> _Staff:
    decade_start = ANCHOR.timestamp() - 365.25 * YEARS * 86400
    next_user = ids[User]
    moderators, senior = [], []
    for k in range(12):
        pk = next_user
        next_user += 1
        is_senior = k < 3
        writer.add(
            User,
            _user_row(
                rng,
                pk,
                f"moderator{k + 1}@{DOMAIN}",
                decade_start,
                decade_start,
                name=text.person_name(rng),
                moderator=True,
                senior=is_senior,
            ),
        )
        moderators.append(pk)
        if is_senior:
            senior.append(pk)

    # Subscriptions: most organisations, and the commissioners of many GP practices.
    subscribed: list[tuple[int, str, str]] = []  # (service id, code, name)
    names = dict(Service.objects.values_list("pk", "name"))
    codes = dict(Service.objects.values_list("pk", "code"))
    for org in sorted(tree.orgs, key=lambda o: o.code):
        if org.code == "RTR" or rng.random() < 0.85:
            subscribed.append((org.pk, org.code, names[org.pk]))
    for region in sorted(set(tree.region_of_small.values()), key=lambda pk: codes[pk]):
        already = {s[0] for s in subscribed}
        if region in tree.paths and region not in already and rng.random() < 0.6:
            subscribed.append((region, codes[region], names[region]))
    subscription_ids: list[int] = []
    by_subscription: list[list[tuple[int, str, str]]] = []
    covering: dict[int, int] = {}
    scope_model = Subscription.scope.through
    next_sub = ids[Subscription]
    for index, (service_pk, code, name) in enumerate(subscribed):
        sub_pk = next_sub
        next_sub += 1
        sub_code = f"{SUBSCRIPTION_PREFIX}{code}"[:20]
        writer.add(Subscription, (sub_pk, sub_code, name, True, "", "full", _dt(decade_start)))
        writer.add(scope_model, (sub_pk, service_pk))
        subscription_ids.append(sub_pk)
        covering[service_pk] = index
        roles = ["administrator"] + ["responder"] * (
            1 + (rng.random() < 0.5) + (rng.random() < 0.2)
        )
        roles += ["member"] * int(rng.random() * 3)
        can_respond = []
        counter: dict[str, int] = {}
        for role in roles:
            counter[role] = counter.get(role, 0) + 1
            pk = next_user
            next_user += 1
            person, job = text.person_name(rng), text.pick(rng, text.JOB_TITLES)
            email = f"{role}{counter[role]}.{sub_code.lower()}@{DOMAIN}"
            writer.add(
                User,
                _user_row(rng, pk, email, decade_start, decade_start, name=person, job=job),
            )
            writer.add(Membership, (pk, sub_pk, role, True, _dt(decade_start)))
            if role != "member":
                can_respond.append((pk, person, job))
        by_subscription.append(can_respond)
    ids[User] = next_user
    ids[Subscription] = next_sub
    return _Staff(
        moderators=moderators,
        senior=senior,
        by_subscription=by_subscription,
        subscription_ids=subscription_ids,
        covering=covering,
    )


def _plan(rng: random.Random, clock: _Clock, stories: int) -> list[tuple[float, str]]:
    """(submitted at, status) of every story, oldest first."""
    published_before = clock.end - 2 * 3600
    plans = [(clock.any_time(rng, published_before), "published") for _ in range(stories)]
    extras = [(str(status), *spec) for status, spec in EXTRA_STATES.items()]
    extras.append((Story.Status.AWAITING_VERIFICATION.value, *UNCONFIRMED_RECENT))
    extras.append((Story.Status.AWAITING_VERIFICATION.value, *UNCONFIRMED_OLD))
    for status, share, least, within in extras:
        for _ in range(max(least, round(stories * share))):
            if within is None:
                ts = clock.any_time(rng, clock.end - 2 * 86400)
            else:
                ts = clock.recent(rng, within)
            plans.append((ts, status))
    plans.sort()
    return plans


def _covering(tree: _Tree, staff: _Staff, service: int) -> int | None:
    """The subscription that answers for this service: the nearest subscribed ancestor."""
    for pk in reversed(tree.paths.get(service, [service])):
        index = staff.covering.get(pk)
        if index is not None:
            return index
    return None


def synthetic_exists() -> bool:
    return User.objects.filter(email__endswith=f"@{DOMAIN}").exists()


def synthetic_generate(
    *,
    stories: int,
    seed: int,
    anchor: datetime = ANCHOR,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> Summary:
    """Add the dataset in one transaction (see the module docstring). Refuses if a synthetic
    dataset is already there: ``synthetic_clear()`` first."""
    if stories < 1:
        raise SyntheticError("--stories must be at least 1")
    if synthetic_exists():
        raise SyntheticError(
            "The database already holds synthetic data: run with --clear to replace it."
        )
    if not Tag.objects.exists():
        raise SyntheticError("The database has no tags: run `manage.py migrate` first.")
    started = time.monotonic()
    with transaction.atomic():
        summary = _generate(
            stories=stories, seed=seed, anchor=anchor, progress=progress, chunk=chunk
        )
        summary.seconds = time.monotonic() - started
        audit_record(
            actor=None,
            action="synthetic.generate",
            obj=SimpleNamespace(pk=f"seed-{seed}"),
            object_type="dataset",
            changes={
                "stories": stories,
                "seed": seed,
                "anchor": anchor.date().isoformat(),
                "version": GENERATOR_VERSION,
                "counts": summary.as_dict(),
            },
        )
    return summary


def _generate(
    *,
    stories: int,
    seed: int,
    anchor: datetime,
    progress: Callable[[int, int], None] | None,
    chunk: int,
) -> Summary:
    # A seeded generator is the point here: synthetic data, not secrets.
    rng = random.Random(seed)  # noqa: S311
    tree = _load_tree(rng)
    tags = list(Tag.objects.order_by("slug").values_list("pk", "group", "polarity"))
    aspects = [pk for pk, group, _ in tags if group == Tag.Group.ASPECT]
    good_feelings = [pk for pk, group, pol in tags if group == Tag.Group.FEELING and pol > 0]
    bad_feelings = [pk for pk, group, pol in tags if group == Tag.Group.FEELING and pol < 0]
    # Authors' postcodes as the story form keeps them ("TS18 1HU"), not as the table stores them.
    postcodes = [
        parsed.display
        for code in Postcode.objects.filter(kind=Postcode.Kind.FULL)
        .order_by("code")[:20000]
        .values_list("code", flat=True)
        if (parsed := uk_postcode(code, kinds=(Kind.FULL,))) is not None
    ]
    id_models: list[type[models.Model]] = [User, Subscription, Story, Response]
    ids = _next_ids(id_models)
    writer = _Writer()
    writer.model(User, _USER_FIELDS)
    writer.model(
        Subscription,
        ("id", "code", "name", "is_active", "safeguarding_email", "level", "created_at"),
    )
    writer.model(Subscription.scope.through, ("subscription_id", "service_id"))
    writer.model(Membership, ("user_id", "subscription_id", "role", "is_active", "created_at"))
    writer.model(Story, _STORY_FIELDS)
    writer.model(StoryService, ("story_id", "service_id"))
    writer.model(StoryTag, ("story_id", "tag_id", "polarity"))
    writer.model(StoryRevision, ("story_id", "kind", "editor_id", "title", "body", "created_at"))
    writer.model(ModeratorNote, ("story_id", "moderator_id", "text", "created_at"))
    writer.model(
        AuthorQuestion,
        ("story_id", "moderator_id", "question", "asked_at", "answer", "answered_at"),
    )
    writer.model(ProviderReview, ("story_id", "due_at", "outcome", "reason", "created_at"))
    writer.model(Response, _RESPONSE_FIELDS)
    writer.model(AuthorReply, _REPLY_FIELDS)
    deferred_checks = _skip_row_checks(list(writer.specs))

    first_user = ids[User]
    staff = _make_staff(rng, tree, writer, ids)
    summary = Summary(staff=ids[User] - first_user, subscriptions=len(staff.subscription_ids))
    writer.flush()

    clock = _Clock(anchor)
    plans = _plan(rng, clock, stories)
    offset = rng.randrange(_PUBLIC_ID_SPACE)
    end = clock.end
    consent_version = settings.CONSENT_VERSION
    role_values = [r.value for r, _ in ROLES]
    role_cum = _cum(w for _, w in ROLES)
    reason_values = [r.value for r, _ in REJECTION_WEIGHTS]
    reason_cum = _cum(w for _, w in REJECTION_WEIGHTS)
    age_groups = list(AgeGroup.values)
    tone_cum = _cum(TONE_WEIGHTS)
    authors: list[int] = []
    next_story, next_user, next_response = ids[Story], ids[User], ids[Response]
    user_seq = 0
    total = len(plans)
    by_status: dict[str, int] = {}
    published_responses = 0

    for index, (ts, status) in enumerate(plans):
        story_pk = next_story
        next_story += 1
        by_status[status] = by_status.get(status, 0) + 1
        tone = TONES[_draw(rng, tone_cum)]
        # Who: most authors tell one story; some come back.
        verified: float | None = None
        if status != "awaiting_verification":
            verified = min(ts + 60 * rng.lognormvariate(2.1, 1.0), ts + 2 * 86400, end - 60)
        if authors and rng.random() < 0.12:
            author = authors[int(rng.random() * len(authors))]
        else:
            author = next_user
            next_user += 1
            user_seq += 1
            authors.append(author)
            writer.add(User, _user_row(rng, author, f"author{user_seq}@{DOMAIN}", ts, verified))
        # What about: one service, sometimes two or three.
        n_services = 1 if rng.random() < 0.85 else (2 if rng.random() < 0.8 else 3)
        small = status == "provider_review" or (tree.small and rng.random() < SMALL_TARGET_SHARE)
        if small and tree.small:
            first = tree.small[_draw(rng, tree.small_cum)]
            services = [first]
            for _ in range(n_services - 1):
                org = tree.orgs[_draw(rng, tree.org_cum)]
                services.append(org.targets[_draw(rng, org.cum)])
        else:
            org = tree.orgs[_draw(rng, tree.org_cum)]
            services = [org.targets[_draw(rng, org.cum)]]
            for _ in range(n_services - 1):
                services.append(org.targets[_draw(rng, org.cum)])
        services = list(dict.fromkeys(services))
        for service in services:
            writer.add(StoryService, (story_pk, service))
        # What they said.
        original_title, original_body = text.story_text(rng, tone)
        title, body = original_title, original_body
        moderated = status in ("published", "withdrawn", "rejected", "provider_review", "held")
        edited = moderated and rng.random() < 0.15
        if edited:
            body = text.moderated_body(rng, original_body)
        values, weights = CRITICALITY_BY_TONE[tone]
        criticality_value = rng.choices(values, weights)[0]
        criticality = criticality_value if moderated else None
        suggested = criticality_value if status != "awaiting_verification" else None
        role = role_values[_draw(rng, role_cum)]
        age_group = age_groups[int(rng.random() * len(age_groups))] if rng.random() < 0.6 else ""
        postcode = (
            postcodes[int(rng.random() * len(postcodes))]
            if postcodes and rng.random() < 0.35
            else ""
        )
        screen_name = text.pick(rng, text.SCREEN_NAMES)
        # Tags, with the polarity of the question they answer.
        shuffled = rng.sample(aspects, k=min(len(aspects), 5))
        if tone == "positive":
            pairs = [(t, 1) for t in shuffled[: 1 + int(rng.random() * 3)]]
            pairs += [(t, 1) for t in rng.sample(good_feelings, k=int(rng.random() * 3))]
        elif tone == "mixed":
            pairs = [(t, 1) for t in shuffled[: 1 + int(rng.random() * 2)]]
            pairs += [(t, -1) for t in shuffled[3 : 4 + int(rng.random() * 2)]]
            pairs += [(t, -1) for t in rng.sample(bad_feelings, k=int(rng.random() * 2))]
        else:
            pairs = [(t, -1) for t in shuffled[: 1 + int(rng.random() * 3)]]
            pairs += [(t, -1) for t in rng.sample(bad_feelings, k=1 + int(rng.random() * 2))]
        for tag, polarity in pairs:
            writer.add(StoryTag, (story_pk, tag, polarity))
        # The story's life.
        moderator = staff.moderators[int(rng.random() * len(staff.moderators))]
        published = rejected = withdrawn = approved = due = claimed_until = None
        claimed_by = None
        rejection_reason = ""
        urgent, safeguarding, flags = False, 0, []
        checked = verified + 45 if verified is not None else None
        version = 2 if verified is not None else 1
        if status in ("published", "withdrawn", "provider_review"):
            assert verified is not None
            delay = 3600 * rng.lognormvariate(2.9, 0.8)  # median about 18 hours
            if verified + delay > end - 60:
                delay = (end - 60 - verified) * rng.random()
            approved = verified + delay
            if status == "provider_review":
                due = approved + 72 * 3600
                writer.add(
                    ProviderReview,
                    (story_pk, _dt(due), ProviderReview.Outcome.PENDING, "", _dt(approved)),
                )
                version = 3
            elif status == "published" or rng.random() < 0.6:
                published = approved
                version = 4 if edited else 3
            if status == "withdrawn":
                after = published if published is not None else verified
                withdrawn = after + (end - after) * rng.random() * 0.2
                version += 1
        elif status == "rejected":
            assert verified is not None
            rejected = min(verified + 3600 * rng.lognormvariate(2.9, 0.8), end - 60)
            rejection_reason = reason_values[_draw(rng, reason_cum)]
            version = 3
            if rng.random() < 0.1:
                writer.add(
                    ModeratorNote,
                    (story_pk, moderator, text.pick(rng, text.MODERATOR_NOTES), _dt(rejected)),
                )
        elif status == "in_moderation":
            if rng.random() < 0.03:
                urgent, safeguarding, flags = True, 0, ["SAFEGUARDING"]
            elif rng.random() < 0.15:
                flags = [text.pick(rng, ["COMPLAINT", "DUPLICATE_RISK", "ALL_CAPS"])]
            if rng.random() < 0.1:
                checked = None  # the automated checks have not run yet
            if rng.random() < 0.05:
                claimed_by = moderator
                claimed_until = end + 600
        elif status == "awaiting_author":
            assert verified is not None
            writer.add(
                AuthorQuestion,
                (
                    story_pk,
                    moderator,
                    text.pick(rng, text.AUTHOR_QUESTIONS),
                    _dt(verified + 3600),
                    "",
                    None,
                ),
            )
            version = 3
        elif status == "held":
            assert verified is not None
            urgent, safeguarding, flags = True, 2, ["SAFEGUARDING"]
            writer.add(
                ModeratorNote,
                (story_pk, staff.senior[0], text.MODERATOR_NOTES[1], _dt(verified + 600)),
            )
            version = 3
        if status in ("published", "rejected", "provider_review", "held") or (
            status == "withdrawn" and published is not None
        ):
            moderated_by: int | None = moderator
        else:
            moderated_by = None
        last = max(t for t in (ts, verified, published, rejected, withdrawn, approved) if t)
        writer.add(
            Story,
            (
                story_pk,
                _public_id((index * _PUBLIC_ID_STEP + offset) % _PUBLIC_ID_SPACE),
                status,
                author,
                screen_name,
                role,
                age_group,
                postcode,
                original_title,
                original_body,
                title,
                body,
                criticality,
                _dt(ts),
                consent_version,
                _uuid(rng),
                _dt(ts),
                _dt(verified) if verified is not None else None,
                _dt(published) if published is not None else None,
                _dt(rejected) if rejected is not None else None,
                rejection_reason,
                _dt(withdrawn) if withdrawn is not None else None,
                moderated_by,
                version,
                _dt(last),
                claimed_by,
                _dt(claimed_until) if claimed_until is not None else None,
                urgent,
                safeguarding,
                flags,
                suggested,
                _dt(checked) if checked is not None else None,
                _dt(approved) if approved is not None else None,
                _dt(due) if due is not None else None,
            ),
        )
        writer.add(
            StoryRevision,
            (
                story_pk,
                StoryRevision.Kind.SUBMITTED,
                author,
                original_title,
                original_body,
                _dt(ts),
            ),
        )
        if edited and approved is not None:
            writer.add(
                StoryRevision,
                (
                    story_pk,
                    StoryRevision.Kind.MODERATOR_EDIT,
                    moderator,
                    title,
                    body,
                    _dt(approved),
                ),
            )
        # Responses: organisations answer most stories about the services they subscribe for.
        if status == "published" and published is not None:
            sub_index = _covering(tree, staff, services[0])
            if sub_index is not None and rng.random() < ANSWER_RATE:
                n = 1 if rng.random() < 0.82 else (2 if rng.random() < 0.78 else 3)
                after = published
                for _ in range(n):
                    created = after + 3600 * rng.lognormvariate(3.7, 1.2)  # median ~40 hours
                    if created > end:
                        break
                    members = staff.by_subscription[sub_index]
                    responder, name, job = members[int(rng.random() * len(members))]
                    editable_until = created + 1800
                    fast = rng.random() < 0.65
                    released = editable_until + (0 if fast else 3600 * rng.lognormvariate(1.8, 1.0))
                    if released <= end:
                        r_status, r_published = ModerationStatus.PUBLISHED, released
                    elif editable_until <= end:
                        r_status, r_published = ModerationStatus.IN_MODERATION, None
                    else:
                        r_status, r_published = ModerationStatus.EDITABLE, None
                    change_roll = rng.random()
                    change = (
                        Response.Change.NONE
                        if change_roll < 0.84
                        else (
                            Response.Change.PLANNED if change_roll < 0.93 else Response.Change.MADE
                        )
                    )
                    description = (
                        text.pick(rng, text.CHANGE_DESCRIPTIONS)
                        if change != Response.Change.NONE
                        else ""
                    )
                    original = text.response_text(rng, tone, screen_name)
                    moderator_edit = r_published is not None and not fast and rng.random() < 0.1
                    public = (
                        original.replace("\n\n", " [name removed]\n\n", 1)
                        if moderator_edit
                        else original
                    )
                    response_pk = next_response
                    next_response += 1
                    writer.add(
                        Response,
                        (
                            response_pk,
                            story_pk,
                            responder,
                            staff.subscription_ids[sub_index],
                            name,
                            job,
                            original,
                            public,
                            change,
                            description,
                            r_status,
                            _uuid(rng),
                            _dt(created),
                            _dt(editable_until),
                            fast and r_published is not None,
                            moderator_edit,
                            _dt(r_published) if r_published is not None else None,
                            "",
                            2 if r_published is not None else 1,
                        ),
                    )
                    if r_published is None:
                        break
                    published_responses += 1
                    if rng.random() < 0.12:
                        r_created = r_published + 86400 * rng.lognormvariate(0.7, 1.0)
                        r_done = r_created + 86400 * rng.random()
                        if r_created <= end:
                            done = r_done <= end
                            reply = text.pick(rng, text.REPLIES)
                            writer.add(
                                AuthorReply,
                                (
                                    response_pk,
                                    author,
                                    reply,
                                    reply,
                                    ModerationStatus.PUBLISHED
                                    if done
                                    else ModerationStatus.IN_MODERATION,
                                    _uuid(rng),
                                    _dt(r_created),
                                    _dt(r_done) if done else None,
                                    "",
                                    2 if done else 1,
                                ),
                            )
                    after = r_published
        if (index + 1) % chunk == 0:
            writer.flush()
            if progress is not None:
                progress(index + 1, total)
    writer.flush()
    if progress is not None:
        progress(total, total)
    _reset_sequences(id_models)
    if deferred_checks:
        _check_foreign_keys(list(writer.specs))

    summary.stories = total
    summary.published = by_status.get("published", 0)
    summary.by_status = dict(sorted(by_status.items()))
    summary.authors = len(authors)
    summary.story_services = writer.counts[StoryService]
    summary.story_tags = writer.counts[StoryTag]
    summary.revisions = writer.counts[StoryRevision]
    summary.responses = writer.counts[Response]
    summary.published_responses = published_responses
    summary.replies = writer.counts[AuthorReply]
    return summary


def synthetic_analyze() -> None:
    """Refresh the planner's statistics (and, on PostgreSQL, the visibility map) after a load:
    a production database that autovacuum has seen looks like this."""
    if connection.in_atomic_block:
        return  # VACUUM cannot run inside a transaction (tests)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _sql(template: str, **parts: str) -> str:
    """SQL from a template and table names or subqueries made here (never from input)."""
    return template.format(**parts)


def synthetic_clear() -> dict[str, int]:
    """Remove every row the generator made (and any story, response or reply since written
    by its users); leaves the service tree and everything else. Returns counts removed.

    Users that the audit log names as an actor stay (the log is append-only)."""
    from carestory.accounts.models import SignInToken

    users = _sql("SELECT id FROM {t} WHERE email LIKE '%@{domain}'", t=_table(User), domain=DOMAIN)
    stories = _sql("SELECT id FROM {t} WHERE author_id IN ({users})", t=_table(Story), users=users)
    responses = _sql(
        "SELECT id FROM {t} WHERE story_id IN ({stories}) OR responder_id IN ({users})",
        t=_table(Response),
        stories=stories,
        users=users,
    )
    subs = _sql(
        "SELECT id FROM {t} WHERE code LIKE '{prefix}%'",
        t=_table(Subscription),
        prefix=SUBSCRIPTION_PREFIX,
    )
    actors = _sql("SELECT actor_id FROM {t} WHERE actor_id IS NOT NULL", t=_table(AuditEvent))
    scope: type[models.Model] = Subscription.scope.through
    delete: list[tuple[str, type[models.Model], str]] = [
        ("replies", AuthorReply, f"response_id IN ({responses}) OR author_id IN ({users})"),
        ("responses", Response, f"id IN ({responses}) OR subscription_id IN ({subs})"),
    ]
    for model in (
        StoryRevision, StoryTag, StoryService, ModeratorNote, AuthorQuestion, ProviderReview,
        SignInToken, StoryFindings,
    ):  # fmt: skip
        delete.append((model.__name__, model, f"story_id IN ({stories})"))
    delete += [
        ("stories", Story, f"id IN ({stories})"),
        ("revision_editors", StoryRevision, f"editor_id IN ({users})"),
        ("notes", ModeratorNote, f"moderator_id IN ({users})"),
        ("questions", AuthorQuestion, f"moderator_id IN ({users})"),
        ("tokens", SignInToken, f"user_id IN ({users})"),
        ("memberships", Membership, f"user_id IN ({users}) OR subscription_id IN ({subs})"),
        ("scopes", scope, f"subscription_id IN ({subs})"),
        ("subscriptions", Subscription, f"id IN ({subs})"),
    ]
    statements = [
        (name, _sql("DELETE FROM {t} WHERE {where}", t=_table(model), where=where))
        for name, model, where in delete
    ]
    # Real stories a synthetic moderator touched keep their text, without the link.
    for column in ("moderated_by_id", "claimed_by_id"):
        statements.append(
            (
                column,
                _sql(
                    "UPDATE {t} SET {c} = NULL WHERE {c} IN ({users})",
                    t=_table(Story),
                    c=column,
                    users=users,
                ),
            )
        )
    statements.append(
        (
            "users",
            _sql(
                "DELETE FROM {t} WHERE id IN ({users}) AND id NOT IN ({actors})",
                t=_table(User),
                users=users,
                actors=actors,
            ),
        )
    )
    removed: dict[str, int] = {}
    cleared: list[type[models.Model]] = [
        AuthorReply, Response, StoryRevision, StoryTag, StoryService, ModeratorNote,
        AuthorQuestion, ProviderReview, SignInToken, StoryFindings, Story, Membership, scope,
        Subscription, User,
    ]  # fmt: skip
    with transaction.atomic():
        skipped = _skip_row_checks(cleared)
        with connection.cursor() as cursor:
            for name, sql in statements:
                cursor.execute(sql)
                removed[name] = cursor.rowcount
        if skipped:
            # Everything that can point at a row that went, checked once.
            tables = {m._meta.db_table for m in cleared}
            _check_foreign_keys(
                [
                    m
                    for m in apps.get_models(include_auto_created=True)
                    if m._meta.db_table in tables
                    or any(
                        f.is_relation
                        and f.related_model is not None
                        and f.related_model._meta.db_table in tables  # type: ignore[union-attr]
                        for f in m._meta.concrete_fields
                    )
                ]
            )
        audit_record(
            actor=None,
            action="synthetic.clear",
            obj=SimpleNamespace(pk="synthetic"),
            object_type="dataset",
            changes={"stories": removed["stories"], "users": removed["users"]},
        )
    return removed


def synthetic_marker() -> dict[str, Any] | None:
    """The parameters of the dataset in the database (the last generate, unless cleared
    since), or None."""
    event = (
        AuditEvent.objects.filter(action__in=["synthetic.generate", "synthetic.clear"])
        .order_by("-at", "-id")
        .first()
    )
    if event is None or event.action != "synthetic.generate" or not synthetic_exists():
        return None
    return dict(event.changes)


def dataset_digest() -> str:
    """A SHA-256 of the synthetic content, independent of row ids: for "same seed, same data"."""
    h = hashlib.sha256()
    stories = (
        Story.objects.filter(author__email__endswith=f"@{DOMAIN}")
        .order_by("public_id")
        .prefetch_related("services", "story_tags__tag", "responses__replies", "revisions")
        .select_related("author", "moderated_by")
    )
    for story in stories:
        parts: list[Any] = [
            story.public_id,
            story.status,
            story.author.email,
            story.screen_name,
            story.author_role,
            story.age_group,
            story.postcode,
            story.original_title,
            story.original_body,
            story.title,
            story.body,
            story.criticality,
            story.idempotency_key,
            story.submitted_at,
            story.verified_at,
            story.published_at,
            story.rejected_at,
            story.rejection_reason,
            story.withdrawn_at,
            story.moderated_by.email if story.moderated_by else None,
            story.urgent,
            story.automod_flags,
            sorted(s.code for s in story.services.all()),
            sorted((t.tag.slug, t.polarity) for t in story.story_tags.all()),
            sorted((r.kind, r.title, r.body, r.created_at) for r in story.revisions.all()),
        ]
        for response in sorted(story.responses.all(), key=lambda r: r.created_at):
            parts += [
                response.responder_name,
                response.body,
                response.status,
                response.change,
                response.published_at,
                response.idempotency_key,
                sorted((r.body, r.status, r.created_at) for r in response.replies.all()),
            ]
        h.update(repr(parts).encode())
    return h.hexdigest()
