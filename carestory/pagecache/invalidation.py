"""When a cached public page stops being true.

Every database connection gets an execute wrapper (installed by ``apps.py`` when the
connection opens). It looks at the first words of each statement; an INSERT, UPDATE, DELETE
(or any other writing statement) on a table that is not in ``PRIVATE_TABLES`` schedules one
``bump()`` for when the transaction commits. ``bump()`` adds one to the generation, and cached
pages are keyed by the generation, so after the commit of anything a public page might show
(a story published, edited by a moderator, withdrawn; a response; a service renamed; the
counts) every cached page is a miss.

Why a wrapper on the connection and not signals or calls in the services: it sees every
write, including ``QuerySet.update()``, ``bulk_create``, raw SQL and writes a future feature
adds without knowing this module exists. A new table invalidates by default; only tables that
no cacheable page reads are listed as private. Writes that do not go through Django's cursor
(``COPY`` in ``generate_synthetic``) call ``bump()`` themselves.

Why after the commit and not inside the transaction: the generation is one row; updating it
inside every writing transaction would make all writers queue on that row (and could
deadlock with their other locks). After the commit it is one short autocommit UPDATE. The
order keeps pages true: a page stored under generation N+1 was rendered after N+1 was
read, so after the commit. A process killed between a commit and its bump leaves pages stale
for at most ``PAGE_CACHE_SECONDS``, the entries' lifetime.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)

# Tables no cacheable page reads: writing them leaves every cached page true.
PRIVATE_TABLES = frozenset(
    {
        "pagecache_pagegeneration",
        "django_session",
        "django_admin_log",
        "django_migrations",
        "accounts_signintoken",
        "accounts_ratelimitbucket",
        "accounts_mfadevice",  # staff MFA: no public page reads these three
        "accounts_recoverycode",
        "accounts_secondfactorattempt",
        "audit_auditevent",
        "audit_loginattempt",
        "outbox_outboxmessage",
        "moderation_moderatornote",
        "moderation_authorquestion",
        "moderation_providerreview",
        "stories_storyfindings",  # the automated checks' findings, for moderators only
        "stories_storyrevision",  # every version of a story's text, the submitted one too
        "workspace_storyread",  # the staff workspace's own records (its staff tags are public)
        "workspace_answeringmarker",
        "workspace_storyheard",
        "workspace_savedsearch",
        "alerts_alert",  # who hears about what: staff pages only
        "alerts_alert_services",
        "alerts_alert_tags",
        "subscriptions_invitation",  # an organisation's invitations and bulk uploads
        "subscriptions_memberupload",
        # Rewritten by the worker every ten minutes for each big subtree viewed, mostly with
        # the same numbers: story_counts_store() bumps itself when a number changed.
        "stories_servicestorycounts",
    }
)

# Columns of public tables that no cacheable page reads: an UPDATE that sets only these (a
# moderator claiming a story, the checks' findings, a sign-in's last_login) changes no public
# page. Anything else, or a statement this module cannot read, invalidates.
PRIVATE_COLUMNS: dict[str, frozenset[str]] = {
    "stories_story": frozenset(
        {
            "claimed_by_id",
            "claimed_until",
            "checked_at",
            "automod_flags",
            "suggested_criticality",
            "urgent",
            "safeguarding_level",
            "version",
            "updated_at",
        }
    ),
    "accounts_user": frozenset({"last_login", "password"}),
}

_UPDATE_SET = re.compile(r"\s*UPDATE\s+\"?\w+\"?\s+SET\s+(.*?)(?:\s+WHERE\s|$)", re.I | re.S)
_SET_COLUMN = re.compile(r"(?:^|,)\s*\"?(\w+)\"?\s*=")

_WRITE = re.compile(
    r"\s*(?:(?P<verb>INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO|"
    r"TRUNCATE(?:\s+TABLE)?|COPY|MERGE\s+INTO)\s+\"?(?P<table>\w+)\"?|(?P<with>WITH)\b)",
    re.IGNORECASE,
)
_SELECT_ONLY_WITH = re.compile(r"\b(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def public_write(sql: str) -> str | None:
    """The statement's first word (INSERT, UPDATE, DELETE, ..., WITH) if it may change what a
    public page shows, else None (cheap for a SELECT: an anchored match fails at once)."""
    match = _WRITE.match(sql)
    if match is None:
        return None
    table = match.group("table")
    if table is None:
        # A CTE: a write if it contains one (rare; be safe).
        return "WITH" if _SELECT_ONLY_WITH.search(sql) else None
    table = table.lower()
    if table in PRIVATE_TABLES:
        return None
    private = PRIVATE_COLUMNS.get(table)
    if private is not None and _sets_only(sql, private):
        return None
    return match.group("verb").split(None, 1)[0].upper()


class _Bump:
    """The on-commit callback; a class so that one transaction schedules it once."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __call__(self) -> None:
        bump(using=self.alias)


