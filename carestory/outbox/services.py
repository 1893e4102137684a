"""The durable outbox: enqueue email and jobs in the caller's transaction; claim and send them.

Delivery is at least once. A row is claimed by one worker at a time (a conditional UPDATE, plus
``FOR UPDATE SKIP LOCKED`` on PostgreSQL), retried with backoff, and recovered when the
worker holding its lease dies. Emails carry a Message-ID derived from the dedupe key so a
repeat delivery can be recognised downstream; job handlers must be idempotent.

Privacy: log lines carry the row id, kind, dedupe key and outcome only, never an address,
subject or body. Dedupe keys are therefore built from ids and may not contain ``@``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
import smtplib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Q, QuerySet
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise

from carestory.audit.services import audit_record
from carestory.lib.tokens import SECRET_LINK_KEY, SECRET_LINK_VIEWS, token_from_seed
from carestory.lib.urls import absolute_url
from carestory.outbox.models import OutboxMessage
from carestory.outbox.registry import get_guard, get_job, get_refresh

if TYPE_CHECKING:
    from carestory.accounts.models import User

logger = logging.getLogger(__name__)

SUBJECT_MAX_LENGTH = 200
# A guard's answer is reused for the emails of one batch asking the same (guard, args), for at
# most this long: a fan-out asks "is the story still published?" once, not once per email.
GUARD_ANSWER_SECONDS = 1.0
ENQUEUE_MANY_BATCH = 500
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 60 * 60
LAST_ERROR_MAX_LENGTH = 300

_Status = OutboxMessage.Status
_Kind = OutboxMessage.Kind
_random = secrets.SystemRandom()
_DATETIME_KEY = "$datetime"
_SIGNED_LINK_KEY = "$signed_link"
# Headers the outbox sets itself, or that only the mail library may write.
_RESERVED_HEADERS = frozenset(
    {"message-id", "auto-submitted", "from", "to", "cc", "bcc", "subject", "date", "reply-to"}
)
_HEADER_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,60}$")
_ADDRESS_RE = re.compile(r"[^\s@<>()\[\]'\",;:]+@[^\s@<>()\[\]'\",;:]+")


class OutboxBacklog(TypedDict):
    pending: int
    due: int
    sending: int
    failed: int
    oldest_pending_age_seconds: float
    oldest_due_lag_seconds: float


class _LeaseLostError(Exception):
    """Another worker took over the row while this one was working on it."""


# Enqueueing ---------------------------------------------------------------------------------


def _check_dedupe_key(dedupe_key: str) -> None:
    field = OutboxMessage._meta.get_field("dedupe_key")
    if not dedupe_key or len(dedupe_key) > (field.max_length or 0):
        raise ValueError("An outbox dedupe key must be 1 to 200 characters long")
    if "@" in dedupe_key:
        # The key is logged; build it from ids, never from an address.
        raise ValueError("An outbox dedupe key must not contain an email address")


def _insert(message: OutboxMessage) -> OutboxMessage | None:
    """Insert inside a savepoint; a duplicate dedupe key returns None and leaves the caller's
    transaction usable."""
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        if OutboxMessage.objects.filter(dedupe_key=message.dedupe_key).exists():
            logger.info("outbox duplicate ignored kind=%s key=%s", message.kind, message.dedupe_key)
            return None
        raise
    logger.info(
        "outbox enqueued id=%s kind=%s key=%s", message.pk, message.kind, message.dedupe_key
    )
    return message


def render_email(*, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render ``emails/<template>_subject.txt``, ``_body.txt`` and ``_body.html``.

    The subject is collapsed onto one line (no CR/LF can reach a header) and truncated.
    """
    full_context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    rendered_subject = render_to_string(f"emails/{template}_subject.txt", full_context)
    subject = " ".join(rendered_subject.split())[:SUBJECT_MAX_LENGTH]
    body_text = render_to_string(f"emails/{template}_body.txt", full_context)
    body_html = render_to_string(f"emails/{template}_body.html", full_context)
    return subject, body_text, body_html


