"""Log lines carry ids, never values: exception text, debug SQL and token URLs are scrubbed, and
every line of a request (including Django's 4xx/5xx warnings) carries its request id."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from carestory.accounts.models import User
from carestory.lib.logging import JsonFormatter, RequestIdFilter, ScrubFilter, scrub

logger = logging.getLogger("carestory.tests.logging")


def _address() -> str:
    return f"canary-{uuid.uuid4().hex}@example.org"


def _format(record: logging.LogRecord) -> dict[str, str]:
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, str] = json.loads(line)
    return parsed


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record reaching the root logger, formatted as the production console handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# Exception text --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_real_unique_violation_is_logged_without_the_address() -> None:
    """On PostgreSQL the error's DETAIL names the duplicated value; on SQLite the message does
    not, so the address also goes into the exception that wraps it, as application code does."""
    address = _address()
    User.objects.create_user(address)
    try:
        try:
            with transaction.atomic():
                User.objects.create(email=address)
        except IntegrityError as exc:
            raise RuntimeError(f"could not add {address}") from exc
    except RuntimeError:
        record = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 0, "adding %s failed", (address,), sys.exc_info()
        )
    entry = _format(record)
    text = json.dumps(entry)

    assert address not in text.lower()
    assert "canary-" not in text
    assert entry["message"] == "adding [email] failed"
    # What a developer needs stays: the exception classes, the file and line, the constraint.
    assert "IntegrityError" in entry["exception"]
    assert "RuntimeError: could not add [email]" in entry["exception"]
    assert f'File "{__file__}", line ' in entry["exception"]
    if connection.vendor == "postgresql":
        assert "UniqueViolation" in entry["exception"]
        assert "DETAIL:  Key (email)=([redacted]) already exists." in entry["exception"]
    else:
        assert "UNIQUE constraint failed: accounts_user.email" in entry["exception"]


@pytest.mark.django_db
def test_debug_sql_is_logged_without_its_values(json_lines: io.StringIO) -> None:
    address = _address()
    sql_logger = logging.getLogger("django.db.backends")
    level = sql_logger.level
    sql_logger.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        User.objects.create_user(address)
        assert User.objects.filter(email=address).exists()
    finally:
        connection.force_debug_cursor = False
        sql_logger.setLevel(level)

    lines = [e for e in _lines(json_lines) if e["logger"] == "django.db.backends"]
    assert any('INSERT INTO "accounts_user"' in e["message"] for e in lines), lines
    assert address not in json_lines.getvalue()
    assert "canary-" not in json_lines.getvalue()


def test_postgresql_error_text_loses_every_value() -> None:
    text = (
        'duplicate key value violates unique constraint "accounts_user_email_key"\n'
        "DETAIL:  Key (lower(email::text))=(Someone@Example.org) already exists.\n"
        'new row for relation "stories_story" violates check constraint "words"\n'
        "DETAIL:  Failing row contains (12, Private words, 1985, SW1A 1AA).\n"
        'invalid input syntax for type uuid: "private-input"\n'
        "LINE 1: ...FROM accounts_user WHERE email = 'private@example.org' AND year = 1985\n"
        "Field 'id' expected a number but got 'private-value'.\n"
        "“private-value” is not a valid UUID.\n"
        'near "private": syntax error'
    )
    scrubbed = scrub(text)
    for value in ("Someone", "Private words", "1985", "SW1A", "private"):
        assert value not in scrubbed
    assert "DETAIL:  Key (lower(email::text))=([redacted]) already exists." in scrubbed
    assert 'violates unique constraint "accounts_user_email_key"' in scrubbed
    assert 'violates check constraint "words"' in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "mail to someone@example.org.",
        "MAILTO:Someone.Else+tag@Mail.Example.co.uk",
        "/sign-in/?email=someone%40example.org&next=/",
        "{'email': 'someone@example.org'}",
        "<someone@example.org>",
    ],
)
def test_every_address_is_removed(text: str) -> None:
    scrubbed = scrub(text)
    assert "someone" not in scrubbed.lower()
    assert "[email]" in scrubbed


def test_what_is_not_an_address_stays() -> None:
    text = (
        'File "/srv/app/carestory/x.py", line 3\n    @pytest.fixture\n  RXX01-W1 3fa2b1c9d0e1f2a3'
    )
    assert scrub(text) == text


def test_exception_text_cached_by_another_formatter_is_scrubbed() -> None:
    address = _address()
    try:
        raise ValueError(f"bad address {address}")
    except ValueError:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "x", (), sys.exc_info())
    logging.Formatter().format(record)  # another handler ran first and cached record.exc_text
    assert record.exc_text and address in record.exc_text
    assert address not in _format(record)["exception"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("char", ["a", "@", "/", "'", "1", "“", "a@", "/verify/", "DETAIL: "])
def test_scrubbing_is_linear_on_long_runs(char: str) -> None:
    """A quadratic pattern would take minutes on these; linear ones take milliseconds."""
    for text in (char * 200_000, "x@" + char * 200_000, "expected " + char * 200_000):
        scrub(text)


# Request ids -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("get", "/verify/NotARealTokenButSecretLooking0123456789ab/", None, 404),
        ("post", "/sign-in/", {"email": "not an address"}, 400),
    ],
)
def test_django_request_warnings_carry_the_request_id(
    client: Client,
    json_lines: io.StringIO,
    method: str,
    path: str,
    data: dict[str, str] | None,
    status: int,
) -> None:
    response = getattr(client, method)(path, data or {})
    assert response.status_code == status

    warnings = [e for e in _lines(json_lines) if e["logger"] == "django.request"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["request_id"] == response["X-Request-Id"]
    assert "SecretLooking" not in json_lines.getvalue()


# Token URLs ------------------------------------------------------------------------------------


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def test_every_url_with_a_token_is_redacted() -> None:
    """A new URL carrying a secret must be added to TOKEN_URL_PREFIXES (lib/logging.py)."""
    token_routes = [route for route in _routes(get_resolver().url_patterns) if "token>" in route]
    assert len(token_routes) >= 3, token_routes  # sign in, confirm a story, answer a question
    for route in token_routes:
        path = "/" + route.replace("<str:token>", "SeCrEt-Token_42").replace("<slug:token>", "x")
        for line in (
            f'"GET {path} HTTP/1.1" 200 512',
            f"Not Found: {path}",
            f"https://carestory.example.org{path}?x=1",
        ):
            scrubbed = scrub(line)
            assert "SeCrEt" not in scrubbed, route
            assert "[redacted]" in scrubbed


@pytest.mark.django_db(transaction=True)
def test_the_development_server_log_has_no_token(json_lines: io.StringIO) -> None:
    """The real runserver request handler, with the LOGGING from settings."""
    handler = logging.getLogger("django.server").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    assert any(isinstance(f, ScrubFilter) for f in handler.filters)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token = "RunserverToken" + uuid.uuid4().hex
    try:
        url = f"http://127.0.0.1:{server.server_port}/verify/{token}/?email=a%40example.org"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(url, timeout=10)
        assert error.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        handler.setStream(previous)

    access = stream.getvalue()
    assert '"GET /verify/[redacted]/?email=[email] HTTP/1.1" 404' in access
    assert token not in access + json_lines.getvalue()
    assert "a%40example.org" not in access