def _schedule(connection: BaseDatabaseWrapper) -> None:
    if connection.in_atomic_block:
        if connection.needs_rollback:
            return  # this transaction will not commit
        # Once per transaction and savepoint: a bump registered at this same nesting survives
        # or is dropped with this write; one registered in an outer block (or an inner one,
        # since released) may be dropped by a savepoint rollback this write is not part of,
        # so a write there adds its own (an extra bump costs nothing).
        here = set(connection.savepoint_ids)
        if any(isinstance(f, _Bump) and sids == here for sids, f, *_ in connection.run_on_commit):
            return
    transaction.on_commit(_Bump(connection.alias), using=connection.alias, robust=True)


# ``migrate`` may write before this app's table exists: paused from pre_migrate to
# post_migrate, which bumps once (apps.py).
_paused = False


def pause_during_migrate(sender: Any, **kwargs: Any) -> None:
    global _paused
    _paused = True


def bump_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    global _paused
    _paused = False
    bump(using=using)


def _watch(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    if not _paused:
        verb = public_write(sql)
        if verb is not None and _changed_rows(verb, context):
            _schedule(context["connection"])
    return result


def _sets_only(sql: str, columns: frozenset[str]) -> bool:
    """Whether ``sql`` is an UPDATE whose SET names only ``columns``."""
    match = _UPDATE_SET.match(sql)
    if match is None:
        return False
    names = _SET_COLUMN.findall(match.group(1))
    return bool(names) and all(name.lower() in columns for name in names)


def _changed_rows(verb: str, context: dict[str, Any]) -> bool:
    """False only when the database says an UPDATE or DELETE changed no row (a WHERE that
    matched nothing, as the worker's periodic jobs do every minute). Not trusted for INSERT:
    SQLite reports 0 for ``INSERT ... RETURNING`` until the rows are read."""
    if verb not in ("UPDATE", "DELETE"):
        return True
    rowcount = getattr(context.get("cursor"), "rowcount", -1)
    return not (isinstance(rowcount, int) and rowcount == 0)


def watch_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


def bump(*, using: str = "default") -> None:
    """Make every cached public page a miss. Never raises: a failure is logged, and pages
    then expire by age."""
    from carestory.pagecache.models import PageGeneration

    try:
        manager = PageGeneration.objects.using(using)
        if not manager.filter(pk=1).update(value=F("value") + 1, changed_at=timezone.now()):
            manager.get_or_create(pk=1, defaults={"value": 1})
    except DatabaseError as exc:
        logger.warning("page cache generation not bumped: %s", type(exc).__name__)


def current_generation(*, using: str = "default") -> int:
    """The committed generation (0 before the first write); raises DatabaseError."""
    from carestory.pagecache.models import PageGeneration

    table = connections[using].ops.quote_name(PageGeneration._meta.db_table)
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT value FROM {table} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0