def _raw_token_link() -> re.Pattern[str]:
    """A path of any view whose URL carries a secret token (a ``<token>`` path parameter),
    followed by a token: such a link may reach the outbox only as ``lib.tokens.secret_link``."""
    marker = "tokenmarker"
    prefixes = []
    for view_name in SECRET_LINK_VIEWS:
        path = reverse(view_name, args=[marker])
        prefixes.append(re.escape(path[: path.index(marker)]))
    return re.compile("(?:" + "|".join(prefixes) + r")[^/\s?#]")


def _jsonable(value: Any, raw_token_link: re.Pattern[str]) -> Any:
    """The context as JSON values: lazy translations become text; anything else that JSON
    cannot hold is a programming error, raised at enqueue time (not in the worker). A string
    holding a secret link is refused: it would put a working token in the database."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str):
        if raw_token_link.search(value):
            raise ValueError("A link with a secret token must be queued as secret_link()")
        return value
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            raise TypeError("Email context datetimes must be aware")
        return {_DATETIME_KEY: value.isoformat()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v, raw_token_link) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, raw_token_link) for v in value]
    if value is None or isinstance(value, int | float | bool):
        return value
    raise TypeError(f"Email context values must be JSON values, not {type(value).__name__}")


def signed_link(view_name: str, *, salt: str, value: str) -> dict[str, list[str]]:
    """A link to ``view_name`` whose one argument is ``value`` signed with the SECRET_KEY under
    ``salt`` (``django.core.signing``), as an email's context or header may hold it: stored as
    its parts (no working link in the database) and signed when the email is sent. The view
    reads it back with ``signed_link_value``. For links that act on one thing without a sign-in
    and may be used more than once (an alert's unsubscribe); a single-use link is a
    ``lib.tokens.secret_link``."""
    return {_SIGNED_LINK_KEY: [view_name, salt, value]}


def signed_link_value(signed: str, *, salt: str) -> str | None:
    """The value a ``signed_link`` carried, or None when the signature is not ours."""
    try:
        return signing.Signer(salt=salt).unsign(signed)
    except signing.BadSignature:
        return None


def _expand_secret_links(value: Any) -> Any:
    """The stored context as the templates want it: secret links made, datetimes restored."""
    if isinstance(value, dict):
        if set(value) == {_SIGNED_LINK_KEY}:
            view_name, salt, signed_value = value[_SIGNED_LINK_KEY]
            return absolute_url(view_name, signing.Signer(salt=salt).sign(signed_value))
        if set(value) == {SECRET_LINK_KEY}:
            if not isinstance(value[SECRET_LINK_KEY], list):
                return "[link already sent]"  # the seed was forgotten when it was sent
            view_name, seed = value[SECRET_LINK_KEY]
            return absolute_url(view_name, token_from_seed(seed))
        if set(value) == {_DATETIME_KEY}:
            return datetime.fromisoformat(value[_DATETIME_KEY])
        return {k: _expand_secret_links(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_secret_links(v) for v in value]
    return value


def _without_secret_links(value: Any) -> Any:
    """The context with every secret link's seed forgotten (after sending)."""
    if isinstance(value, dict):
        if SECRET_LINK_KEY in value:
            return {SECRET_LINK_KEY: "sent"}
        return {k: _without_secret_links(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secret_links(v) for v in value]
    return value


def _checked_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """An email's extra headers as stored: a value is a string, or a list of parts (strings and
    ``signed_link``s) joined when it is sent. No CR or LF can reach a header."""
    checked: dict[str, Any] = {}
    for name, value in headers.items():
        if not _HEADER_NAME_RE.match(name) or name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{name!r} cannot be an outbox email's extra header")
        parts = value if isinstance(value, list) else [value]
        for part in parts:
            if isinstance(part, str) and ("\r" in part or "\n" in part):
                raise ValueError("A header value must be on one line")
            if not isinstance(part, str) and not (
                isinstance(part, dict) and set(part) == {_SIGNED_LINK_KEY}
            ):
                raise TypeError("A header value is made of strings and signed links")
        checked[name] = value
    return checked


def outbox_headers(message: OutboxMessage) -> dict[str, str]:
    """The email's extra headers as sent: signed links signed, parts joined."""
    headers: dict[str, str] = {}
    for name, value in message.headers.items():
        parts = value if isinstance(value, list) else [value]
        headers[name] = "".join(str(_expand_secret_links(part)) for part in parts)
    return headers


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str


def outbox_render(message: OutboxMessage) -> RenderedEmail:
    """The email as it is sent: rendered now, in the language it was queued in, with its secret
    links made from their seeds. Rows queued before rendering moved here carry their body."""
    if not message.template:
        return RenderedEmail(message.subject, message.body_text, message.body_html)
    with translation.override(message.language or settings.LANGUAGE_CODE):
        subject, body_text, body_html = render_email(
            template=message.template, context=_expand_secret_links(message.context)
        )
    return RenderedEmail(subject, body_text, body_html)


def email_enqueue(
    *,
    dedupe_key: str,
    to: str,
    template: str,
    context: dict[str, Any],
    guard: str = "",
    guard_args: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    refresh: str = "",
) -> OutboxMessage | None:
    """Queue an email; call inside the transaction that causes it.

    The email is rendered by the worker when it sends it (``outbox_render``); its templates
    must exist now and its context must be JSON values (links with a secret token as
    ``lib.tokens.secret_link``, signed links as ``signed_link``). ``headers`` are extra
    headers (see ``_checked_headers``); ``refresh`` names a registered function that makes
    the context again at send time (``registry.register_refresh``). Returns the new row, or
    None when a row with this dedupe key already exists.
    """
    _check_dedupe_key(dedupe_key)
    validate_email(to)
    _check_email_kind(template, guard, refresh)
    return _insert(
        OutboxMessage(
            kind=_Kind.EMAIL,
            dedupe_key=dedupe_key,
            to_email=to,
            template=template,
            context=_jsonable(context, _raw_token_link()),
            language=translation.get_language() or settings.LANGUAGE_CODE,
            guard=guard,
            guard_args=guard_args or {},
            headers=_checked_headers(headers or {}),
            refresh=refresh,
        )
    )


def _check_email_kind(template: str, guard: str, refresh: str) -> None:
    """An email's template exists in its three parts, and its guard and refresh (if named) are
    registered: a mistake fails when queued, in the caller's transaction, not in the worker."""
    if guard:
        get_guard(guard)
    if refresh:
        get_refresh(refresh)
    for suffix in ("subject.txt", "body.txt", "body.html"):
        get_template(f"emails/{template}_{suffix}")


@dataclass(frozen=True)
class QueuedEmail:
    """One email of ``email_enqueue_many``: its own key, address, context and extra headers."""

    dedupe_key: str
    to: str
    context: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)


def email_enqueue_many(
    *,
    template: str,
    emails: Sequence[QueuedEmail],
    guard: str = "",
    guard_args: dict[str, Any] | None = None,
    refresh: str = "",
) -> int:
    """Queue many emails of one template (a fan-out); call inside the transaction that causes
    them. Each row is what ``email_enqueue`` would write, with the same checks (the template,
    guard and refresh once; each row's key, address, context and headers), inserted in
    multi-row INSERTs that skip a dedupe key already queued (``ON CONFLICT DO NOTHING``, so
    the caller's transaction stays usable). A key twice in ``emails`` is queued once.

    Returns the number of new rows (a row another transaction commits meanwhile under the same
    key is skipped by the INSERT but still counted).
    """
    _check_email_kind(template, guard, refresh)
    raw_token_link = _raw_token_link()
    language = translation.get_language() or settings.LANGUAGE_CODE
    rows: dict[str, OutboxMessage] = {}
    for email in emails:
        _check_dedupe_key(email.dedupe_key)
        validate_email(email.to)
        if email.dedupe_key in rows:
            continue
        rows[email.dedupe_key] = OutboxMessage(
            kind=_Kind.EMAIL,
            dedupe_key=email.dedupe_key,
            to_email=email.to,
            template=template,
            context=_jsonable(email.context, raw_token_link),
            language=language,
            guard=guard,
            guard_args=guard_args or {},
            headers=_checked_headers(email.headers),
            refresh=refresh,
        )
    keys = list(rows)
    for start in range(0, len(keys), ENQUEUE_MANY_BATCH):
        chunk = keys[start : start + ENQUEUE_MANY_BATCH]
        for existing in OutboxMessage.objects.filter(dedupe_key__in=chunk).values_list(
            "dedupe_key", flat=True
        ):
            del rows[existing]
    with transaction.atomic():
        OutboxMessage.objects.bulk_create(
            list(rows.values()), batch_size=ENQUEUE_MANY_BATCH, ignore_conflicts=True
        )
    logger.info(
        "outbox enqueued-many kind=email template=%s count=%s duplicates=%s first_key=%s",
        template,
        len(rows),
        len(keys) - len(rows),
        keys[0] if keys else "",
    )
    return len(rows)


def job_enqueue(
    *,
    name: str,
    payload: dict[str, Any],
    dedupe_key: str,
    guard: str = "",
    guard_args: dict[str, Any] | None = None,
    run_at: datetime | None = None,
) -> OutboxMessage | None:
    """Queue job ``name`` with a JSON payload; call inside the transaction that causes it.

    ``run_at`` (aware) delays the job: no worker claims it before then. The handler may still
    run later than ``run_at`` (a busy or stopped worker), so it must check the time itself.

    Returns the new row, or None when a row with this dedupe key already exists.
    """
    _check_dedupe_key(dedupe_key)
    get_job(name)
    if guard:
        get_guard(guard)
    if run_at is not None and timezone.is_naive(run_at):
        raise ValueError("run_at must be an aware datetime")
    return _insert(
        OutboxMessage(
            kind=_Kind.JOB,
            dedupe_key=dedupe_key,
            job_name=name,
            payload=payload,
            guard=guard,
            guard_args=guard_args or {},
            next_attempt_at=run_at or timezone.now(),
        )
    )


# Claiming -----------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    """Due rows, and rows whose worker's lease has run out."""
    return Q(status=_Status.PENDING, next_attempt_at__lte=now) | Q(
        status=_Status.SENDING, lease_expires_at__lt=now
    )


def _candidate_ids(*, claimable: Q, limit: int) -> list[int]:
    """Ids worth trying to claim; on PostgreSQL rows another worker is claiming are skipped."""
    candidates = OutboxMessage.objects.filter(claimable).order_by("next_attempt_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    return list(candidates.values_list("id", flat=True)[:limit])


def outbox_claim(*, worker_id: str, limit: int, now: datetime | None = None) -> list[OutboxMessage]:
    """Lease up to ``limit`` due rows to ``worker_id``; no two workers ever get the same row.

    The candidates are taken with one conditional UPDATE that re-checks each is still
    claimable, so a row another worker claimed in between is simply not taken; the rows
    returned are those that carry this claim (this worker, this lease).
    """
    if not worker_id:
        raise ValueError("worker_id is required")
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    claimable = _claimable(now)
    with transaction.atomic():
        candidates = _candidate_ids(claimable=claimable, limit=limit)
        if not candidates:
            return []
        OutboxMessage.objects.filter(claimable, id__in=candidates).update(
            status=_Status.SENDING,
            locked_by=worker_id,
            lease_expires_at=lease_until,
            attempts=F("attempts") + 1,
        )
    return list(
        OutboxMessage.objects.filter(
            id__in=candidates,
            status=_Status.SENDING,
            locked_by=worker_id,
            lease_expires_at=lease_until,
        )
    )


def _release(messages: list[OutboxMessage]) -> None:
    """Give back claimed rows that were not worked on (the worker is stopping)."""
    for message in messages:
        OutboxMessage.objects.filter(
            id=message.pk, locked_by=message.locked_by, status=_Status.SENDING
        ).update(
            status=_Status.PENDING,
            locked_by="",
            lease_expires_at=None,
            attempts=F("attempts") - 1,
        )


# Processing ---------------------------------------------------------------------------------


def message_id_for(dedupe_key: str) -> str:
    """A stable Message-ID, so a repeat delivery of the same email is recognisable."""
    # 160 bits of the digest keep the header on one line (a folded Message-ID is legal, but
    # some parsers keep the fold's whitespace).
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]
    return f"<{digest}@carestory>"


def backoff_seconds(attempts: int) -> float:
    """30 s, 60 s, 120 s... capped at one hour, with jitter over the upper half."""
    doublings = min(max(attempts - 1, 0), 16)
    delay = float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS << doublings))
    return delay / 2 + _random.uniform(0, delay / 2)


def _held(message: OutboxMessage) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        id=message.pk, locked_by=message.locked_by, status=_Status.SENDING
    )


def _log(message: OutboxMessage, outcome: str, error: str = "") -> None:
    level = logging.WARNING if outcome in {"retry", "failed", "lease-lost"} else logging.INFO
    logger.log(
        level,
        "outbox %s id=%s kind=%s key=%s attempts=%s%s",
        outcome,
        message.pk,
        message.kind,
        message.dedupe_key,
        message.attempts,
        f" error={error}" if error else "",
    )


def _describe_error(exc: BaseException, subject: str = "") -> str:
    """Class name and a short message, with addresses and the subject scrubbed."""
    text = str(exc)
    if subject:
        text = text.replace(subject, "<subject>")
    text = _ADDRESS_RE.sub("<address>", text)
    text = " ".join(text.split())
    name = type(exc).__name__
    return f"{name}: {text}"[:LAST_ERROR_MAX_LENGTH] if text else name


class _SendError(Exception):
    """Sending failed; ``subject`` is what to scrub from the error text."""

    def __init__(self, cause: BaseException, subject: str) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.subject = subject


def _is_permanent(exc: BaseException) -> bool:
    """A 5xx answer about this message: every recipient refused, or the message (DATA) or its
    sender (MAIL FROM) refused. Retrying will not help; "Retry now" in the admin can, after a
    fix. A refused sign-in to the server (535) is our configuration, not the message, so it
    is retried like a temporary failure while someone fixes it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        return all(code >= 500 for code, _reply in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPDataError | smtplib.SMTPSenderRefused):
        return 500 <= exc.smtp_code < 600
    return False


def _send_email(message: OutboxMessage, mail_connection: BaseEmailBackend | None) -> None:
    rendered = outbox_render(message)
    try:
        if mail_connection is not None:
            # Opened here, not by send(): a backend that opens the connection itself closes it
            # after the message, so a batch would connect, greet and quit once per email.
            mail_connection.open()
        email = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_email],
            headers={
                **outbox_headers(message),
                "Message-ID": message_id_for(message.dedupe_key),
                "Auto-Submitted": "auto-generated",
            },
            connection=mail_connection or get_connection(fail_silently=False),
        )
        if rendered.body_html:
            email.attach_alternative(rendered.body_html, "text/html")
        email.send(fail_silently=False)
    except Exception as exc:
        if mail_connection is not None:
            # A shared connection may be broken now: the next message opens a new one.
            with contextlib.suppress(Exception):
                mail_connection.close()
        raise _SendError(exc, rendered.subject) from exc


def _mark(message: OutboxMessage, outcome: str, **fields: Any) -> bool:
    if _held(message).update(lease_expires_at=None, **fields) == 1:
        _log(message, outcome, fields.get("last_error", "").split(":", 1)[0])
        return True
    _log(message, "lease-lost")
    return False


def _mark_failure(message: OutboxMessage, exc: BaseException, now: datetime) -> None:
    if isinstance(exc, _SendError):
        error, exc = _describe_error(exc.cause, exc.subject), exc.cause
    else:
        error = _describe_error(exc, message.subject)
    if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS or _is_permanent(exc):
        _mark(message, "failed", status=_Status.FAILED, last_error=error)
    else:
        _mark(
            message,
            "retry",
            status=_Status.PENDING,
            locked_by="",
            next_attempt_at=now + timedelta(seconds=backoff_seconds(message.attempts)),
            last_error=error,
        )


GuardAnswers = dict[tuple[str, str], tuple[bool, float]]


def _guard_holds(message: OutboxMessage, answers: GuardAnswers | None) -> bool:
    """Whether the row's guard still holds. An email reuses the answer an earlier email of the
    same batch got for the same (guard, args), if it is under GUARD_ANSWER_SECONDS old; a
    job always asks (it runs code that may act on the answer)."""
    guard = get_guard(message.guard)
    if answers is None or message.kind != _Kind.EMAIL:
        return guard(message.guard_args)
    key = (message.guard, json.dumps(message.guard_args, sort_keys=True))
    known = answers.get(key)
    if known is not None and time.monotonic() - known[1] < GUARD_ANSWER_SECONDS:
        return known[0]
    asked_at = time.monotonic()
    holds = guard(message.guard_args)
    answers[key] = (holds, asked_at)
    return holds


def outbox_process(
    *,
    message: OutboxMessage,
    connection: BaseEmailBackend | None = None,
    now: datetime | None = None,
    guard_answers: GuardAnswers | None = None,
) -> None:
    """Send or run one claimed row and record the outcome, unless its lease was taken over.

    ``connection`` is a Django mail backend (``get_connection()`` when None).
    ``guard_answers`` is one batch's memory of its guards' answers (``_guard_holds``).
    """
    now = now or timezone.now()
    if not _held(message).exists():
        _log(message, "lease-lost")
        return
    if message.attempts > settings.OUTBOX_MAX_ATTEMPTS:
        # Only lease recoveries get here: the workers holding it kept dying.
        _mark(message, "failed", status=_Status.FAILED, last_error="LeaseExpired: worker died")
        return
    try:
        if message.guard and not _guard_holds(message, guard_answers):
            _mark(message, "cancelled", status=_Status.CANCELLED)
            return
        if message.refresh:
            refreshed = get_refresh(message.refresh)(message.context)
            if refreshed is None:
                _mark(message, "cancelled", status=_Status.CANCELLED)
                return
            message.context = _jsonable(refreshed, _raw_token_link())
        if message.kind == _Kind.EMAIL:
            _send_email(message, connection)
        elif message.kind == _Kind.JOB:
            _run_job(message)
            _log(message, "sent")
            return
        else:
            raise ValueError(f"Unknown outbox kind {message.kind!r}")
    except _LeaseLostError:
        _log(message, "lease-lost")
        return
    except Exception as exc:
        _mark_failure(message, exc, now)
        return
    # Outside the try: a database error here must not turn a sent email into a retry. The
    # secret links' seeds are forgotten with it: nothing can make those links again.
    _mark(
        message,
        "sent",
        status=_Status.SENT,
        sent_at=timezone.now(),
        context=_without_secret_links(message.context),
        body_text="",
        body_html="",
    )


def _run_job(message: OutboxMessage) -> None:
    """Run the handler; its writes (and any rows it enqueues) commit with the SENT mark, or
    not at all when another worker has taken the row over meanwhile."""
    handler = get_job(message.job_name)
    with transaction.atomic():
        handler(message.payload)
        marked = _held(message).update(
            status=_Status.SENT, sent_at=timezone.now(), lease_expires_at=None
        )
        if marked != 1:
            raise _LeaseLostError


def outbox_run_once(
    *,
    worker_id: str,
    limit: int | None = None,
    now: datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Claim one batch and process it; returns how many rows were processed.

    ``should_stop`` (a callable) is checked between rows; unprocessed rows are given back.
    """
    batch = outbox_claim(worker_id=worker_id, limit=limit or settings.OUTBOX_BATCH_SIZE, now=now)
    # One SMTP connection for the batch's emails (a fan-out of thousands would otherwise
    # connect, greet and quit once per email); opened by the first send, closed at the end.
    mail_connection = (
        get_connection(fail_silently=False) if any(m.kind == _Kind.EMAIL for m in batch) else None
    )
    try:
        processed = _process_batch(batch, mail_connection, now=now, should_stop=should_stop)
    finally:
        if mail_connection is not None:
            with contextlib.suppress(Exception):
                mail_connection.close()
    return processed


def _process_batch(
    batch: list[OutboxMessage],
    mail_connection: BaseEmailBackend | None,
    *,
    now: datetime | None,
    should_stop: Callable[[], bool] | None,
) -> int:
    processed = 0
    guard_answers: GuardAnswers = {}  # this batch's only: the next batch asks again
    for index, message in enumerate(batch):
        if should_stop is not None and should_stop():
            _release(batch[index:])
            break
        if message.kind == _Kind.JOB:
            guard_answers.clear()  # a job may change what a guard reads
        try:
            outbox_process(
                message=message, connection=mail_connection, now=now, guard_answers=guard_answers
            )
        except Exception as exc:
            # A database error while recording the outcome: the lease will bring it back.
            logger.error(
                "outbox process-error id=%s kind=%s key=%s error=%s",
                message.pk,
                message.kind,
                message.dedupe_key,
                type(exc).__name__,
            )
        processed += 1
    return processed


def outbox_drain(*, worker_id: str = "test", max_rounds: int = 20) -> int:
    """Process until nothing is due (tests, the demo seeder); returns the total processed."""
    total = 0
    for _round in range(max_rounds):
        processed = outbox_run_once(worker_id=worker_id)
        if processed == 0:
            break
        total += processed
    return total


@transaction.atomic
def outbox_requeue(*, ids: list[int], actor: User | None) -> int:
    """Put FAILED or CANCELLED rows back in the queue, due now, with a fresh retry budget.

    Each row put back is recorded in the audit log against ``actor``. Purged rows have nothing
    left to send and stay where they are.
    """
    requeued = list(
        OutboxMessage.objects.filter(
            id__in=ids, status__in=[_Status.FAILED, _Status.CANCELLED], purged_at__isnull=True
        ).values_list("id", "status")
    )
    for pk, status in requeued:
        updated = OutboxMessage.objects.filter(id=pk, status=status).update(
            status=_Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            locked_by="",
            lease_expires_at=None,
        )
        if updated:
            audit_record(
                actor=actor,
                action="outbox.requeue",
                obj=OutboxMessage(pk=pk),
                object_type="outboxmessage",
                changes={"status": [status, _Status.PENDING]},
            )
    return len(requeued)


def outbox_backlog(*, now: datetime | None = None) -> OutboxBacklog:
    """Queue health: pending/due/sending/failed counts, oldest pending age, oldest due lag."""
    now = now or timezone.now()
    pending = OutboxMessage.objects.filter(status=_Status.PENDING)
    due = pending.filter(next_attempt_at__lte=now)
    oldest_created = pending.aggregate(value=Min("created_at"))["value"]
    oldest_due = due.aggregate(value=Min("next_attempt_at"))["value"]
    return OutboxBacklog(
        pending=pending.count(),
        due=due.count(),
        sending=OutboxMessage.objects.filter(status=_Status.SENDING).count(),
        failed=OutboxMessage.objects.filter(status=_Status.FAILED).count(),
        oldest_pending_age_seconds=(
            max((now - oldest_created).total_seconds(), 0.0) if oldest_created else 0.0
        ),
        oldest_due_lag_seconds=(
            max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0
        ),
    )


def outbox_purge(*, now: datetime | None = None, batch: int = 500) -> int:
    """Forget the address and the content of finished rows older than OUTBOX_RETENTION_DAYS.

    The row stays (status, dedupe key, dates, attempts), so an enqueue of the same event is
    still recognised as a duplicate. Returns the number of rows purged; idempotent.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    finished = [_Status.SENT, _Status.FAILED, _Status.CANCELLED]
    total = 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(
                status__in=finished, created_at__lt=cutoff, purged_at__isnull=True
            ).values_list("id", flat=True)[:batch]
        )
        if not ids:
            return total
        total += OutboxMessage.objects.filter(id__in=ids, status__in=finished).update(
            to_email="",
            context={},
            headers={},
            subject="",
            body_text="",
            body_html="",
            purged_at=now,
        )
